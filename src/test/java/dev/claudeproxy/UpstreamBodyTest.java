package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the upstream receives for a caller's body: the caller's own bytes with the opaque {@code metadata.user_id} put
 * in front, unless the body says something twice or the proxy changes more than the user id. A hand-written upstream
 * on a loopback port records each body.
 */
class UpstreamBodyTest {
  private static final Pattern SPLICED = Pattern.compile("^\\{\"metadata\":\\{\"user_id\":\"(user_[0-9a-f]{32})\"},");
  private static final String MESSAGE = "{\"id\":\"msg_recorded\",\"type\":\"message\",\"role\":\"assistant\","
      + "\"model\":\"claude-sonnet-4-6\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}],"
      + "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}";

  private static final List<String> RECEIVED = new CopyOnWriteArrayList<>();
  /** The anthropic-beta lines of each request, as the upstream read them. */
  private static final List<List<String>> BETAS = new CopyOnWriteArrayList<>();
  private static TestStack stack;

  @BeforeAll
  static void start() {
    Vertx vertx = Vertx.vertx();
    HttpServer upstream = TestStack.await(vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b -> {
      RECEIVED.add(b.toString());
      BETAS.add(req.headers().getAll("anthropic-beta"));
      req.response().putHeader("content-type", "application/json").putHeader("request-id", "req_recorded")
          .putHeader("anthropic-ratelimit-requests-remaining", List.<String>of("41", "7"))
          .end(req.path().endsWith("count_tokens") ? "{\"input_tokens\":3}" : MESSAGE);
    })).listen(0, "127.0.0.1"));
    stack = TestStack.inFrontOf(vertx, upstream.actualPort());
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @BeforeEach
  void forget() {
    RECEIVED.clear();
    BETAS.clear();
  }

  /** Posts {@code body}, checks the answer is the upstream's, and returns the one body the upstream received. */
  private static String relayed(String path, String body) {
    HttpResponse<String> r = stack.post(path, body, stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(1, RECEIVED.size(), RECEIVED.toString());
    return RECEIVED.get(0);
  }

  @Test
  void theCallersBytesGoOnWithTheUserIdInFront() {
    String sent = "{ \"model\" : \"claude-sonnet-4-6\",\n  \"max_tokens\": 20, \"temperature\": 5E-1,"
        + " \"messages\": [{\"role\": \"user\", \"content\": \"caf\u00e9 \\u00e9 \\\"quoted\\\"\"}] }";
    String received = relayed("/v1/messages", sent);
    Matcher m = SPLICED.matcher(received);
    assertTrue(m.find(), received);
    assertEquals(sent.substring(1), received.substring(m.end()), "every byte of the caller's after its brace");
    JsonObject parsed = new JsonObject(received);
    assertEquals(0.5, parsed.getDouble("temperature"));
    assertEquals("caf\u00e9 \u00e9 \"quoted\"", parsed.getJsonArray("messages").getJsonObject(0).getString("content"));

    RECEIVED.clear();
    String again = relayed("/v1/messages", "\n\t {\"model\":\"claude-sonnet-4-6\",\"max_tokens\":5,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertTrue(again.startsWith("\n\t {\"metadata\":{\"user_id\":\"" + m.group(1) + "\"},\"model\""),
        "the same opaque id, after the caller's leading white space: " + again);
  }

  @Test
  void aNameGivenTwiceIsWrittenAnewWithTheValueTheChecksSaw() {
    String received = relayed("/v1/messages", "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":1,\"max_tokens\":20,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    assertEquals(1, received.split("\"max_tokens\"", -1).length - 1, received);
    JsonObject parsed = new JsonObject(received);
    assertEquals(20, parsed.getInteger("max_tokens"));
    assertTrue(parsed.getJsonObject("metadata").getString("user_id").startsWith("user_"), received);
  }

  @Test
  void theCallersOwnMetadataKeepsItsOtherFieldsButNotItsUserId() {
    String received = relayed("/v1/messages", "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":20,"
        + "\"metadata\":{\"user_id\":\"pretend\",\"note\":7},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
    JsonObject metadata = new JsonObject(received).getJsonObject("metadata");
    assertTrue(metadata.getString("user_id").matches("user_[0-9a-f]{32}"), received);
    assertEquals(7, metadata.getInteger("note"));
    assertEquals(1, received.split("\"metadata\"", -1).length - 1, received);
  }

  @Test
  void countTokensGoesOnExactlyAsSent() {
    String sent = "{\"model\": \"claude-sonnet-4-6\", \"messages\": [{\"role\": \"user\", \"content\": \"count me\"}]}";
    assertEquals(sent, relayed("/v1/messages/count_tokens", sent));
  }

  @Test
  void headersSentOnSeveralLinesGoOnJoinedWithCommas() throws Exception {
    java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(
            java.net.URI.create(stack.proxyUrl() + "/v1/messages"))
        .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":5,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
        .header("anthropic-beta", "interleaved-thinking-2025-05-14")
        .header("anthropic-beta", "context-1m-2025-08-07,files-api-2025-04-14");
    stack.jsonHeaders(Map.of()).forEach(request::header);
    HttpResponse<String> r = stack.send(request.build());
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(List.of(List.of("interleaved-thinking-2025-05-14, context-1m-2025-08-07,files-api-2025-04-14")), BETAS,
        "both lines, in their order, as one list");
    assertEquals(List.of("41, 7"), r.headers().allValues("anthropic-ratelimit-requests-remaining"),
        "the upstream's repeated answer header too");
  }

  @Test
  void trailingTextAfterTheObjectIsStillRefused() {
    HttpResponse<String> r = stack.post("/v1/messages", "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":5,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]} {\"more\":1}", stack.jsonHeaders(Map.of()));
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("invalid_request_error", new JsonObject(r.body()).getJsonObject("error").getString("type"));
    assertTrue(RECEIVED.isEmpty(), "nothing went upstream");
  }
}
