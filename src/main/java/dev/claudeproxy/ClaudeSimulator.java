package dev.claudeproxy;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * The built-in Claude simulator on its own: a faithful Messages API upstream (streams, tools, thinking, errors,
 * faults) on a loopback port, for a host's tests and load tests. Point {@code ANTHROPIC_BASE_URL} (of a
 * {@link ClaudeProxy}, or of an SDK) at {@link #baseUrl()}.
 *
 * <p>Settings by the names of the simulator's environment ({@code SIM_TTFT_MS}, {@code SIM_TOKENS_PER_SECOND},
 * {@code SIM_OUTPUT_TOKENS}, {@code SIM_SCENARIO}, ...; see the README). It listens on {@code SIM_HOST} (default
 * 127.0.0.1) and {@code SIM_PORT} (default 0: a free port).
 */
public final class ClaudeSimulator {
  private final Simulator simulator;

  private ClaudeSimulator(Simulator simulator) {
    this.simulator = simulator;
  }

  /**
   * Starts a simulator on {@code vertx} with {@code settings}.
   *
   * @param vertx the Vert.x to run it on
   * @param settings the simulator's settings ({@code SIM_*})
   * @return a future of the simulator once it listens; failed when a setting is wrong or the port cannot be bound
   */
  public static Future<ClaudeSimulator> start(Vertx vertx, JsonObject settings) {
    Settings s = new Settings(settings);
    SimulatorConfig config;
    try {
      config = SimulatorConfig.from(s).withHost(s.string(SimulatorConfig.HOST, "127.0.0.1"))
          .withPort((int) s.longInRange(SimulatorConfig.PORT, 0, 0, 65535));
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    return Simulator.start(vertx, config).map(ClaudeSimulator::new);
  }

  /**
   * Where it listens, e.g. {@code http://127.0.0.1:41234}.
   *
   * @return the base URL
   */
  public String baseUrl() {
    return simulator.baseUrl();
  }

  /**
   * The port it listens on.
   *
   * @return the port
   */
  public int port() {
    return simulator.port();
  }

  /**
   * Stops it; the {@code Vertx} stays open.
   *
   * @return a future that completes once it is stopped
   */
  public Future<Void> close() {
    return simulator.close();
  }
}
