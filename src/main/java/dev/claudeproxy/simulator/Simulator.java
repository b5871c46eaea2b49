package dev.claudeproxy.simulator;

import dev.claudeproxy.config.Settings;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * A running Claude Messages API simulator: a faithful upstream for the official SDKs, with fault injection.
 *
 * <p>It serves {@code POST /v1/messages} (streaming and not), {@code POST /v1/messages/count_tokens},
 * {@code GET /v1/models[/{id}]} and {@code GET /sim/stats}, on {@link SimulatorConfig#instances()} event loops that
 * share one port and one set of counters.
 */
public final class Simulator {
  private final Vertx vertx;
  private final SimulatorConfig config;
  private final SimulatorStats stats;
  private final int port;
  private final String firstDeployment;
  private final String otherDeployments;

  private Simulator(Vertx vertx, SimulatorConfig config, SimulatorStats stats, int port, String firstDeployment,
      String otherDeployments) {
    this.vertx = vertx;
    this.config = config;
    this.stats = stats;
    this.port = port;
    this.firstDeployment = firstDeployment;
    this.otherDeployments = otherDeployments;
  }

  /** Deploys the server verticles; completes once the port is bound. */
  public static Future<Simulator> start(Vertx vertx, SimulatorConfig config) {
    SimulatorStats stats = new SimulatorStats();
    AttemptTracker attempts = new AttemptTracker(10_000, 10 * 60_000L);
    // The first instance binds (possibly a random port); the others then join that same port, so that port 0
    // still yields one shared listener.
    SimulatorVerticle first = new SimulatorVerticle(config, stats, attempts);
    return vertx.deployVerticle(first).compose(firstId -> {
      int port = first.actualPort();
      if (config.instances() == 1) {
        return Future.succeededFuture(new Simulator(vertx, config, stats, port, firstId, null));
      }
      SimulatorConfig bound = config.withPort(port);
      return vertx.deployVerticle(() -> new SimulatorVerticle(bound, stats, attempts),
              new DeploymentOptions().setInstances(config.instances() - 1))
          .map(otherId -> new Simulator(vertx, config, stats, port, firstId, otherId))
          .recover(err -> vertx.undeploy(firstId).transform(ignored -> Future.failedFuture(err)));
    });
  }

  public int port() {
    return port;
  }

  /** {@code http://<host>:<port>}, with the host as configured. */
  public String baseUrl() {
    String host = config.host();
    if (host.contains(":") && !host.startsWith("[")) {
      host = "[" + host + "]";
    }
    return "http://" + host + ":" + port;
  }

  public SimulatorConfig config() {
    return config;
  }

  public SimulatorStats stats() {
    return stats;
  }

  /**
   * Runs a simulator on its own, configured from {@code SIM_*} environment variables (and {@code -DSIM_...}
   * system properties), until the process is stopped. The project's CLI is the usual way in; this is for quick
   * manual runs.
   */
  public static void main(String[] args) {
    JsonObject values = new JsonObject();
    System.getenv().forEach((k, v) -> {
      if (k.startsWith("SIM_")) {
        values.put(k, v);
      }
    });
    System.getProperties().forEach((k, v) -> {
      if (k.toString().startsWith("SIM_")) {
        values.put(k.toString(), v.toString());
      }
    });
    SimulatorConfig config = SimulatorConfig.from(new Settings(values));
    Vertx vertx = Vertx.vertx();
    start(vertx, config)
        .onSuccess(sim -> System.out.println("Claude API simulator listening on " + sim.baseUrl() + " " + config))
        .onFailure(err -> {
          System.err.println("Simulator failed to start: " + err.getMessage());
          vertx.close();
        });
  }

  /** Stops listening and closes open connections. */
  public Future<Void> close() {
    Future<Void> others = otherDeployments == null ? Future.succeededFuture() : vertx.undeploy(otherDeployments);
    return others.eventually(() -> vertx.undeploy(firstDeployment));
  }
}
