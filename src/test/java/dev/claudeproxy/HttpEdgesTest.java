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

/** HEAD and OPTIONS, and CORS for the origins the operator names, with a real HTTP client. */
class HttpEdgesTest {
  private static final String APP = "https://app.example.com";
  private static final String MESSAGE = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
  private static TestStack plain;
  private static TestStack cors;

  @BeforeAll
  static void start() {
    plain = TestStack.start();
    cors = TestStack.start(Map.of("PROXY_CORS_ORIGINS", APP + ", http://localhost:5173"));
  }

  @AfterAll
  static void stop() {
    plain.close();
    cors.close();
  }

  /**
   * One request over HTTP/1.1, as Claude Code and the SDKs speak in clear text (over an h2c upgrade, Vert.x 5 writes a
   * HEAD's body too; no client of the proxy speaks HTTP/2 without TLS in practice).
   */
  private static HttpResponse<String> call(TestStack stack, String method, String path, Map<String, String> headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(stack.proxyUrl() + path))
        .version(java.net.http.HttpClient.Version.HTTP_1_1)
        .method(method, HttpRequest.BodyPublishers.noBody());
    headers.forEach(request::header);
    return stack.send(request.build());
  }

  @Test
  void headAnswersLikeGetWithoutABody() {
    for (String path : List.of("/health/live", "/health/ready", "/v1/models", "/")) {
      Map<String, String> key = path.startsWith("/v1") ? Map.of("x-api-key", plain.callerKey) : Map.of();
      HttpResponse<String> get = call(plain, "GET", path, key);
      HttpResponse<String> head = call(plain, "HEAD", path, key);
      assertEquals(200, get.statusCode(), path + ": " + get.body());
      assertEquals(200, head.statusCode(), path);
      assertFalse(get.body().isEmpty(), path);
      assertEquals("", head.body(), path);
      assertEquals(get.headers().firstValue("content-type"), head.headers().firstValue("content-type"), path);
    }
  }

  @Test
  void optionsNamesTheMethodsOfAKnownPathAndAddsNoCorsUnlessConfigured() {
    HttpResponse<String> messages = call(plain, "OPTIONS", "/v1/messages", Map.of("origin", APP));
    assertEquals(204, messages.statusCode(), messages.body());
    assertEquals("OPTIONS, POST", messages.headers().firstValue("allow").orElse(""));
    assertFalse(messages.headers().firstValue("access-control-allow-origin").isPresent());
    HttpResponse<String> model = call(plain, "OPTIONS", "/v1/models/claude-sonnet-4-6", Map.of());
    assertEquals(204, model.statusCode());
    assertEquals("GET, HEAD, OPTIONS", model.headers().firstValue("allow").orElse(""));
    HttpResponse<String> preflight = call(plain, "OPTIONS", "/v1/chat", Map.of("origin", APP,
        "access-control-request-method", "POST"));
    assertEquals(204, preflight.statusCode());
    assertFalse(preflight.headers().firstValue("access-control-allow-origin").isPresent(), "no origin is allowed");
    assertEquals(404, call(plain, "OPTIONS", "/v1/nothing", Map.of()).statusCode());
  }

  @Test
  void aPreflightFromAnAllowedOriginMayPostWithTheApisHeaders() {
    String asked = "content-type, authorization, x-api-key, anthropic-version, anthropic-beta, "
        + "anthropic-dangerous-direct-browser-access";
    for (String path : List.of("/v1/chat", "/v1/messages")) {
      HttpResponse<String> r = call(cors, "OPTIONS", path, Map.of("origin", APP,
          "access-control-request-method", "POST", "access-control-request-headers", asked));
      assertEquals(204, r.statusCode(), path + ": " + r.body());
      assertEquals(APP, r.headers().firstValue("access-control-allow-origin").orElse(""), path);
      assertTrue(r.headers().firstValue("access-control-allow-methods").orElse("").contains("POST"), path);
      String allowedHeaders = r.headers().firstValue("access-control-allow-headers").orElse("").toLowerCase();
      for (String header : asked.split(", ")) {
        assertTrue(allowedHeaders.contains(header), header + " in " + allowedHeaders);
      }
    }
  }

  @Test
  void aPreflightFromAnotherOriginIsRefused() {
    HttpResponse<String> r = call(cors, "OPTIONS", "/v1/chat", Map.of("origin", "https://evil.example",
        "access-control-request-method", "POST", "access-control-request-headers", "content-type"));
    assertEquals(403, r.statusCode());
    assertFalse(r.headers().firstValue("access-control-allow-origin").isPresent());
    JsonObject error = new JsonObject(r.body()).getJsonObject("error");
    assertEquals("permission_error", error.getString("type"));
    assertEquals("origin https://evil.example may not call this API from a browser (PROXY_CORS_ORIGINS)",
        error.getString("message"));
  }

  @Test
  void anAllowedOriginsCallShowsItsPageTheIdsAndTheProxysOwnPageStillWorks() {
    HttpResponse<String> r = cors.post("/v1/messages", MESSAGE, cors.jsonHeaders(Map.of("origin", APP)));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(APP, r.headers().firstValue("access-control-allow-origin").orElse(""));
    assertTrue(r.headers().firstValue("access-control-expose-headers").orElse("").contains("request-id"));
    HttpResponse<String> own = cors.post("/v1/messages", MESSAGE, cors.jsonHeaders(Map.of("origin", cors.proxyUrl())));
    assertEquals(200, own.statusCode(), "the chat page's own origin needs no entry: " + own.body());
  }
}
