package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.config.ListenPorts;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A running Claude Messages API simulator: a faithful upstream for the official SDKs, with fault injection.
 *
 * <p>It serves {@code POST /v1/messages} (streaming and not), {@code POST /v1/messages/count_tokens},
 * {@code GET /v1/models[/{id}]} and {@code GET /sim/stats}, on {@link SimulatorConfig#instances()} event loops that
 * share one port and one set of counters. Replies are deterministic (see {@link ReplyPlan}); timing follows
 * {@code SIM_TTFT_MS}, {@code SIM_TOKENS_PER_SECOND} and {@code SIM_JITTER}: the response head and message_start
 * go out at once, the first content block after the TTFT.
 *
 * <p>Per-request headers: {@code x-sim-scenario}, {@code x-sim-ttft-ms}, {@code x-sim-tokens-per-second},
 * {@code x-sim-output-tokens}, {@code x-sim-jitter}, {@code x-sim-write} override the configuration;
 * {@code x-sim-should-retry: true|false} is echoed as {@code x-should-retry} on error responses. Bad values get a
 * 400 naming the header.
 *
 * <p>Scenarios ({@link Scenario}):
 * <ul>
 *   <li>{@code overloaded}: 529 overloaded_error; {@code rate_limited}: 429 rate_limit_error (both with
 *       {@code retry-after} = {@code SIM_RETRY_AFTER_S} and {@code retry-after-ms}); {@code server_error}: 500
 *       api_error; {@code fail_then_succeed:N}: the first N attempts of the same request (method, path, body and
 *       the headers that shape the reply, not the SDK's retry counter) get the 529, the next one succeeds and
 *       resets the count. These are the same for streaming and non-streaming requests.</li>
 *   <li>{@code midstream_error}: after {@code SIM_FAULT_AFTER_DELTAS} token deltas an {@code event: error}
 *       (overloaded_error) and the end of the body, no message_stop. {@code disconnect}: the connection is closed
 *       after those deltas, without the chunked terminator. {@code stall}: nothing more after those deltas, the
 *       connection stays open until the client leaves (then counted as cancelled). A reply shorter than the fault
 *       point faults where message_delta would have come.</li>
 *   <li>The same three on a non-streaming request strike when the stream would have reached the fault point
 *       (TTFT plus that many token intervals): {@code midstream_error} answers 529 overloaded_error,
 *       {@code disconnect} closes the connection without a response, {@code stall} never answers.</li>
 *   <li>{@code slow_first_token}: the TTFT becomes {@code SIM_SLOW_FIRST_TOKEN_MS}.</li>
 * </ul>
 */
public final class Simulator {
  private final Vertx vertx;
  private final SimulatorConfig config;
  private final SimulatorStats stats;
  private final int port;
  private final String deploymentId;

  private Simulator(Vertx vertx, SimulatorConfig config, SimulatorStats stats, int port, String deploymentId) {
    this.vertx = vertx;
    this.config = config;
    this.stats = stats;
    this.port = port;
    this.deploymentId = deploymentId;
  }

  /** Deploys the server verticles; completes once the port is bound. */
  public static Future<Simulator> start(Vertx vertx, SimulatorConfig config) {
    SimulatorStats stats = new SimulatorStats();
    AttemptTracker attempts = new AttemptTracker(10_000, 10 * 60_000L);
    int bindPort = ListenPorts.bindPort(config.port());
    Queue<SimulatorVerticle> verticles = new ConcurrentLinkedQueue<>();
    return vertx.deployVerticle(() -> {
      SimulatorVerticle v = new SimulatorVerticle(config, bindPort, stats, attempts);
      verticles.add(v);
      return v;
    }, new DeploymentOptions().setInstances(config.instances()))
        .map(id -> new Simulator(vertx, config, stats, verticles.peek().actualPort(), id));
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
    return vertx.undeploy(deploymentId);
  }
}
