package dev.claudeproxy.examples.host;

import dev.claudeproxy.ClaudeProxy;
import dev.claudeproxy.ClaudeProxyOptions;
import dev.claudeproxy.ClaudeSimulator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.TimeUnit;

/**
 * An example host application that embeds Claude Stream Proxy: its own Vert.x, its own routes and login
 * ({@link HostVerticle}, {@link HostLogin}), its own usage book ({@link HostUsage}) and meter registry, and the proxy
 * mounted under {@code /ai}.
 *
 * <p>Its configuration (from the environment when run from {@link #main}): {@code ANTHROPIC_API_KEY} (without it,
 * the answers come from a {@link ClaudeSimulator} the host starts), {@code ANTHROPIC_BASE_URL}, {@code HOST_HOST}
 * (127.0.0.1), {@code HOST_PORT} (8080), {@code HOST_INSTANCES} (1), and {@code SIM_*} for the simulator.
 */
public final class HostApp {
  private final Vertx vertx;
  private final ClaudeSimulator simulator;
  private final ClaudeProxy proxy;
  private final PrometheusMeterRegistry registry;
  private final String deploymentId;

  private HostApp(Vertx vertx, ClaudeSimulator simulator, ClaudeProxy proxy, PrometheusMeterRegistry registry,
      String deploymentId) {
    this.vertx = vertx;
    this.simulator = simulator;
    this.proxy = proxy;
    this.registry = registry;
    this.deploymentId = deploymentId;
  }

  /** Starts the host on {@code vertx} with {@code config}; the future fails with the proxy's reason if it cannot. */
  public static Future<HostApp> start(Vertx vertx, JsonObject config) {
    String apiKey = config.getString("ANTHROPIC_API_KEY");
    boolean simulate = apiKey == null || apiKey.isBlank();
    JsonObject simSettings = new JsonObject();
    config.forEach(e -> {
      if (e.getKey().startsWith("SIM_")) {
        simSettings.put(e.getKey(), e.getValue());
      }
    });
    Future<ClaudeSimulator> simulating = simulate ? ClaudeSimulator.start(vertx, simSettings)
        : Future.succeededFuture();
    return simulating.compose(simulator -> {
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      HostLogin login = new HostLogin(registry);
      HostUsage usage = new HostUsage();

      // tag::create[]
      // The settings are the whole configuration: the library reads no environment of its own.
      JsonObject settings = new JsonObject();
      if (simulator != null) {
        settings.put("ANTHROPIC_BASE_URL", simulator.baseUrl());
      } else {
        settings.put("ANTHROPIC_API_KEY", apiKey)
            .put("ANTHROPIC_BASE_URL", config.getString("ANTHROPIC_BASE_URL", "https://api.anthropic.com"));
      }
      ClaudeProxy proxy = ClaudeProxy.create(vertx, new ClaudeProxyOptions()
          .setSettings(settings)
          .setCallerResolver(login::resolve)
          .setUsageSink(usage::record)
          .setMeterRegistry(registry));
      // Started here, outside any verticle, so that its workers are not a verticle's children.
      Future<Void> started = proxy.start();
      // end::create[]

      String host = config.getString("HOST_HOST", "127.0.0.1");
      int port = Integer.parseInt(String.valueOf(config.getValue("HOST_PORT", 8080)));
      int instances = Integer.parseInt(String.valueOf(config.getValue("HOST_INSTANCES", 1)));
      return started
          .compose(v -> vertx.deployVerticle(() -> new HostVerticle(proxy, login, usage, host, port),
              new DeploymentOptions().setInstances(instances)))
          .map(id -> new HostApp(vertx, simulator, proxy, registry, id))
          .recover(failure -> proxy.close()
              .eventually(() -> simulator == null ? Future.succeededFuture() : simulator.close())
              .transform(ignored -> Future.failedFuture(failure)));
    });
  }

  // tag::close[]
  /**
   * Stops the host: the proxy first (it refuses new streams and lets open ones finish, while the host's server is
   * still there to write them), then the host's server, then the simulator. The {@code Vertx} stays open.
   */
  public Future<Void> close() {
    return proxy.close()
        .eventually(() -> vertx.undeploy(deploymentId))
        .eventually(() -> simulator == null ? Future.succeededFuture() : simulator.close())
        .eventually(() -> {
          registry.close();
          return Future.succeededFuture();
        });
  }
  // end::close[]

  /** Whether the answers come from the built-in simulator rather than Claude. */
  public boolean simulated() {
    return simulator != null;
  }

  /** Runs the host until the process is stopped; configuration from the environment (see the class comment). */
  public static void main(String[] args) throws Exception {
    JsonObject config = new JsonObject();
    System.getenv().forEach((name, value) -> {
      if (name.startsWith("ANTHROPIC_") || name.startsWith("HOST_") || name.startsWith("SIM_")) {
        config.put(name, value);
      }
    });
    Vertx vertx = Vertx.vertx();
    HostApp app;
    try {
      app = start(vertx, config).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("The host could not start: " + (e.getCause() == null ? e : e.getCause()).getMessage());
      vertx.close();
      System.exit(1);
      return;
    }
    System.out.printf("Example host on http://%s:%s/ (the proxy under /ai/, health and metrics under /ops/)%s%n",
        config.getString("HOST_HOST", "127.0.0.1"), config.getValue("HOST_PORT", 8080),
        app.simulated() ? "; answers from the built-in simulator, ANTHROPIC_API_KEY is not set" : "");
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        app.close().eventually(vertx::close).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("The host did not stop cleanly: " + e);
      }
    }));
  }
}
