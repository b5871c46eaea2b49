package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** TTFT and slow_first_token timing, determinism over HTTP, and the mid-stream faults on non-streaming calls. */
class TimingAndWholeMessageTest {
  private static Vertx vertx;
  private static Simulator sim;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withOutputTokens(12).withSlowFirstTokenMs(400));
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  private static String stream(String prompt, String... headers) {
    return SimTestSupport.post(sim, "/v1/messages", SimTestSupport.request("claude-sonnet-4-5", 500, prompt)
        .put("stream", true).encode(), headers).body();
  }

  @Test
  void sameRequestSameBytesOfTextDifferentMessagesDifferentText() {
    String a = SseTranscript.check(stream("determinism"), true).text();
    String b = SseTranscript.check(stream("determinism"), true).text();
    String c = SseTranscript.check(stream("determinism, but different"), true).text();
    assertEquals(a, b);
    assertNotEquals(a, c);
  }

  @Test
  void slowFirstTokenDelaysTheFirstContentButNotTheHead() throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/messages"))
        .header("anthropic-version", "2023-06-01").header("x-sim-scenario", "slow_first_token")
        .POST(HttpRequest.BodyPublishers.ofString(SimTestSupport.request("claude-sonnet-4-5", 500, "slow")
            .put("stream", true).encode()))
        .build();
    long t0 = System.nanoTime();
    HttpResponse<java.io.InputStream> r = SimTestSupport.HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
    long headMs = (System.nanoTime() - t0) / 1_000_000;
    String body = new String(r.body().readAllBytes());
    long totalMs = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(200, r.statusCode());
    assertTrue(headMs < 300, "head and message_start come at once: " + headMs + " ms");
    assertTrue(totalMs >= 390, "the first token waits SIM_SLOW_FIRST_TOKEN_MS: " + totalMs + " ms");
    SseTranscript.check(body, true);
  }

  @Test
  void ttftHeaderAppliesToWholeMessagesToo() {
    long t0 = System.nanoTime();
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages",
        SimTestSupport.request("claude-sonnet-4-5", 500, "wait").encode(), "x-sim-ttft-ms", "250");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(200, r.statusCode());
    assertTrue(ms >= 240, ms + " ms");
    assertEquals(12, new JsonObject(r.body()).getJsonObject("usage").getInteger("output_tokens"));
  }

  @Test
  void midStreamFaultsOnNonStreamingRequests() {
    String body = SimTestSupport.request("claude-sonnet-4-5", 500, "whole fault").encode();
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-scenario",
        "midstream_error"), 529, "overloaded_error", "Overloaded");
    HttpRequest disconnect = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/messages"))
        .header("anthropic-version", "2023-06-01").header("x-sim-scenario", "disconnect")
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    assertThrows(IOException.class, () -> SimTestSupport.HTTP.send(disconnect, HttpResponse.BodyHandlers.ofString()));
    long cancelled = sim.stats().messagesCancelled();
    HttpRequest stall = HttpRequest.newBuilder(URI.create(sim.baseUrl() + "/v1/messages"))
        .header("anthropic-version", "2023-06-01").header("x-sim-scenario", "stall").timeout(Duration.ofMillis(300))
        .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    assertThrows(HttpTimeoutException.class, () -> SimTestSupport.HTTP.send(stall,
        HttpResponse.BodyHandlers.ofString()));
    assertTrue(SimTestSupport.eventually(2000, () -> sim.stats().messagesCancelled() == cancelled + 1),
        "the stalled request is released when the client gives up");
  }
}
