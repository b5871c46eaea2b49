package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Callers' mistakes get an Anthropic-shaped error with the right status, and nothing goes upstream. */
class BadInputTest {
  private static final String VALID = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("PROXY_MAX_BODY_BYTES", 4096));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  record Case(String name, String body, Map<String, String> headers, int status, String type) {}

  @Test
  void answersEachMistakeWithItsStatusAndSendsNothingUpstream() {
    Map<String, String> json = stack.jsonHeaders(Map.of());
    List<Case> cases = List.of(
        new Case("malformed JSON", "{\"model\":", json, 400, "invalid_request_error"),
        new Case("not an object", "[1,2,3]", json, 400, "invalid_request_error"),
        new Case("empty body", "", json, 400, "invalid_request_error"),
        new Case("missing model", VALID.replace("\"model\":\"claude-sonnet-4-6\",", ""), json, 400,
            "invalid_request_error"),
        new Case("model not a string", VALID.replace("\"claude-sonnet-4-6\"", "42"), json, 400,
            "invalid_request_error"),
        new Case("missing max_tokens", VALID.replace("\"max_tokens\":10,", ""), json, 400, "invalid_request_error"),
        new Case("max_tokens a string", VALID.replace("10", "\"10\""), json, 400, "invalid_request_error"),
        new Case("max_tokens a fraction", VALID.replace("10", "10.5"), json, 400, "invalid_request_error"),
        new Case("negative max_tokens", VALID.replace("10", "-1"), json, 400, "invalid_request_error"),
        new Case("missing messages", "{\"model\":\"m\",\"max_tokens\":1}", json, 400, "invalid_request_error"),
        new Case("messages not an array", VALID.replace("[{\"role\":\"user\",\"content\":\"hi\"}]", "{}"), json, 400,
            "invalid_request_error"),
        new Case("bad role", VALID.replace("\"user\"", "\"wizard\""), json, 400, "invalid_request_error"),
        new Case("content a number", VALID.replace("\"hi\"", "7"), json, 400, "invalid_request_error"),
        new Case("stream not a boolean", VALID.replace("{", "{\"stream\":\"yes\","), json, 400,
            "invalid_request_error"),
        new Case("deep nesting", "{\"metadata\":" + "[".repeat(1500) + "]".repeat(1500) + "}", json, 400,
            "invalid_request_error"),
        new Case("wrong content type", VALID, stack.jsonHeaders(Map.of("content-type", "text/plain")), 415,
            "invalid_request_error"),
        new Case("body over the limit", VALID.replace("hi", "x".repeat(5000)), json, 413, "request_too_large"),
        new Case("no key", VALID, Map.of("content-type", "application/json"), 401, "authentication_error"),
        new Case("unknown key", VALID, stack.jsonHeaders(Map.of("x-api-key", "sk-csp-wrong")), 401,
            "authentication_error"),
        new Case("basic auth", VALID, Map.of("content-type", "application/json", "authorization", "Basic Zm9vOmJhcg=="),
            401, "authentication_error"));
    long before = stack.simulator.stats().requests();
    for (Case c : cases) {
      HttpResponse<String> r = stack.post("/v1/messages", c.body, c.headers);
      assertEquals(c.status, r.statusCode(), c.name + ": " + r.body());
      assertError(r, c.type, c.name);
    }
    assertEquals(before, stack.simulator.stats().requests(), "nothing reached the upstream");
  }

  @Test
  void malformedJsonIsDescribedInTheApisWordsNotTheParsers() {
    Map<String, String> cases = Map.of(
        "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":", "unexpected end of data",
        "{\"metadata\":" + "[".repeat(1500) + "]".repeat(1500) + "}", "nested too deeply or a value too long",
        VALID + " {\"more\":1}", "extra data after the JSON object",
        "{\"model\": claude}", "unexpected character");
    cases.forEach((body, what) -> {
      HttpResponse<String> r = stack.post("/v1/messages", body, stack.jsonHeaders(Map.of()));
      assertEquals(400, r.statusCode(), r.body());
      assertError(r, "invalid_request_error", what);
      String message = new JsonObject(r.body()).getJsonObject("error").getString("message");
      assertTrue(message.matches("The request body is not valid JSON: " + java.util.regex.Pattern.quote(what)
          + "(: line \\d+ column \\d+ \\(char \\d+\\))?"), message);
      Wire.assertNoLibraryWords(message);
    });
  }

  @Test
  void rejectsInvalidUtf8() {
    byte[] body = VALID.replace("hi", "h?").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    body[VALID.indexOf("hi") + 1] = (byte) 0xff;
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/messages"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    stack.jsonHeaders(Map.of()).forEach(request::header);
    HttpResponse<String> r = stack.send(request.build());
    assertEquals(400, r.statusCode(), r.body());
    assertError(r, "invalid_request_error", "invalid UTF-8");
  }

  @Test
  void acceptsTheCallersKeyAsBearerToo() {
    HttpResponse<String> r = stack.post("/v1/messages", VALID,
        Map.of("content-type", "application/json", "authorization", "Bearer " + stack.callerKey,
            "anthropic-version", "2026-10-21"));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("message", new JsonObject(r.body()).getString("type"));
  }

  @Test
  void answersUnknownRoutesAndWrongMethods() {
    HttpResponse<String> notFound = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/nothing"))
        .GET().build());
    assertEquals(404, notFound.statusCode());
    assertError(notFound, "not_found_error", "404");
    HttpResponse<String> wrongMethod = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/messages"))
        .GET().build());
    assertEquals(405, wrongMethod.statusCode());
    assertError(wrongMethod, "invalid_request_error", "405");
  }

  @Test
  void reportsHealth() {
    HttpResponse<String> live = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/health/live"))
        .GET().build());
    assertEquals(200, live.statusCode());
    HttpResponse<String> ready = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/health/ready"))
        .GET().build());
    assertEquals(200, ready.statusCode(), ready.body());
    assertEquals("UP", new JsonObject(ready.body()).getString("status"));
  }

  @Test
  void staysHealthyAfterTheMistakes() {
    answersEachMistakeWithItsStatusAndSendsNothingUpstream();
    HttpResponse<String> r = stack.post("/v1/messages", VALID.replace("{", "{\"stream\":true,"),
        stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
  }

  private static void assertError(HttpResponse<String> r, String type, String what) {
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"), what);
    JsonObject body = new JsonObject(r.body());
    assertEquals("error", body.getString("type"), what);
    assertEquals(type, body.getJsonObject("error").getString("type"), what);
    assertFalse(body.getJsonObject("error").getString("message").isBlank(), what);
    assertTrue(body.getString("request_id").startsWith("req_"), what);
    assertFalse(r.body().contains("sk-csp-wrong"), "the presented key is never echoed");
  }
}
