package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import io.vertx.core.Future;
import java.util.function.BooleanSupplier;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Metrics and health on a port of their own ({@code PROXY_MANAGEMENT_PORT}, bound to {@code PROXY_MANAGEMENT_HOST}),
 * apart from the API that callers reach. One instance is enough: scrapes and probes are few.
 */
public final class ManagementVerticle extends VerticleBase {
  private final ProxyConfig config;
  private final ProxyMetrics metrics;
  private final BooleanSupplier draining;
  private final boolean httpSide;
  private final int port;
  private final AtomicInteger boundPort;

  /**
   * @param draining whether the node is stopping (readiness is down then)
   * @param httpSide whether the node serves the API (its readiness needs a stream worker)
   * @param port the port to listen on
   * @param boundPort receives the port actually bound
   */
  public ManagementVerticle(ProxyConfig config, ProxyMetrics metrics, BooleanSupplier draining, boolean httpSide,
      int port, AtomicInteger boundPort) {
    this.config = config;
    this.metrics = metrics;
    this.draining = draining;
    this.httpSide = httpSide;
    this.port = port;
    this.boundPort = boundPort;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    // Probes often use HEAD; the connection writes the GET's head without its body.
    router.route().method(HttpMethod.HEAD).handler(ctx -> ctx.reroute(HttpMethod.GET, ctx.request().uri()));
    Management.routes(vertx, router, config, metrics, true, draining, httpSide);
    return vertx.createHttpServer(new HttpServerOptions().setCompressionSupported(false))
        .requestHandler(router)
        .listen(port, config.edges().managementHost())
        .onSuccess(server -> boundPort.set(server.actualPort()));
  }
}
