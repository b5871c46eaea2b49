package dev.claudeproxy.http;

import dev.claudeproxy.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.config.ProxyConfig;
import dev.claudeproxy.users.UserDirectory;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP verticle: authenticates callers, checks their requests, and relays streams to and from the workers over
 * the event bus. Runs on an event loop; deploy several instances to use every core.
 */
public final class HttpVerticle extends VerticleBase {
  private static final Logger LOG = Logger.getLogger(HttpVerticle.class.getName());
  private static final String[] FORWARDED = {"anthropic-version", "anthropic-beta"};

  private final ProxyConfig config;
  private final UserDirectory users;
  private final int port;
  private final AtomicInteger boundPort;
  private StreamDispatcher dispatcher;
  private HttpServer server;

  /**
   * @param port the port to listen on (0 for any)
   * @param boundPort receives the port actually bound
   */
  public HttpVerticle(ProxyConfig config, UserDirectory users, int port, AtomicInteger boundPort) {
    this.config = config;
    this.users = users;
    this.port = port;
    this.boundPort = boundPort;
  }

  @Override
  public Future<?> start() {
    dispatcher = new StreamDispatcher(vertx, config.streamCreditBytes(), config.startTimeout().toMillis(),
        config.clientPolicy());
    Router router = router();
    server = vertx.createHttpServer(new HttpServerOptions()
        .setCompressionSupported(false)
        .setTcpNoDelay(true)
        .setHandle100ContinueAutomatically(true)
        .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, config.clientPolicy().idleTimeoutMs()))
        .setIdleTimeoutUnit(TimeUnit.MILLISECONDS));
    server.invalidRequestHandler(HttpVerticle::invalidRequest);
    return dispatcher.listen()
        .compose(v -> server.requestHandler(router).listen(port, config.host()))
        .onSuccess(s -> boundPort.set(s.actualPort()));
  }

  /**
   * Graceful stop: no new connections or streams, open streams run on for up to the drain time, then end with an
   * error event; the server closes once they are gone.
   */
  @Override
  public Future<?> stop() {
    if (server == null || dispatcher == null) {
      return Future.succeededFuture();
    }
    long drainMs = config.clientPolicy().drainMs();
    Future<Void> drained = dispatcher.drain(drainMs);
    Future<Void> shutdown = server.shutdown(drainMs + 5_000, TimeUnit.MILLISECONDS);
    return Future.join(drained, shutdown).eventually(() -> dispatcher.close());
  }

  private Router router() {
    Router router = Router.router(vertx);
    HealthCheckHandler live = HealthCheckHandler.create(vertx)
        .register("event-loop", promise -> promise.complete(Status.OK()));
    HealthCheckHandler ready = HealthCheckHandler.create(vertx)
        .register("stream-workers", 2_000, promise -> vertx.eventBus()
            .request(StreamBus.START_ADDRESS, Buffer.buffer(), new DeliveryOptions().setSendTimeout(1_500)
                .addHeader(StreamBus.H_VERSION, StreamBus.VERSION).addHeader(StreamBus.H_OP, StreamBus.OP_PING))
            .onSuccess(reply -> promise.complete(Status.OK()))
            .onFailure(e -> promise.complete(Status.KO(new JsonObject().put("reason", e.getMessage())))))
        .register("upstream", promise -> promise.complete(Status.OK(new JsonObject()
            .put("url", config.upstreamBaseUrl().toString()).put("simulated", config.simulated()))));
    router.get("/health/live").handler(live);
    router.get("/health/ready").handler(ready);

    Authenticator auth = new Authenticator(users);
    BodyHandler body = BodyHandler.create(false).setBodyLimit(config.maxBodyBytes());
    BodyDeadline deadline = new BodyDeadline(vertx, config.clientPolicy().requestTimeoutMs());
    for (String path : new String[] {"/v1/messages", "/v1/messages/count_tokens", "/v1/chat"}) {
      router.post(path).handler(deadline).handler(body).handler(deadline::arrived);
    }
    router.post("/v1/messages").handler(auth).handler(this::messages);
    router.post("/v1/messages/count_tokens").handler(auth).handler(this::countTokens);
    router.get("/v1/models").handler(auth).handler(this::passThrough);
    router.get("/v1/models/:id").handler(auth).handler(this::passThrough);
    router.post("/v1/chat").handler(auth).handler(this::chat);

    router.errorHandler(400, ctx -> fail(ctx, ApiError.invalidRequest("malformed request")));
    router.errorHandler(404, ctx -> fail(ctx, ApiError.notFound(
        "no route for " + ctx.request().method() + " " + ctx.request().path())));
    router.errorHandler(405, ctx -> fail(ctx, ApiError.methodNotAllowed(
        "method " + ctx.request().method() + " is not allowed on " + ctx.request().path())));
    router.errorHandler(413, ctx -> fail(ctx, ApiError.tooLarge(
        "request body is larger than " + config.maxBodyBytes() + " bytes")));
    router.errorHandler(500, ctx -> {
      LOG.log(Level.SEVERE, "unexpected failure on " + ctx.request().path(), ctx.failure());
      fail(ctx, ApiError.api("internal error in the proxy"));
    });
    return router;
  }

  private void messages(RoutingContext ctx) {
    JsonObject request;
    try {
      request = RequestChecks.jsonBody(ctx);
      RequestChecks.messagesRequest(request);
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    boolean streaming = Boolean.TRUE.equals(request.getValue("stream"));
    dispatcher.start(ctx.response(), Endpoint.MESSAGES, "POST", "/v1/messages", streaming, forwarded(ctx),
        ctx.body().buffer());
  }

  private void countTokens(RoutingContext ctx) {
    try {
      JsonObject request = RequestChecks.jsonBody(ctx);
      RequestChecks.requiredString(request, "model");
      RequestChecks.messages(request, "messages", java.util.Set.of("user", "assistant", "system"));
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    dispatcher.start(ctx.response(), Endpoint.MESSAGES, "POST", "/v1/messages/count_tokens", false,
        forwarded(ctx), ctx.body().buffer());
  }

  private void passThrough(RoutingContext ctx) {
    dispatcher.start(ctx.response(), Endpoint.MESSAGES, "GET", ctx.request().uri(), false, forwarded(ctx),
        Buffer.buffer());
  }

  private void chat(RoutingContext ctx) {
    Buffer upstreamBody;
    try {
      upstreamBody = ChatRequest.toMessagesRequest(RequestChecks.jsonBody(ctx), config).toBuffer();
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    dispatcher.start(ctx.response(), Endpoint.CHAT, "POST", "/v1/messages", true, forwarded(ctx), upstreamBody);
  }

  private Map<String, String> forwarded(RoutingContext ctx) {
    Map<String, String> forward = new LinkedHashMap<>();
    for (String name : FORWARDED) {
      String value = ctx.request().getHeader(name);
      if (value != null) {
        forward.put(name, value);
      }
    }
    if (config.forwardSimHeaders()) {
      ctx.request().headers().forEach(h -> {
        String name = h.getKey().toLowerCase(java.util.Locale.ROOT);
        if (name.startsWith("x-sim-")) {
          forward.put(name, h.getValue());
        }
      });
    }
    return forward;
  }

  /**
   * Requests HTTP itself could not read (a bad request line, an unknown HTTP version, lines or headers too long):
   * a 4xx in the API's shape, never the 501 Netty would give an unknown version, and the connection closed.
   */
  private static void invalidRequest(HttpServerRequest request) {
    Throwable cause = request.decoderResult().cause();
    ApiError error;
    if (cause instanceof io.netty.handler.codec.http.TooLongHttpLineException) {
      error = new ApiError(414, "invalid_request_error", "the request line is too long");
    } else if (cause instanceof io.netty.handler.codec.http.TooLongHttpHeaderException) {
      error = new ApiError(431, "invalid_request_error", "the request headers are too large");
    } else {
      error = ApiError.invalidRequest("malformed HTTP request");
    }
    request.response().putHeader("connection", "close");
    ErrorResponses.send(request.response(), error);
  }

  private static void fail(RoutingContext ctx, ApiError error) {
    ErrorResponses.send(ctx.response(), error);
  }

  /** Streams this instance is relaying now. */
  public int openStreams() {
    return dispatcher.openStreams();
  }
}
