package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.PermissionDeniedException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The proxy as a library: a host application on its own Vert.x, with its own route and its own login, mounts the
 * proxy's routes under a prefix and streams through them with the official SDK.
 */
class ClaudeProxyTest {
  private static final String MODEL = "claude-sonnet-4-6";

  private final Vertx vertx = Vertx.vertx();
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private ClaudeSimulator simulator;
  private ClaudeProxy proxy;
  private int port;

  /** The host's verticle: its own route and its own server, the proxy under /ai, the page beside it. */
  private static final class HostVerticle extends VerticleBase {
    private final ClaudeProxy proxy;
    private final AtomicInteger bound;
    final Set<Thread> threads = ConcurrentHashMap.newKeySet();

    HostVerticle(ClaudeProxy proxy, AtomicInteger bound) {
      this.proxy = proxy;
      this.bound = bound;
    }

    @Override
    public Future<?> start() {
      Router router = Router.router(vertx);
      router.get("/hello").handler(ctx -> ctx.response().end("host says hello"));
      router.route("/ai/*").subRouter(proxy.chatPage());
      router.route("/ai/*").subRouter(proxy.router());
      router.route("/ops/*").subRouter(proxy.managementRouter());
      // Every instance listens on the same port; Vert.x spreads the connections over them.
      return vertx.createHttpServer().requestHandler(router).listen(bound.get(), "127.0.0.1");
    }
  }

  private void start(ClaudeProxyOptions options, int hostInstances) {
    simulator = await(ClaudeSimulator.start(vertx, new JsonObject().put("SIM_TTFT_MS", 5)
        .put("SIM_TOKENS_PER_SECOND", 2000)));
    options.putSetting("ANTHROPIC_BASE_URL", simulator.baseUrl()).putSetting("PROXY_WORKER_INSTANCES", 2);
    proxy = ClaudeProxy.create(vertx, options);
    await(proxy.start());
    AtomicInteger bound = new AtomicInteger(freePort());
    await(vertx.deployVerticle(() -> new HostVerticle(proxy, bound),
        new DeploymentOptions().setInstances(hostInstances)));
    port = bound.get();
  }

  /** The host's login: a user header its own gateway would set; "mallory" is known and refused. */
  private static Future<Caller> hostLogin(io.vertx.ext.web.RoutingContext request) {
    String user = request.request().getHeader("x-host-user");
    if (user == null) {
      return Future.failedFuture(new CallerResolver.Refusal(401, "sign in to the host first"));
    }
    if (user.equals("mallory")) {
      return Future.failedFuture(new CallerResolver.Refusal(403, "mallory may not use Claude"));
    }
    return Future.succeededFuture(new Caller(user, "host-tier", false,
        new CallerLimits(List.of(MODEL), 300, null, null, 2, null, null)));
  }

  @AfterEach
  void stop() {
    if (proxy != null) {
      await(proxy.close());
    }
    await(vertx.close());
  }

  @Test
  void theOfficialSdkStreamsUnderTheHostsPrefixWithTheHostsLogin() {
    List<UsageRecord> usage = new CopyOnWriteArrayList<>();
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin).setUsageSink(usage::add), 2);
    AnthropicClient sdk = com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
        .baseUrl("http://127.0.0.1:" + port + "/ai").apiKey("unused-the-host-decides")
        .putHeader("x-host-user", "alice").maxRetries(0).timeout(Duration.ofSeconds(30)).build();
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(100)
        .addUserMessage("Tell me about event loops.").build();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<RawMessageStreamEvent> stream = sdk.messages().createStreaming(params)) {
      stream.stream().forEach(e -> e.contentBlockDelta().ifPresent(d -> d.delta().text()
          .ifPresent(t -> text.append(t.text()))));
    }
    assertFalse(text.toString().isEmpty());

    // The usage sink gets the call, with the host's user and the simulator's counts.
    waitFor(() -> !usage.isEmpty());
    UsageRecord record = usage.get(0);
    assertEquals("alice", record.userId());
    assertEquals("host-tier", record.tier());
    assertEquals(MODEL, record.model());
    assertEquals("completed", record.outcome());
    assertTrue(record.inputTokens() > 0 && record.outputTokens() > 0);
    assertFalse(record.outputTokensEstimated());

    // The host's limits: another model is refused by the proxy, in the API's words.
    assertThrows(PermissionDeniedException.class, () -> sdk.messages().create(MessageCreateParams.builder()
        .model("claude-opus-4-1").maxTokens(10).addUserMessage("Hi").build()));
  }

  @Test
  void theHostsRefusalsAreAnsweredInTheApisShape() {
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin), 1);
    HttpResponse<String> anonymous = send("POST", "/ai/v1/messages", Map.of(), body());
    assertEquals(401, anonymous.statusCode());
    assertEquals("authentication_error", error(anonymous).getString("type"));
    assertEquals("sign in to the host first", error(anonymous).getString("message"));
    HttpResponse<String> refused = send("POST", "/ai/v1/messages", Map.of("x-host-user", "mallory"), body());
    assertEquals(403, refused.statusCode());
    assertEquals("permission_error", error(refused).getString("type"));
    AnthropicClient sdk = com.anthropic.client.okhttp.AnthropicOkHttpClient.builder()
        .baseUrl("http://127.0.0.1:" + port + "/ai").apiKey("x").maxRetries(0).build();
    assertThrows(UnauthorizedException.class, () -> sdk.messages().create(MessageCreateParams.builder()
        .model(MODEL).maxTokens(10).addUserMessage("Hi").build()));
  }

  @Test
  void theRouterAnswersEverythingUnderItsPrefixAndNothingElse() {
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin), 1);
    Map<String, String> alice = Map.of("x-host-user", "alice");
    assertEquals("host says hello", send("GET", "/hello", Map.of(), null).body());

    HttpResponse<String> models = send("GET", "/ai/v1/models", alice, null);
    assertEquals(200, models.statusCode());
    assertEquals(new JsonArray().add(MODEL), new JsonArray(new JsonObject(models.body()).getJsonArray("data")
        .stream().map(m -> ((JsonObject) m).getString("id")).toList()));
    HttpResponse<String> head = send("HEAD", "/ai/v1/models", alice, null);
    assertEquals(200, head.statusCode());
    assertEquals("", head.body());
    // A model by id goes upstream: the path sent is below the prefix.
    assertEquals(MODEL, new JsonObject(send("GET", "/ai/v1/models/" + MODEL, alice, null).body()).getString("id"));

    HttpResponse<String> wrongMethod = send("GET", "/ai/v1/messages", alice, null);
    assertEquals(405, wrongMethod.statusCode());
    assertEquals("invalid_request_error", error(wrongMethod).getString("type"));
    HttpResponse<String> unknown = send("GET", "/ai/v2/nothing", alice, null);
    assertEquals(404, unknown.statusCode());
    assertEquals("not_found_error", error(unknown).getString("type"));
    HttpResponse<String> options = send("OPTIONS", "/ai/v1/messages", Map.of(), null);
    assertEquals(204, options.statusCode());
    assertTrue(options.headers().firstValue("allow").orElse("").contains("POST"));
    // Outside the prefix, the host's own router answers (its default 404, not the API's shape).
    HttpResponse<String> hostMiss = send("GET", "/v1/models", alice, null);
    assertEquals(404, hostMiss.statusCode());
    assertFalse(hostMiss.body().contains("not_found_error"));

    // The chat page under the prefix, with relative URLs that stay under it.
    HttpResponse<String> page = send("GET", "/ai/", Map.of(), null);
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("src=\"static/chat.js\""), page.body());
    assertFalse(page.body().contains("\"/static/"));
    assertEquals(200, send("GET", "/ai/static/chat.js", Map.of(), null).statusCode());
    assertEquals(200, send("GET", "/ai/webjars/marked/15.0.12/marked.min.js", Map.of(), null).statusCode());

    // Health and metrics where the host mounted them.
    assertEquals(200, send("GET", "/ops/health/ready", Map.of(), null).statusCode());
    HttpResponse<String> metrics = send("GET", "/ops/metrics", Map.of(), null);
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("claude_proxy_"), metrics.body());
  }

  @Test
  void manyEventLoopsServeTheRouterAtOnce() throws Exception {
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin), 4);
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ai/v1/messages"))
          .header("x-host-user", "user-" + i).header("content-type", "application/json")
          .POST(HttpRequest.BodyPublishers.ofString(body().put("stream", true).encode())).build();
      calls.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> call : calls) {
      HttpResponse<String> response = call.get();
      assertEquals(200, response.statusCode(), response.body());
      assertTrue(response.body().contains("event: message_stop"), response.body());
    }
  }

  @Test
  void theHostsMeterRegistryGetsTheMetersAndMetricsAreNotServedWithoutPrometheus() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin).setMeterRegistry(registry), 1);
    assertEquals(200, send("POST", "/ai/v1/messages", Map.of("x-host-user", "alice"), body()).statusCode());
    waitFor(() -> registry.find("claude_proxy_stream_duration").timers().stream().anyMatch(t -> t.count() > 0));
    assertEquals(404, send("GET", "/ops/metrics", Map.of(), null).statusCode());
  }

  @Test
  void closeDrainsAndLeavesTheHostsVertxRunning() {
    start(new ClaudeProxyOptions().setCallerResolver(ClaudeProxyTest::hostLogin)
        .putSetting("PROXY_DRAIN_MS", 200), 1);
    assertEquals(200, send("POST", "/ai/v1/messages", Map.of("x-host-user", "alice"), body()).statusCode());
    await(proxy.close());
    proxy = null;
    assertEquals("host says hello", send("GET", "/hello", Map.of(), null).body());
    HttpResponse<String> after = send("POST", "/ai/v1/messages", Map.of("x-host-user", "alice"), body());
    assertEquals(503, after.statusCode(), after.body());
    assertEquals("api_error", error(after).getString("type"));
    assertTrue(error(after).getString("message").contains("shutting down"), after.body());
  }

  @Test
  void settingsAreTheWholeConfiguration() {
    // No key and no upstream URL: the library simulates nothing of its own accord.
    ClaudeProxy noUpstream = ClaudeProxy.create(vertx, new JsonObject().put("PROXY_USERS", "conf/users.json"));
    Throwable failure = assertThrows(Exception.class, () -> await(noUpstream.start()));
    assertTrue(String.valueOf(failure.getMessage()).contains("ANTHROPIC_API_KEY"), failure.getMessage());
    // No way to tell callers apart.
    ClaudeProxy noCallers = ClaudeProxy.create(vertx, new JsonObject().put("ANTHROPIC_API_KEY", "sk-test"));
    failure = assertThrows(Exception.class, () -> await(noCallers.start()));
    assertTrue(String.valueOf(failure.getMessage()).contains("PROXY_USERS"), failure.getMessage());
    // A bad value names its setting.
    ClaudeProxy bad = ClaudeProxy.create(vertx, new JsonObject().put("ANTHROPIC_API_KEY", "sk-test")
        .put("PROXY_STREAM_CREDIT_BYTES", "lots"));
    failure = assertThrows(Exception.class, () -> await(bad.start()));
    assertTrue(String.valueOf(failure.getMessage()).contains("PROXY_STREAM_CREDIT_BYTES"), failure.getMessage());
    // Before start, there are no routes to mount.
    assertThrows(IllegalStateException.class, noUpstream::router);
  }

  private static int freePort() {
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject body() {
    return new JsonObject().put("model", MODEL).put("max_tokens", 20)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi")));
  }

  private HttpResponse<String> send(String method, String path, Map<String, String> headers, JsonObject body) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(30))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body.encode()));
    if (body != null) {
      request.header("content-type", "application/json");
    }
    headers.forEach(request::header);
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject error(HttpResponse<String> response) {
    JsonObject body = new JsonObject(response.body());
    assertEquals("error", body.getString("type"));
    assertNotNull(body.getJsonObject("error"));
    return body.getJsonObject("error");
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) {
    long deadline = System.currentTimeMillis() + 10_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  private static <T> T await(Future<T> future) {
    return TestStack.await(future);
  }
}
