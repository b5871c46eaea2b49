package dev.claudeproxy.examples.host;

import dev.claudeproxy.Caller;
import dev.claudeproxy.ClaudeProxy;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The host's HTTP server: its own landing page, login and API, with the proxy mounted under {@code /ai} (the chat
 * page and the Messages API) and the proxy's health and metrics under {@code /ops}. Any number of instances may run
 * (one per event loop); they share the proxy, the login and the usage book.
 */
public final class HostVerticle extends VerticleBase {
  private final ClaudeProxy proxy;
  private final HostLogin login;
  private final HostUsage usage;
  private final String host;
  private final int port;

  /** A server on {@code host}:{@code port} in front of {@code proxy}, with {@code login} and {@code usage}. */
  public HostVerticle(ClaudeProxy proxy, HostLogin login, HostUsage usage, String host, int port) {
    this.proxy = proxy;
    this.login = login;
    this.usage = usage;
    this.host = host;
    this.port = port;
  }

  @Override
  public Future<?> start() {
    // tag::mount[]
    Router router = Router.router(vertx);
    // The host's own routes.
    router.get("/").handler(ctx -> ctx.response().putHeader("content-type", "text/html; charset=utf-8")
        .sendFile("dev/claudeproxy/examples/host/index.html"));
    router.post("/login").handler(BodyHandler.create().setBodyLimit(4096)).handler(login::login);
    router.get("/api/me").handler(this::me);
    router.get("/api/usage").handler(this::usage);
    // The proxy under /ai: the chat page first, then the API, whose router answers everything else under /ai
    // (404 and 405 in the Anthropic error shape).
    router.route("/ai/*").subRouter(proxy.chatPage());
    router.route("/ai/*").subRouter(proxy.router());
    // Health and metrics, where operators look.
    router.route("/ops/*").subRouter(proxy.managementRouter());
    // end::mount[]
    // StreamClient: added when the client lands (a route of the host's own that streams through a verticle of its
    // own, which starts streams over the event bus with the proxy's Java client instead of HTTP).
    return vertx.createHttpServer().requestHandler(router).listen(port, host);
  }

  private void me(RoutingContext ctx) {
    Caller caller = login.callerOf(ctx);
    if (caller == null) {
      HostLogin.reply(ctx, 401, new JsonObject().put("error", "sign in first: POST /login"));
      return;
    }
    HostLogin.reply(ctx, 200, new JsonObject().put("user", caller.userId()).put("tier", caller.tier())
        .put("models", caller.limits().models()));
  }

  private void usage(RoutingContext ctx) {
    Caller caller = login.callerOf(ctx);
    if (caller == null) {
      HostLogin.reply(ctx, 401, new JsonObject().put("error", "sign in first: POST /login"));
      return;
    }
    HostLogin.reply(ctx, 200, usage.of(caller.userId()));
  }
}
