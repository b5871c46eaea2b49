package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Each upstream timeout ends in a clear error; quiet streams get pings so nothing in between cuts them. */
class TimeoutAndKeepaliveTest {
  private static final String STREAM = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":2000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";
  private static final String PING = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of(
        "UPSTREAM_FIRST_BYTE_TIMEOUT_MS", 400,
        "UPSTREAM_IDLE_TIMEOUT_MS", 400,
        "UPSTREAM_TOTAL_TIMEOUT_MS", 1500,
        "UPSTREAM_MAX_ATTEMPTS", 2,
        "PROXY_KEEPALIVE_MS", 60,
        "SIM_SLOW_FIRST_TOKEN_MS", 300,
        "SIM_RETRY_AFTER_S", 0.7));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void anUpstreamThatNeverAnswersTimesOutWith504() {
    long requestsBefore = stack.simulator.stats().requests();
    long started = System.nanoTime();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "no answer").replace(
        "\"stream\":true,", ""), stack.jsonHeaders(Map.of("x-sim-scenario", "stall")));
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertEquals(504, r.statusCode(), r.body());
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertEquals("timeout_error", error.getString("type"));
    assertTrue(error.getString("message").contains("did not answer within 400 ms"), error.getString("message"));
    assertEquals(2, stack.simulator.stats().requests() - requestsBefore, "a timed-out first byte is retried");
    assertTrue(millis >= 800, millis + " ms");
  }

  @Test
  void aSilentUpstreamEndsTheStreamWithATimeoutErrorEvent() throws Exception {
    long cancelledBefore = stack.simulator.stats().streamsCancelled();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "go quiet"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "stall", "x-sim-tokens-per-second", "0")));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("content_block_delta"));
    String last = Wire.lastEvent(r.body());
    assertTrue(last.startsWith("event: error\n") && last.contains("timeout_error"), last);
    assertTrue(last.contains("sent nothing for 400 ms"), last);
    Wire.waitFor(() -> stack.simulator.stats().streamsCancelled() == cancelledBefore + 1,
        "the stalled upstream to be let go");
  }

  @Test
  void aStreamOverItsTotalTimeEndsWithATimeoutErrorEvent() {
    long started = System.nanoTime();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "too long"),
        stack.jsonHeaders(Map.of("x-sim-tokens-per-second", "10", "x-sim-output-tokens", "1000")));
    long millis = (System.nanoTime() - started) / 1_000_000;
    String last = Wire.lastEvent(r.body());
    assertTrue(last.startsWith("event: error\n") && last.contains("timeout_error"), last);
    assertTrue(last.contains("1500 ms in all"), last);
    assertTrue(millis >= 1500 && millis < 10_000, millis + " ms");
  }

  @Test
  void pingsAQuietStreamBeforeItsFirstToken() {
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "think first"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "slow_first_token")));
    assertEquals(200, r.statusCode());
    String beforeFirstBlock = r.body().substring(0, r.body().indexOf("event: content_block_start"));
    assertTrue(beforeFirstBlock.startsWith("event: message_start\n"));
    assertTrue(Wire.count(beforeFirstBlock, PING) >= 2, beforeFirstBlock);
    assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
  }

  @Test
  void pingsBeforeTheFirstUpstreamByteAndStillDeliversTheWholeStream() {
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "wait for the retry"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "fail_then_succeed:1")));
    assertEquals(200, r.statusCode());
    assertEquals("text/event-stream; charset=utf-8", r.headers().firstValue("content-type").orElse(""));
    assertTrue(r.body().startsWith(PING), r.body());
    String afterPings = r.body().replace(PING, "");
    assertTrue(afterPings.startsWith("event: message_start\n"), afterPings);
    assertTrue(afterPings.endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
  }

  @Test
  void anUpstreamErrorAfterEarlyPingsBecomesAnErrorEvent() {
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "refused twice"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "overloaded")));
    assertEquals(200, r.statusCode(), "the head went out with the first ping");
    assertTrue(r.body().startsWith(PING));
    String last = Wire.lastEvent(r.body());
    assertEquals("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",", last.substring(0,
        last.indexOf("\"message\"")));
  }

  @Test
  void pingsChatStreamsWithAComment() {
    HttpResponse<String> r = stack.post("/v1/chat", "{\"messages\":[{\"role\":\"user\",\"content\":\"slow\"}]}",
        stack.jsonHeaders(Map.of("x-sim-scenario", "slow_first_token")));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("\n\n: ping\n\n"), r.body());
    assertTrue(r.body().contains("event: done"));
  }
}
