package dev.claudeproxy.examples.host;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.PermissionDeniedException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The example host from the outside: started on a free loopback port with the built-in simulator as its upstream,
 * called over HTTP and through the official Anthropic Java SDK with the host's own tokens.
 */
class HostAppTest {
  private static final String MODEL = "claude-sonnet-4-6";
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();

  private static Vertx vertx;
  private static HostApp app;
  private static int port;

  @BeforeAll
  static void startHost() throws Exception {
    try (ServerSocket free = new ServerSocket(0)) {
      port = free.getLocalPort();
    }
    vertx = Vertx.vertx();
    // No ANTHROPIC_API_KEY: the host answers from the simulator, here a fast one.
    app = await(HostApp.start(vertx, new JsonObject().put("HOST_PORT", port).put("HOST_INSTANCES", 2)
        .put("SIM_TTFT_MS", 5).put("SIM_TOKENS_PER_SECOND", 2000)));
    assertTrue(app.simulated());
  }

  @AfterAll
  static void stopHost() throws Exception {
    if (app != null) {
      await(app.close());
    }
    await(vertx.close());
  }

  @Test
  void theOfficialSdkStreamsThroughTheHostWithTheHostsToken() {
    String token = login("alice", "demo-alice");
    JsonObject before = usage(token);
    AnthropicClient sdk = sdk(token);
    StringBuilder text = new StringBuilder();
    boolean[] stopped = {false};
    try (StreamResponse<RawMessageStreamEvent> stream = sdk.messages().createStreaming(MessageCreateParams.builder()
        .model(MODEL).maxTokens(200).addUserMessage("Tell me about event loops.").build())) {
      stream.stream().forEach(event -> {
        event.contentBlockDelta().ifPresent(d -> d.delta().text().ifPresent(t -> text.append(t.text())));
        event.messageStop().ifPresent(s -> stopped[0] = true);
      });
    }
    assertFalse(text.toString().isBlank());
    assertTrue(stopped[0], "the stream ended with message_stop");

    // The host's usage sink saw the call, under the host's user (other tests may have called as alice too).
    JsonObject after = waitForUsage(token, before.getLong("calls") + 1);
    assertEquals("alice", after.getString("user"));
    assertEquals(before.getLong("calls") + 1, after.getLong("calls"), after.encode());
    assertTrue(after.getLong("input_tokens") > before.getLong("input_tokens"), after.encode());
    assertTrue(after.getLong("output_tokens") > before.getLong("output_tokens"), after.encode());
  }

  @Test
  void theHostsOwnVerticleStreamsThroughTheStreamClient() {
    String token = login("alice", "demo-alice");
    JsonObject before = usage(token);
    Map<String, String> headers = Map.of("authorization", "Bearer " + token, "content-type", "application/json");
    HttpResponse<String> answer = send("POST", "/api/ask", headers,
        new JsonObject().put("prompt", "Tell me about event loops.").encode());
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(answer.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
    assertFalse(answer.body().isBlank());
    assertFalse(answer.body().contains("content_block_delta"), "text only, not the SSE events");
    // The stream went over the event bus to the proxy's workers, and its usage came back under the host's user.
    JsonObject after = waitForUsage(token, before.getLong("calls") + 1);
    assertEquals(before.getLong("calls") + 1, after.getLong("calls"), after.encode());
    assertTrue(after.getLong("output_tokens") > before.getLong("output_tokens"), after.encode());

    assertEquals(401, send("POST", "/api/ask", Map.of("content-type", "application/json"),
        new JsonObject().put("prompt", "Hi").encode()).statusCode());
    assertEquals(400, send("POST", "/api/ask", headers, new JsonObject().encode()).statusCode());
  }

  @Test
  void theHostsLimitsAreTheProxysLimits() {
    AnthropicClient bob = sdk(login("bob", "demo-bob"));
    PermissionDeniedException refused = assertThrows(PermissionDeniedException.class,
        () -> bob.messages().create(MessageCreateParams.builder().model(MODEL).maxTokens(10)
            .addUserMessage("Hi").build()));
    assertTrue(refused.getMessage().contains(MODEL), refused.getMessage());
    assertTrue(bob.messages().create(MessageCreateParams.builder().model("claude-haiku-4-5").maxTokens(10)
        .addUserMessage("Hi").build()).content().size() > 0);
  }

  @Test
  void anUnknownTokenIsRefusedInTheApisShape() {
    assertThrows(UnauthorizedException.class, () -> sdk("host-not-a-token").messages()
        .create(MessageCreateParams.builder().model(MODEL).maxTokens(10).addUserMessage("Hi").build()));

    HttpResponse<String> response = send("POST", "/ai/v1/messages",
        Map.of("authorization", "Bearer host-not-a-token", "content-type", "application/json"),
        new JsonObject().put("model", MODEL).put("max_tokens", 10).put("messages", new JsonArray()
            .add(new JsonObject().put("role", "user").put("content", "Hi"))).encode());
    assertEquals(401, response.statusCode());
    JsonObject body = new JsonObject(response.body());
    assertEquals("error", body.getString("type"));
    assertEquals("authentication_error", body.getJsonObject("error").getString("type"));
    assertTrue(body.getJsonObject("error").getString("message").contains("POST /login"), response.body());
  }

  @Test
  void theHostsOwnRoutesAndLogin() {
    HttpResponse<String> landing = send("GET", "/", Map.of(), null);
    assertEquals(200, landing.statusCode());
    assertTrue(landing.body().contains("<h1>Example host</h1>"), landing.body());

    String token = login("alice", "demo-alice");
    HttpResponse<String> me = send("GET", "/api/me", Map.of("authorization", "Bearer " + token), null);
    assertEquals(200, me.statusCode());
    assertEquals(new JsonObject().put("user", "alice").put("tier", "team")
        .put("models", new JsonArray().add("claude-sonnet-4-6").add("claude-haiku-4-5")), new JsonObject(me.body()));
    assertEquals(401, send("GET", "/api/me", Map.of(), null).statusCode());

    Map<String, String> json = Map.of("content-type", "application/json");
    assertEquals(401, send("POST", "/login", json,
        new JsonObject().put("user", "alice").put("password", "guess").encode()).statusCode());
    assertEquals(401, send("POST", "/login", json,
        new JsonObject().put("user", "mallory").put("password", "demo-mallory").encode()).statusCode());
    assertEquals(400, send("POST", "/login", json, "{not json").statusCode());
    assertEquals(400, send("POST", "/login", json, "[]").statusCode());
  }

  @Test
  void theChatPageStreamsToABrowserUnderAi() {
    HttpResponse<String> page = send("GET", "/ai/", Map.of(), null);
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("src=\"static/chat.js\""), page.body());
    assertEquals(200, send("GET", "/ai/static/chat.js", Map.of(), null).statusCode());

    // What the page does once signed in with the host's token: its endpoint streams small SSE events.
    String token = login("alice", "demo-alice");
    HttpResponse<String> chat = send("POST", "/ai/v1/chat",
        Map.of("authorization", "Bearer " + token, "content-type", "application/json"),
        new JsonObject().put("messages", new JsonArray()
            .add(new JsonObject().put("role", "user").put("content", "Hello"))).encode());
    assertEquals(200, chat.statusCode(), chat.body());
    assertTrue(chat.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    assertTrue(chat.body().contains("event: text"), chat.body());
    assertTrue(chat.body().contains("event: done"), chat.body());
  }

  @Test
  void healthAndMetricsUnderOpsWithTheHostsOwnMeters() {
    login("alice", "demo-alice");
    assertEquals(200, send("GET", "/ops/health/ready", Map.of(), null).statusCode());
    HttpResponse<String> metrics = send("GET", "/ops/metrics", Map.of(), null);
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("claude_proxy_"), metrics.body());
    assertTrue(metrics.body().contains("host_logins_total"), metrics.body());
  }

  private static AnthropicClient sdk(String token) {
    return AnthropicOkHttpClient.builder().baseUrl("http://127.0.0.1:" + port + "/ai").authToken(token)
        .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
  }

  private static String login(String user, String password) {
    HttpResponse<String> response = send("POST", "/login", Map.of("content-type", "application/json"),
        new JsonObject().put("user", user).put("password", password).encode());
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body()).getString("token");
  }

  private static JsonObject waitForUsage(String token, long calls) {
    long deadline = System.currentTimeMillis() + 10_000;
    while (true) {
      JsonObject usage = usage(token);
      if (usage.getLong("calls") >= calls || System.currentTimeMillis() > deadline) {
        return usage;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  private static JsonObject usage(String token) {
    HttpResponse<String> response = send("GET", "/api/usage", Map.of("authorization", "Bearer " + token), null);
    assertEquals(200, response.statusCode(), response.body());
    return new JsonObject(response.body());
  }

  private static HttpResponse<String> send(String method, String path, Map<String, String> headers, String body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    try {
      return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
