package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.VertxInternals;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The server's HTTP verticle: an HTTP server of its own serving the API routes ({@link ProxyRoutes}) at the root,
 * with the chat page and, unless they have a port of their own, health and metrics. Runs on an event loop; deploy
 * several instances to use every core. A host application does without it: it mounts {@link ProxyRoutes#router()}
 * in its own server.
 */
public final class HttpVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(HttpVerticle.class.getName());

  private final ProxyConfig config;
  private final ProxyRoutes routes;
  private final NodeServices services;
  private final int port;
  private final AtomicInteger boundPort;
  private final BooleanSupplier draining;
  private HttpServer server;

  /**
   * @param routes the API routes, shared by all instances
   * @param port the port to listen on (0 for any)
   * @param boundPort receives the port actually bound
   * @param draining whether the node is stopping (readiness is down then)
   */
  public HttpVerticle(ProxyConfig config, ProxyRoutes routes, NodeServices services, int port,
      AtomicInteger boundPort, BooleanSupplier draining) {
    this.draining = draining;
    this.config = config;
    this.routes = routes;
    this.services = services;
    this.port = port;
    this.boundPort = boundPort;
  }

  @Override
  public Future<?> start() {
    Router router = router();
    server = vertx.createHttpServer(new HttpServerOptions()
        .setCompressionSupported(false)
        // Every response is written on this verticle's event loop (bus consumers, routes and timers all run on
        // its context), so a connection needs no thread-safe outbound queue: a plain write is cheaper and saves
        // the queue's 4 KB array per connection.
        .setStrictThreadMode(true)
        // No WebSocket routes: keep their extension handler out of every connection's pipeline.
        .setPerMessageWebSocketCompressionSupported(false)
        .setPerFrameWebSocketCompressionSupported(false)
        .setTcpNoDelay(true)
        .setHandle100ContinueAutomatically(true)
        .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, config.clientPolicy().idleTimeoutMs()))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
    server.invalidRequestHandler(HttpVerticle::invalidRequest);
    // This instance's bus inbox is opened now, so that its first stream does not wait for it.
    return routes.dispatchers().prepare()
        .compose(v -> server.requestHandler(router).listen(port, config.host()))
        .onSuccess(s -> boundPort.set(s.actualPort()));
  }

  /**
   * Graceful stop: no new connections or streams, open streams run on for up to the drain time, then end with an
   * error event; the server closes once they are gone.
   */
  @Override
  public Future<?> stop() {
    if (server == null) {
      return Future.succeededFuture();
    }
    long drainMs = config.clientPolicy().drainMs();
    Future<Void> drained = routes.dispatchers().drainCurrent(drainMs);
    Future<Void> shutdown = server.shutdown(drainMs + 5_000, TimeUnit.MILLISECONDS);
    return Future.join(drained, shutdown);
  }

  private Router router() {
    Router router = Router.router(vertx);
    router.route().handler(ProxyRoutes.beginAccess(services.accessLog()));
    // HEAD as the GET of the same path, OPTIONS naming a path's methods: here for the page and the operator's
    // endpoints; the API's own router does the same for its paths.
    router.route().handler(CrossOrigin.headAndOptions(router));
    ChatPage.addRoutes(router);
    if (!config.edges().separateManagement()) {
      Management.routes(vertx, router, config, services.metrics(), false, draining, true);
    }
    // The API answers everything else, its 404s and 405s included.
    router.route("/*").subRouter(routes.router());
    router.errorHandler(404, ctx -> fail(ctx, ApiError.notFound(
        "no route for " + ctx.request().method() + " " + ctx.request().path())));
    router.errorHandler(405, ctx -> fail(ctx, ApiError.methodNotAllowed(
        "method " + ctx.request().method() + " is not allowed on " + ctx.request().path())));
    router.errorHandler(500, ctx -> {
      LOG.log(Level.SEVERE, "unexpected failure on " + ctx.request().path(), ctx.failure());
      fail(ctx, ApiError.api("internal error in the proxy"));
    });
    return router;
  }

  /**
   * Requests HTTP itself could not read (a bad request line, an unknown HTTP version, lines or headers too long):
   * a 4xx in the API's shape, never the 501 Netty would give an unknown version, and the connection closed.
   */
  private static void invalidRequest(HttpServerRequest request) {
    ApiError error = switch (VertxInternals.decodeFailure(request)) {
      case LINE_TOO_LONG -> new ApiError(414, "invalid_request_error", "the request line is too long");
      case HEADERS_TOO_LARGE -> new ApiError(431, "invalid_request_error", "the request headers are too large");
      case OTHER -> ApiError.invalidRequest("malformed HTTP request");
    };
    request.response().putHeader("connection", "close");
    ErrorResponses.send(request.response(), error);
  }

  private static void fail(RoutingContext ctx, ApiError error) {
    ProxyRoutes.fail(ctx, error);
  }
}
