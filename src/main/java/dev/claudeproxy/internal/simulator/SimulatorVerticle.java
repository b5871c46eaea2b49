package dev.claudeproxy.internal.simulator;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;

/** One event loop's HTTP server for the simulator; all logic lives in {@link SimulatorApi}. */
final class SimulatorVerticle extends VerticleBase {
  private final SimulatorConfig config;
  private final int bindPort;
  private final SimulatorStats stats;
  private final AttemptTracker attempts;
  private HttpServer server;

  /** {@code bindPort} is the configured port, or a negative one for a random port shared by all instances. */
  SimulatorVerticle(SimulatorConfig config, int bindPort, SimulatorStats stats, AttemptTracker attempts) {
    this.config = config;
    this.bindPort = bindPort;
    this.stats = stats;
    this.attempts = attempts;
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(config.host())
        .setPort(bindPort)
        .setTcpNoDelay(true)
        // Thousands of clients may connect at once in load tests.
        .setAcceptBacklog(16_384)
        // Streams can sit idle for a long time (slow_first_token, stall); never time them out here.
        .setIdleTimeout(0)
        .setCompressionSupported(false)
        .setHttp2RstFloodMaxRstFramePerWindow(config.h2ResetLimit());
    server = vertx.createHttpServer(options)
        .requestHandler(new SimulatorApi(vertx, config, stats, attempts).router());
    return server.listen();
  }

  int actualPort() {
    return server.actualPort();
  }
}
