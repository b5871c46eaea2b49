package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.users.Caller;
import dev.claudeproxy.internal.users.Limiter;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.StaticHandler;
import java.util.List;
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
  private static final CharSequence REQUEST_ID = HttpHeaders.createOptimized("request-id");
  private static final String[] FORWARDED = {"anthropic-version", "anthropic-beta"};
  /** The same names as ASCII strings, whose hash is kept, to look them up by. */
  private static final CharSequence[] FORWARDED_NAMES = {HttpHeaders.createOptimized(FORWARDED[0]),
      HttpHeaders.createOptimized(FORWARDED[1])};

  private static final String ACCESS = "claude-proxy.access";
  /** Set on a request handed to a stream, whose access line the stream writes once its usage is known. */
  private static final String STREAMED = "claude-proxy.streamed";
  private static final int USAGE_DAYS_DEFAULT = 30;
  private static final String PAGE_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
      + "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

  private final ProxyConfig config;
  private final NodeServices services;
  private final int port;
  private final AtomicInteger boundPort;
  private StreamDispatcher dispatcher;
  private HttpServer server;

  /**
   * @param port the port to listen on (0 for any)
   * @param boundPort receives the port actually bound
   */
  public HttpVerticle(ProxyConfig config, NodeServices services, int port, AtomicInteger boundPort) {
    this.config = config;
    this.services = services;
    this.port = port;
    this.boundPort = boundPort;
  }

  @Override
  public Future<?> start() {
    dispatcher = new StreamDispatcher(vertx, config.bus(), config.streamCreditBytes(),
        config.startTimeout().toMillis(), config.clientPolicy(), services);
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
    router.route().handler(this::beginAccess);
    if (!config.edges().corsOrigins().isEmpty()) {
      router.route().handler(CrossOrigin.handler(config.edges().corsOrigins()));
    }
    // HEAD is answered as the GET of the same path (Claude Code sends HEAD / at every start): the connection knows
    // the request was a HEAD and writes the GET's head without its body. OPTIONS names a path's methods. Both are
    // taken here rather than by routes of their own, which would turn every unknown path's 404 into a 405.
    Handler<RoutingContext> options = CrossOrigin.options(router);
    router.route().handler(ctx -> {
      if (ctx.request().method() == HttpMethod.HEAD) {
        ctx.reroute(HttpMethod.GET, ctx.request().uri());
      } else if (ctx.request().method() == HttpMethod.OPTIONS) {
        options.handle(ctx);
      } else {
        ctx.next();
      }
    });
    // The chat page, and the markdown and sanitising libraries it uses, from the jar.
    router.get("/").handler(ctx -> ctx.reroute("/static/index.html"));
    router.get("/static/*").handler(HttpVerticle::pageHeaders).handler(StaticHandler.create("dev/claudeproxy/internal/webroot")
        .setCachingEnabled(false).setDefaultContentEncoding("UTF-8"));
    router.get("/webjars/*").handler(HttpVerticle::pageHeaders)
        .handler(StaticHandler.create("META-INF/resources/webjars").setMaxAgeSeconds(86_400));
    if (!config.edges().separateManagement()) {
      Management.routes(vertx, router, config, services, false);
    }

    Authenticator auth = new Authenticator(services.users(), services.tokens(), services.metrics());
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
    router.get("/v1/chat/config").handler(auth).handler(this::chatConfig);
    router.get("/v1/usage").handler(auth).handler(this::usage);

    router.errorHandler(400, ctx -> fail(ctx, ApiError.invalidRequest("malformed request")));
    // CORS refuses an origin not configured with a 403; nothing else here fails with one but a static file's refusal.
    router.errorHandler(403, ctx -> fail(ctx, ApiError.permission(ctx.request().getHeader("origin") == null
        ? "forbidden" : "origin " + ctx.request().getHeader("origin")
            + " may not call this API from a browser (PROXY_CORS_ORIGINS)")));
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

  /** Opens the request's access-log line; it is written when the response ends, or by its stream. */
  private void beginAccess(RoutingContext ctx) {
    if (ctx.get(ACCESS) != null) {
      // A HEAD rerouted as GET: its line is open already.
      ctx.next();
      return;
    }
    AccessLog.Entry entry = new AccessLog.Entry(ErrorResponses.newRequestId(), ctx.request().method().name(),
        ctx.request().path());
    ctx.put(ACCESS, entry);
    ctx.response().putHeader(REQUEST_ID, entry.requestId());
    ctx.addEndHandler(v -> {
      if (!Boolean.TRUE.equals(ctx.get(STREAMED))) {
        AccessLog.write(entry.put("status", ctx.response().getStatusCode())
            .put("outcome", ctx.response().getStatusCode() < 400 ? "completed" : "rejected"));
      }
    });
    ctx.next();
  }

  private static AccessLog.Entry access(RoutingContext ctx) {
    return ctx.get(ACCESS);
  }

  private void messages(RoutingContext ctx) {
    JsonBody body;
    try {
      body = RequestChecks.body(ctx);
      RequestChecks.messagesRequest(body.json());
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    admitAndStream(ctx, body, Endpoint.MESSAGES, Boolean.TRUE.equals(body.json().getValue("stream")));
  }

  /** A Messages request from a caller: checked against the caller's limits, shaped, and sent to a worker. */
  private void admitAndStream(RoutingContext ctx, JsonBody request, Endpoint endpoint, boolean streaming) {
    Caller caller = Authenticator.caller(ctx);
    String model = request.json().getString("model");
    Runnable release = admit(ctx, caller, model);
    if (release == null) {
      return;
    }
    Buffer body = RequestShaper.upstreamBody(request, caller, services.userIdSecret(), true);
    dispatch(ctx, caller, endpoint, "POST", "/v1/messages", streaming, body, model, release);
  }

  private void countTokens(RoutingContext ctx) {
    JsonBody body;
    JsonObject request;
    try {
      body = RequestChecks.body(ctx);
      request = body.json();
      RequestChecks.requiredString(request, "model");
      RequestChecks.messages(request, "messages", java.util.Set.of("user", "assistant", "system"));
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    Caller caller = Authenticator.caller(ctx);
    if (!modelAllowed(ctx, caller, request.getString("model"))) {
      return;
    }
    Buffer upstream = RequestShaper.upstreamBody(body, caller, services.userIdSecret(), false);
    dispatch(ctx, caller, Endpoint.MESSAGES, "POST", "/v1/messages/count_tokens", false, upstream,
        request.getString("model"), () -> { });
  }

  private void passThrough(RoutingContext ctx) {
    Caller caller = Authenticator.caller(ctx);
    if (caller.limits().models() != null) {
      // The caller may use only some models: list those, rather than everything the upstream has.
      String id = ctx.pathParam("id");
      if (id == null) {
        ctx.response().putHeader("content-type", "application/json").end(allowedModels(caller).encode());
        return;
      }
      if (!caller.limits().allowsModel(id)) {
        fail(ctx, ApiError.notFound("model: " + id));
        return;
      }
    }
    dispatch(ctx, caller, Endpoint.MESSAGES, "GET", ctx.request().uri(), false, Buffer.buffer(), null, () -> { });
  }

  private void chat(RoutingContext ctx) {
    JsonObject request;
    try {
      request = ChatRequest.toMessagesRequest(RequestChecks.jsonBody(ctx), config);
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    admitAndStream(ctx, JsonBody.built(request), Endpoint.CHAT, true);
  }

  /**
   * {@code GET /v1/chat/config}: what the chat page needs to sign in, answered by the proxy alone, so that signing in
   * works whatever the upstream is doing (a 401 for a bad key comes from the authenticator before this).
   */
  private void chatConfig(RoutingContext ctx) {
    Caller caller = Authenticator.caller(ctx);
    access(ctx).user(caller.userId(), caller.tier(), caller.via());
    List<String> models = caller.limits().models();
    // The configured default unless the caller's tier leaves it out; then the tier's first model.
    String model = models == null || models.isEmpty() || models.contains(config.chatModel()) ? config.chatModel()
        : models.get(0);
    Integer cap = caller.limits().maxTokens();
    int maxTokens = cap == null ? config.chatMaxTokens() : Math.min(cap, config.chatMaxTokens());
    ctx.response().putHeader("content-type", "application/json").end(new JsonObject()
        .put("user", caller.userId())
        .put("tier", caller.tier())
        .put("model", model)
        .put("models", models == null ? null : new io.vertx.core.json.JsonArray(models))
        .put("max_tokens", maxTokens)
        .encode());
  }

  /**
   * The chat page's own files: a policy that lets them load only from here (no inline code, no other origins, so an
   * answer's markdown cannot pull in a script or leak through an image URL) and no framing by other sites.
   */
  private static void pageHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader("content-security-policy", PAGE_POLICY)
        .putHeader("x-frame-options", "DENY")
        .putHeader("x-content-type-options", "nosniff")
        .putHeader("referrer-policy", "no-referrer");
    ctx.next();
  }

  private static JsonObject allowedModels(Caller caller) {
    io.vertx.core.json.JsonArray data = new io.vertx.core.json.JsonArray();
    for (String model : caller.limits().models()) {
      data.add(new JsonObject().put("type", "model").put("id", model).put("display_name", model)
          .put("created_at", "1970-01-01T00:00:00Z"));
    }
    List<String> ids = caller.limits().models();
    return new JsonObject().put("data", data).put("has_more", false)
        .put("first_id", ids.isEmpty() ? null : ids.get(0)).put("last_id", ids.isEmpty() ? null : ids.get(ids.size() - 1));
  }

  /** {@code GET /v1/usage[?days=N]}: the caller's own usage by day and model; an admin's shows everyone's. */
  private void usage(RoutingContext ctx) {
    Caller caller = Authenticator.caller(ctx);
    access(ctx).user(caller.userId(), caller.tier(), caller.via());
    int days = USAGE_DAYS_DEFAULT;
    String param = ctx.request().getParam("days");
    if (param != null) {
      try {
        days = Integer.parseInt(param);
      } catch (NumberFormatException e) {
        days = -1;
      }
      if (days < 1 || days > 3660) {
        fail(ctx, ApiError.invalidRequest("days: must be a whole number from 1 to 3660"));
        return;
      }
    }
    JsonObject report = services.ledger().report(caller.admin() ? null : caller.userId(), days)
        .put("scope", caller.admin() ? "all" : "self");
    ctx.response().putHeader("content-type", "application/json").end(report.encode());
  }

  private boolean modelAllowed(RoutingContext ctx, Caller caller, String model) {
    if (caller.limits().allowsModel(model)) {
      return true;
    }
    services.metrics().rejected("model");
    fail(ctx, ApiError.permission("model " + model + " is not allowed for "
        + (caller.tier() == null ? "this user" : "tier " + caller.tier())));
    return false;
  }

  /** Checks the model and the caller's limits; returns how to give back the place taken, or null if refused. */
  private Runnable admit(RoutingContext ctx, Caller caller, String model) {
    if (!modelAllowed(ctx, caller, model)) {
      return null;
    }
    Limiter.Decision decision = services.limiter().admit(caller);
    if (decision instanceof Limiter.Refusal refusal) {
      services.metrics().rejected(refusal.limit());
      access(ctx).put("limit", refusal.limit());
      ctx.response().putHeader("retry-after", Long.toString(refusal.retryAfterSeconds()));
      fail(ctx, refusal.error());
      return null;
    }
    return ((Limiter.Admission) decision)::close;
  }

  private void dispatch(RoutingContext ctx, Caller caller, Endpoint endpoint, String method, String path,
      boolean streaming, Buffer body, String model, Runnable release) {
    AccessLog.Entry entry = access(ctx).user(caller.userId(), caller.tier(), caller.via()).put("endpoint",
        endpoint.wire()).put("streaming", streaming).put("model", model);
    ctx.put(STREAMED, true);
    dispatcher.start(ctx.response(), endpoint, method, path, streaming, forwarded(ctx), body, entry,
        caller.userId(), caller.tier(), release);
  }

  private Map<String, String> forwarded(RoutingContext ctx) {
    Map<String, String> forward = new LinkedHashMap<>();
    // A header sent on several lines is one list, joined with commas as HTTP says (RFC 9110, 5.3): a second
    // anthropic-beta line adds betas, it does not replace the first.
    for (int i = 0; i < FORWARDED.length; i++) {
      List<String> values = ctx.request().headers().getAll(FORWARDED_NAMES[i]);
      if (!values.isEmpty()) {
        forward.put(FORWARDED[i], String.join(", ", values));
      }
    }
    if (config.forwardSimHeaders()) {
      ctx.request().headers().forEach(h -> {
        if (h.getKey().regionMatches(true, 0, "x-sim-", 0, 6)) {
          forward.merge(h.getKey().toLowerCase(java.util.Locale.ROOT), h.getValue(), (a, b) -> a + ", " + b);
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
    AccessLog.Entry entry = access(ctx);
    Caller caller = Authenticator.caller(ctx);
    if (entry != null) {
      entry.put("error_type", error.type());
      if (caller != null) {
        entry.user(caller.userId(), caller.tier(), caller.via());
      }
    }
    ErrorResponses.send(ctx.response(), error);
  }

  /** Streams this instance is relaying now. */
  public int openStreams() {
    return dispatcher.openStreams();
  }
}
