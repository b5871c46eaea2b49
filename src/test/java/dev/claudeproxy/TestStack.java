package dev.claudeproxy;

import dev.claudeproxy.internal.server.ProxyServer;
import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.UsersFile;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
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
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A real proxy on a loopback port in front of a real simulator on another, as the tests' world. The simulator
 * demands {@link #UPSTREAM_KEY}, so every answer that gets through proves the proxy sent the server's key.
 */
public final class TestStack implements AutoCloseable {
  public static final String UPSTREAM_KEY = "sk-ant-upstream-key-for-tests";

  public final Vertx vertx;
  /** Null for a stack in front of a hand-written upstream ({@link #inFrontOf}). */
  public final Simulator simulator;
  public final ProxyServer proxy;
  public final String callerKey;
  private final Path dir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private TestStack(Vertx vertx, Simulator simulator, ProxyServer proxy, String callerKey, Path dir) {
    this.vertx = vertx;
    this.simulator = simulator;
    this.proxy = proxy;
    this.callerKey = callerKey;
    this.dir = dir;
  }

  /** Settings shared by both halves; {@code overrides} replace any of them. */
  public static Settings settings(Map<String, Object> overrides) {
    JsonObject json = new JsonObject()
        .put("SIM_HOST", "127.0.0.1")
        .put("SIM_PORT", 0)
        .put("SIM_API_KEY", UPSTREAM_KEY)
        .put("SIM_TTFT_MS", 0)
        .put("SIM_TOKENS_PER_SECOND", 0)
        .put("SIM_JITTER", 0)
        .put("SIM_OUTPUT_TOKENS", 40)
        .put("SIM_RETRY_AFTER_S", 0)
        .put("PROXY_HOST", "127.0.0.1")
        .put("PROXY_PORT", 0)
        .put("PROXY_HTTP_INSTANCES", 2)
        .put("PROXY_WORKER_INSTANCES", 2)
        .put("ANTHROPIC_API_KEY", UPSTREAM_KEY)
        .put("PROXY_FORWARD_SIM_HEADERS", true)
        .put("PROXY_MAX_BODY_BYTES", 65536)
        .put("PROXY_DRAIN_MS", 100);
    overrides.forEach(json::put);
    return new Settings(json);
  }

  public static TestStack start() {
    return start(Map.of());
  }

  public static TestStack start(Map<String, Object> overrides) {
    Vertx vertx = Vertx.vertx();
    return start(vertx, overrides, base -> await(Simulator.start(vertx, SimulatorConfig.from(base))));
  }

  /**
   * A simulator and a proxy before it on {@code vertx}, which may already run others (two proxies side by side).
   * Closing the stack closes {@code vertx}.
   */
  public static TestStack start(Vertx vertx, Map<String, Object> overrides) {
    return start(vertx, overrides, base -> await(Simulator.start(vertx, SimulatorConfig.from(base))));
  }

  /**
   * The proxy alone on {@code vertx}, in front of a hand-written upstream listening there on {@code upstreamPort}:
   * for what the faithful simulator never does. Its {@link #simulator} is null.
   */
  public static TestStack inFrontOf(Vertx vertx, int upstreamPort) {
    return inFrontOf(vertx, upstreamPort, Map.of());
  }

  /** {@link #inFrontOf(Vertx, int)} with {@code overrides} of the settings. */
  public static TestStack inFrontOf(Vertx vertx, int upstreamPort, Map<String, Object> overrides) {
    Map<String, Object> all = new java.util.HashMap<>(overrides);
    all.put("ANTHROPIC_BASE_URL", "http://127.0.0.1:" + upstreamPort);
    return start(vertx, all, base -> null);
  }

  /** A caller's key, users file and journal in a temporary folder, then the upstream, then the proxy before it. */
  private static TestStack start(Vertx vertx, Map<String, Object> overrides, Function<Settings, Simulator> upstream) {
    try {
      Path dir = Files.createTempDirectory("csp-test");
      String callerKey = ApiKeys.generate();
      Path users = dir.resolve("users.json");
      UsersFile.addKey(users, "tester", callerKey);
      Settings base = settings(overrides).with("PROXY_USERS", users.toString())
          .with("PROXY_USAGE_FILE", dir.resolve("usage.jsonl").toString());
      if (overrides.containsKey("PROXY_USERS")) {
        base = base.with("PROXY_USERS", overrides.get("PROXY_USERS"));
      }
      Simulator sim = upstream.apply(base);
      ProxyServer proxy = await(ProxyServer.start(vertx,
          sim == null ? base : base.with("ANTHROPIC_BASE_URL", sim.baseUrl())));
      return new TestStack(vertx, sim, proxy, callerKey, dir);
    } catch (IOException e) {
      vertx.close();
      throw new IllegalStateException(e);
    } catch (RuntimeException e) {
      vertx.close();
      throw e;
    }
  }

  public static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("did not complete: " + e.getMessage(), e);
    }
  }

  public String proxyUrl() {
    return "http://127.0.0.1:" + proxy.port();
  }

  public String simulatorUrl() {
    return simulator.baseUrl();
  }

  /** The official SDK pointed at the proxy with the caller's key. */
  public AnthropicClient viaProxy(int maxRetries) {
    return sdk(proxyUrl(), callerKey, maxRetries);
  }

  /** The official SDK pointed straight at the simulator with the upstream key. */
  public AnthropicClient direct(int maxRetries) {
    return sdk(simulatorUrl(), UPSTREAM_KEY, maxRetries);
  }

  public static AnthropicClient sdk(String baseUrl, String key, int maxRetries) {
    return AnthropicOkHttpClient.builder().baseUrl(baseUrl).apiKey(key).maxRetries(maxRetries)
        .timeout(Duration.ofSeconds(30)).build();
  }

  /** A raw POST with the caller's key; the whole body is read. */
  public HttpResponse<String> post(String path, String body, Map<String, String> headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(proxyUrl() + path))
        .timeout(Duration.ofSeconds(30))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(request::header);
    return send(request.build());
  }

  public HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The sum of a meter's samples on the proxy's {@code /metrics}: {@code series} is its name, or its name and the
   * labels the samples must have ({@code name{result="ok"}}); 0 when there is none.
   */
  public double metric(String series) {
    String text = send(HttpRequest.newBuilder(URI.create(proxyUrl() + "/metrics")).build()).body();
    int brace = series.indexOf('{');
    String name = brace < 0 ? series : series.substring(0, brace);
    java.util.List<String> labels = brace < 0 ? java.util.List.of()
        : java.util.List.of(series.substring(brace + 1, series.length() - 1).split(","));
    double sum = 0;
    for (String line : text.split("\n")) {
      if ((line.startsWith(name + " ") || line.startsWith(name + "{")) && labels.stream().allMatch(line::contains)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  }

  /** The usage journal of the proxy. */
  public Path usageFile() {
    return dir.resolve("usage.jsonl");
  }

  public HttpClient http() {
    return http;
  }

  /** The caller's key and the JSON content type, plus {@code extra}. */
  public Map<String, String> jsonHeaders(Map<String, String> extra) {
    java.util.Map<String, String> h = new java.util.LinkedHashMap<>();
    h.put("content-type", "application/json");
    h.put("x-api-key", callerKey);
    h.put("anthropic-version", "2023-06-01");
    h.putAll(extra);
    return h;
  }

  @Override
  public void close() {
    await(vertx.close());
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temp dir left behind is harmless
    }
  }
}
