package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.users.ApiKeys;
import dev.claudeproxy.users.UsersFile;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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

  private static Vertx vertx;
  private static ProxyServer proxy;
  private static Path dir;
  private static String key;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws IOException {
    vertx = Vertx.vertx();
    HttpServer upstream = TestStack.await(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      var response = req.response().setChunked(true).putHeader("content-type", "text/event-stream")
          .putHeader("request-id", "req_broken");
      response.write(UPSTREAM[0]);
      vertx.setTimer(20, id -> response.end(UPSTREAM[1]));
    })).listen(0, "127.0.0.1"));
    dir = Files.createTempDirectory("csp-malformed");
    key = ApiKeys.generate();
    UsersFile.addKey(dir.resolve("users.json"), "tester", key);
    proxy = TestStack.await(ProxyServer.start(vertx, TestStack.settings(Map.of(
        "ANTHROPIC_BASE_URL", "http://127.0.0.1:" + upstream.actualPort(),
        "PROXY_USERS", dir.resolve("users.json").toString(),
        "PROXY_USAGE_FILE", dir.resolve("usage.jsonl").toString()))));
  }

  @AfterAll
  static void stop() throws IOException {
    TestStack.await(vertx.close());
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static String post(String path, String body) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + path))
        .timeout(Duration.ofSeconds(30)).header("content-type", "application/json").header("x-api-key", key)
        .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
        HttpResponse.BodyHandlers.ofString());
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
