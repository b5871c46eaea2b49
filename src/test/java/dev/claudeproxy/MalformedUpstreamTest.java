package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An upstream that breaks the protocol mid-stream: a {@code message_delta} whose data is not JSON. The simulator is
 * faithful and never does this, so a hand-written upstream on a loopback port plays it. The client must see the
 * events before it, then an error event, and never a clean end.
 */
class MalformedUpstreamTest {
  private static final String REQUEST = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":50,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
  private static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";
  /** The stream up to the broken event, sent in two reads split inside an event. */
  private static final String[] UPSTREAM = {
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_broken\",\"type\":\"message\","
          + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,"
          + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
          + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
          + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
          + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
          + "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel",
      "lo\"}}\n\n"
          + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"\n\n"
          + "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
          + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  private static final String MESSAGE = "upstream sent an event that is not valid JSON";

  private static TestStack stack;

  @BeforeAll
  static void start() {
    Vertx vertx = Vertx.vertx();
    HttpServer upstream = TestStack.await(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      var response = req.response().setChunked(true).putHeader("content-type", "text/event-stream")
          .putHeader("request-id", "req_broken");
      response.write(UPSTREAM[0]);
      vertx.setTimer(20, id -> response.end(UPSTREAM[1]));
    })).listen(0, "127.0.0.1"));
    stack = TestStack.inFrontOf(vertx, upstream.actualPort());
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private static String post(String path, String body) {
    HttpResponse<String> r = stack.post(path, body, stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode(), "the stream had begun: " + r.body());
    return r.body();
  }

  @Test
  void messagesGetTheEventsBeforeItThenAnError() throws Exception {
    String body = post("/v1/messages", REQUEST);
    assertTrue(body.contains("\"text\":\"Hello\""), body);
    assertFalse(body.contains("stop_reason\":\"end_turn"), "the broken event is not forwarded: " + body);
    assertFalse(body.contains("message_stop"), "a broken stream never ends cleanly: " + body);
    String last = Wire.lastEvent(body);
    assertTrue(last.startsWith("event: error\n"), body);
    JsonObject error = new JsonObject(last.substring(last.indexOf("data: ") + 6).trim());
    assertEquals("api_error", error.getJsonObject("error").getString("type"));
    assertEquals(MESSAGE, error.getJsonObject("error").getString("message"));
  }

  @Test
  void chatGetsTheTextBeforeItThenAnError() throws Exception {
    String body = post("/v1/chat", CHAT);
    assertTrue(body.contains("\"text\":\"Hello\""), body);
    assertFalse(body.contains("event: done"), "a broken stream never ends cleanly: " + body);
    String last = Wire.lastEvent(body);
    assertTrue(last.contains("event: error\n"), body);
    assertTrue(last.contains(MESSAGE), body);
  }
}
