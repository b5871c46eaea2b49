package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.Future;
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
  private final NodeServices services;
  private final AtomicInteger boundPort;

  /** @param boundPort receives the port actually bound */
  public ManagementVerticle(ProxyConfig config, NodeServices services, AtomicInteger boundPort) {
    this.config = config;
    this.services = services;
    this.boundPort = boundPort;
  }

  @Override
  public Future<?> start() {
    Router router = Router.router(vertx);
    // Probes often use HEAD; the connection writes the GET's head without its body.
    router.route().method(HttpMethod.HEAD).handler(ctx -> ctx.reroute(HttpMethod.GET, ctx.request().uri()));
    Management.routes(vertx, router, config, services, true);
    return vertx.createHttpServer(new HttpServerOptions().setCompressionSupported(false))
        .requestHandler(router)
        .listen(config.edges().managementPort(), config.edges().managementHost())
        .onSuccess(server -> boundPort.set(server.actualPort()));
  }
}
