package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every caller mistake gets the real API's status and error type, never a 500. */
class InvalidRequestTest {
  private static final String OK_MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
  private static Vertx vertx;
  private static Simulator sim;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withOutputTokens(5));
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  static Stream<Arguments> invalidBodies() {
    return Stream.of(
        Arguments.of("malformed JSON", "{\"model\":", 400, "invalid_request_error", "parsing"),
        Arguments.of("empty body", "", 400, "invalid_request_error", "empty"),
        Arguments.of("not an object", "[1,2]", 400, "invalid_request_error", "object"),
        Arguments.of("missing model", "{\"max_tokens\":10," + OK_MESSAGES + "}", 400, "invalid_request_error",
            "model"),
        Arguments.of("model not a string", "{\"model\":5,\"max_tokens\":10," + OK_MESSAGES + "}", 400,
            "invalid_request_error", "model"),
        Arguments.of("unknown field", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"temprature\":1,"
            + OK_MESSAGES + "}", 400, "invalid_request_error", "temprature"),
        Arguments.of("unknown non-Claude model", "{\"model\":\"gpt-nope-9\",\"max_tokens\":10," + OK_MESSAGES
            + "}", 404, "not_found_error", "gpt-nope-9"),
        Arguments.of("missing max_tokens", "{\"model\":\"claude-sonnet-4-5\"," + OK_MESSAGES + "}", 400,
            "invalid_request_error", "max_tokens"),
        Arguments.of("max_tokens not integer", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":\"ten\","
            + OK_MESSAGES + "}", 400, "invalid_request_error", "max_tokens"),
        Arguments.of("max_tokens fractional", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1.5,"
            + OK_MESSAGES + "}", 400, "invalid_request_error", "max_tokens"),
        Arguments.of("max_tokens negative", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":-1," + OK_MESSAGES
            + "}", 400, "invalid_request_error", "max_tokens"),
        Arguments.of("max_tokens above model max", "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":64001,"
            + OK_MESSAGES + "}", 400, "invalid_request_error", "max_tokens"),
        Arguments.of("missing messages", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10}", 400,
            "invalid_request_error", "messages"),
        Arguments.of("messages not a list", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":{}}",
            400, "invalid_request_error", "messages"),
        Arguments.of("empty messages", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[]}", 400,
            "invalid_request_error", "messages"),
        Arguments.of("first message assistant", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,"
            + "\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"}]}", 400, "invalid_request_error", "first"),
        Arguments.of("unknown role", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":["
            + "{\"role\":\"robot\",\"content\":\"a\"}]}", 400, "invalid_request_error", "role"),
        Arguments.of("empty content", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":["
            + "{\"role\":\"user\",\"content\":\"\"}]}", 400, "invalid_request_error", "non-empty"),
        Arguments.of("empty content list", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":["
            + "{\"role\":\"user\",\"content\":[]}]}", 400, "invalid_request_error", "non-empty"),
        Arguments.of("content wrong type", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":["
            + "{\"role\":\"user\",\"content\":42}]}", 400, "invalid_request_error", "content"),
        Arguments.of("text block without text", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":["
            + "{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}", 400, "invalid_request_error", "text"),
        Arguments.of("system wrong type", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"system\":7,"
            + OK_MESSAGES + "}", 400, "invalid_request_error", "system"),
        Arguments.of("stream not boolean", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"stream\":\"yes\","
            + OK_MESSAGES + "}", 400, "invalid_request_error", "stream"),
        Arguments.of("stop_sequences wrong type", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,"
            + "\"stop_sequences\":\"x\"," + OK_MESSAGES + "}", 400, "invalid_request_error", "stop_sequences"),
        Arguments.of("temperature out of range", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,"
            + "\"temperature\":1.5," + OK_MESSAGES + "}", 400, "invalid_request_error", "temperature"),
        Arguments.of("tool without schema", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"tools\":["
            + "{\"name\":\"t\"}]," + OK_MESSAGES + "}", 400, "invalid_request_error", "input_schema"),
        Arguments.of("tool_choice names unknown tool", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,"
            + "\"tools\":[{\"name\":\"t\",\"input_schema\":{\"type\":\"object\"}}],"
            + "\"tool_choice\":{\"type\":\"tool\",\"name\":\"u\"}," + OK_MESSAGES + "}", 400,
            "invalid_request_error", "tool_choice"),
        Arguments.of("thinking budget too small", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":4000,"
            + "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":100}," + OK_MESSAGES + "}", 400,
            "invalid_request_error", "budget_tokens"),
        Arguments.of("thinking budget not below max_tokens", "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
            + "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}," + OK_MESSAGES + "}", 400,
            "invalid_request_error", "budget_tokens"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidBodies")
  void invalidBodyGetsTheRightError(String name, String body, int status, String type, String mentions) {
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", body);
    assertError(r, status, type, mentions);
  }

  static Stream<Arguments> sampling() {
    return Stream.of(Arguments.of("temperature", "0.5"), Arguments.of("top_p", "0.9"), Arguments.of("top_k", "5"));
  }

  @ParameterizedTest(name = "{0} under 2026-10-21")
  @MethodSource("sampling")
  void samplingParametersAreRejectedUnderTheNewVersion(String key, String value) {
    String body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"" + key + "\":" + value + ","
        + OK_MESSAGES + "}";
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", "2026-10-21"), 400,
        "invalid_request_error", key);
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", "2023-06-01").statusCode(),
        "the old version still accepts " + key);
  }

  @Test
  void versionHeaderIsRequiredAndChecked() {
    String body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10," + OK_MESSAGES + "}";
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", null), 400,
        "invalid_request_error", "anthropic-version");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", "2024-01-01"), 400,
        "invalid_request_error", "anthropic-version");
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", "2026-10-21")
        .statusCode());
  }

  @Test
  void badOverrideHeadersNameTheHeader() {
    String body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10," + OK_MESSAGES + "}";
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-scenario", "meteor_strike"), 400,
        "invalid_request_error", "x-sim-scenario");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-ttft-ms", "-5"), 400,
        "invalid_request_error", "x-sim-ttft-ms");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-tokens-per-second", "fast"), 400,
        "invalid_request_error", "x-sim-tokens-per-second");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-output-tokens", "1.5"), 400,
        "invalid_request_error", "x-sim-output-tokens");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-jitter", "2"), 400,
        "invalid_request_error", "x-sim-jitter");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-should-retry", "maybe"), 400,
        "invalid_request_error", "x-sim-should-retry");
    assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-sim-write", "chunky"), 400,
        "invalid_request_error", "x-sim-write: must be event or batch, got \"chunky\"");
  }

  @Test
  void unknownRouteAndWrongMethod() {
    HttpResponse<String> notFound = SimTestSupport.get(sim, "/v1/nothing-here", "anthropic-version", "2023-06-01");
    assertError(notFound, 404, "not_found_error", "/v1/nothing-here");
    assertError(SimTestSupport.get(sim, "/v1/messages", "anthropic-version", "2023-06-01"), 405,
        "invalid_request_error", "GET");
  }

  @Test
  void oversizedBodyIs413() {
    // 33 MB of valid JSON string content: over the 32 MB limit.
    String big = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\""
        + "a".repeat(33 * 1024 * 1024) + "\"}]}";
    assertError(SimTestSupport.post(sim, "/v1/messages", big), 413, "request_too_large", "");
    // The server is fine afterwards.
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages",
        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":10," + OK_MESSAGES + "}").statusCode());
  }

  @Test
  void countTokensValidatesAndCounts() {
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages/count_tokens",
        "{\"model\":\"claude-sonnet-4-5\"," + OK_MESSAGES + "}");
    assertEquals(200, r.statusCode());
    JsonObject body = new JsonObject(r.body());
    assertTrue(body.getInteger("input_tokens") >= 1);
    assertEquals(ReplyPlan.estimateInputTokens(new JsonObject("{\"model\":\"claude-sonnet-4-5\"," + OK_MESSAGES
        + "}")), body.getInteger("input_tokens"));
    assertError(SimTestSupport.post(sim, "/v1/messages/count_tokens", "{\"model\":\"claude-sonnet-4-5\"}"), 400,
        "invalid_request_error", "messages");
    assertError(SimTestSupport.post(sim, "/v1/messages/count_tokens", "{\"model\":\"x\"," + OK_MESSAGES + "}"),
        404, "not_found_error", "x");
  }

  static void assertError(HttpResponse<String> r, int status, String type, String mentions) {
    assertEquals(status, r.statusCode(), r.body());
    assertEquals("application/json", r.headers().firstValue("content-type").orElse(null));
    String requestId = r.headers().firstValue("request-id").orElse(null);
    assertNotNull(requestId);
    assertTrue(requestId.startsWith("req_"));
    JsonObject body = new JsonObject(r.body());
    assertEquals("error", body.getString("type"));
    assertEquals(type, body.getJsonObject("error").getString("type"));
    String message = body.getJsonObject("error").getString("message");
    assertTrue(message.contains(mentions), "\"" + message + "\" should mention " + mentions);
    assertEquals(requestId, body.getString("request_id"));
  }
}
