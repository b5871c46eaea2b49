package dev.claudeproxy.examples.host;

import dev.claudeproxy.Caller;
import dev.claudeproxy.ClaudeProxy;
import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.ClaudeStreamException;
import dev.claudeproxy.StreamClient;
import dev.claudeproxy.StreamRequest;
import io.vertx.core.Future;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.VerticleBase;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;

/**
 * The host's HTTP server: its own landing page, login and API, with the proxy mounted under {@code /ai} (the chat
 * page and the Messages API) and the proxy's health and metrics under {@code /ops}. Any number of instances may run
 * (one per event loop); they share the proxy, the login and the usage book.
 *
 * <p>{@code POST /api/ask} is the host's own streaming endpoint: it starts the stream from this verticle through
 * {@link StreamClient}, the proxy's Java client of the event-bus contract, with no HTTP between the host and the
 * proxy's stream workers, and streams the answer's text to the browser as it comes.
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
    // The host's own streaming endpoint, through the proxy's Java client of the bus contract. The client belongs to
    // this verticle: undeploying it cancels the streams it started.
    StreamClient client = StreamClient.create(vertx);
    router.post("/api/ask").handler(BodyHandler.create().setBodyLimit(64 * 1024)).handler(ctx -> ask(client, ctx));
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

  /**
   * {@code POST /api/ask} with {@code {"prompt": "..."}}: the answer's text, streamed as it comes ({@code text/plain},
   * chunked). A reader that falls behind pauses the stream, so the worker gets no more credit until it catches up; a
   * reader that leaves cancels the upstream call; a stream that breaks resets the response rather than end it
   * cleanly.
   */
  private void ask(StreamClient client, RoutingContext ctx) {
    Caller caller = login.callerOf(ctx);
    if (caller == null) {
      HostLogin.reply(ctx, 401, new JsonObject().put("error", "sign in first: POST /login"));
      return;
    }
    JsonObject request = ctx.body().asJsonObject();
    String prompt = request == null ? null : request.getString("prompt");
    if (prompt == null || prompt.isBlank()) {
      HostLogin.reply(ctx, 400, new JsonObject().put("error", "a JSON body with a prompt is required"));
      return;
    }
    JsonObject body = new JsonObject().put("model", caller.limits().models() == null ? "claude-sonnet-4-6"
        : caller.limits().models().get(0)).put("max_tokens", 256)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt)));
    client.messages(StreamRequest.of(body).setUser(caller.userId()).setTier(caller.tier())).onComplete(started -> {
      HttpServerResponse response = ctx.response();
      if (started.failed()) {
        int status = started.cause() instanceof ClaudeStreamException e ? e.status() : 502;
        HostLogin.reply(ctx, status, new JsonObject().put("error", started.cause().getMessage()));
        return;
      }
      ClaudeStream stream = started.result();
      response.setChunked(true).putHeader("content-type", "text/plain; charset=utf-8");
      response.closeHandler(v -> stream.cancel());
      stream.handler(event -> {
        if ("content_block_delta".equals(event.name())) {
          response.write(event.json().getJsonObject("delta").getString("text", ""));
          if (response.writeQueueFull()) {
            stream.pause();
            response.drainHandler(v -> stream.resume());
          }
        }
      });
      stream.exceptionHandler(failure -> response.reset());
      stream.endHandler(v -> response.end());
    });
  }
}
