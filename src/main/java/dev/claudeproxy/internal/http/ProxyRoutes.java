package dev.claudeproxy.internal.http;

import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.users.Caller;
import dev.claudeproxy.internal.users.Limiter;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.PlatformHandler;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's API routes ({@code /v1/messages}, {@code /v1/messages/count_tokens}, {@code /v1/models},
 * {@code /v1/chat}, {@code /v1/chat/config}, {@code /v1/usage}) as one {@link Router} with relative paths, to serve at
 * the root (the server) or mount under any prefix (a host application: {@code router.route("/ai/*").subRouter(...)}).
 * It authenticates callers, checks their requests, and relays streams to and from the workers over the event bus.
 *
 * <p>The router answers everything under its mount point itself, in the API's error shape: {@code HEAD} as the
 * {@code GET} of the same path, {@code OPTIONS} with the methods a path takes, 404 and 405, bodies too large or too
 * slow, and failures. It may be served by any number of event loops at once: what is single-threaded (the bus inbox,
 * the body deadlines) is kept per context by {@link Dispatchers}.
 */
public final class ProxyRoutes {
  private static final Logger LOG = Logger.getLogger(ProxyRoutes.class.getName());
  /** Made once as ASCII strings, to look them up and write them by: see ClientStream's header names for the gain. */
  private static final CharSequence REQUEST_ID = HttpHeaders.createOptimized("request-id");
  private static final CharSequence X_STREAM_RESUMABLE = HttpHeaders.createOptimized("x-stream-resumable");
  private static final String[] FORWARDED = {"anthropic-version", "anthropic-beta"};
  private static final CharSequence[] FORWARDED_NAMES = {HttpHeaders.createOptimized(FORWARDED[0]),
      HttpHeaders.createOptimized(FORWARDED[1])};

  static final String ACCESS = "claude-proxy.access";
  /** Set on a request handed to a stream, whose access line the stream writes once its usage is known. */
  private static final String STREAMED = "claude-proxy.streamed";
  private static final int USAGE_DAYS_DEFAULT = 30;
  private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");

  private final Vertx vertx;
  private final ProxyConfig config;
  private final NodeServices services;
  private final Dispatchers dispatchers;
  private final Handler<RoutingContext> authenticator;
  private Router router;

  /**
   * @param authenticator finds the caller and puts it in the routing context ({@link Authenticator#CALLER}), or
   *     answers the request itself
   */
  public ProxyRoutes(Vertx vertx, ProxyConfig config, NodeServices services, Dispatchers dispatchers,
      Handler<RoutingContext> authenticator) {
    this.vertx = vertx;
    this.config = config;
    this.services = services;
    this.dispatchers = dispatchers;
    this.authenticator = authenticator;
  }

  /** The routes with the users file and JWT verifier of {@code services} as the authenticator. */
  public ProxyRoutes(Vertx vertx, ProxyConfig config, NodeServices services, Dispatchers dispatchers) {
    this(vertx, config, services, dispatchers, new Authenticator(services.users(), services.tokens(),
        services.metrics()));
  }

  public Dispatchers dispatchers() {
    return dispatchers;
  }

  /** The API router; the same one on every call. */
  public synchronized Router router() {
    if (router == null) {
      router = build();
    }
    return router;
  }

  private Router build() {
    Router router = Router.router(vertx);
    router.route().handler(beginAccess(services.accessLog()));
    if (!config.edges().corsOrigins().isEmpty()) {
      router.route().handler(CrossOrigin.handler(config.edges().corsOrigins()));
    }
    // HEAD is answered as the GET of the same path (Claude Code sends HEAD / at every start): the connection knows
    // the request was a HEAD and writes the GET's head without its body. OPTIONS names a path's methods. Both are
    // taken here rather than by routes of their own, which would turn every unknown path's 404 into a 405.
    router.route().handler(CrossOrigin.headAndOptions(router));

    BodyHandler body = BodyHandler.create(false).setBodyLimit(config.maxBodyBytes());
    PlatformHandler deadline = ctx -> {
      Dispatchers.Local local = dispatchers.current();
      if (local == null) {
        fail(ctx, ApiError.unavailable("the proxy is shutting down; please retry"));
      } else {
        local.deadline().handle(ctx);
      }
    };
    Handler<RoutingContext> arrived = ctx -> {
      Dispatchers.Local local = dispatchers.current();
      if (local == null) {
        fail(ctx, ApiError.unavailable("the proxy is shutting down; please retry"));
      } else {
        local.deadline().arrived(ctx);
      }
    };
    for (String path : new String[] {"/v1/messages", "/v1/messages/count_tokens", "/v1/chat"}) {
      router.post(path).handler(deadline).handler(body).handler(arrived);
    }
    router.post("/v1/messages").handler(authenticator).handler(this::messages);
    router.post("/v1/messages/count_tokens").handler(authenticator).handler(this::countTokens);
    router.get("/v1/models").handler(authenticator).handler(this::passThrough);
    router.get("/v1/models/:id").handler(authenticator).handler(this::passThrough);
    router.post("/v1/chat").handler(authenticator).handler(this::chat);
    router.get("/v1/chat/config").handler(authenticator).handler(this::chatConfig);
    router.get("/v1/usage").handler(authenticator).handler(this::usage);
    router.get("/v1/streams/:id").handler(authenticator).handler(this::follow);
    router.delete("/v1/streams/:id").handler(authenticator).handler(this::stopStream);
    // Everything else under the mount point is ours to answer: a 405 for a known path, else a 404.
    router.route().handler(ctx -> {
      String path = relativePath(ctx);
      boolean known = router.getRoutes().stream().anyMatch(r -> r.methods() != null && r.getPath() != null
          && CrossOrigin.matches(r, path));
      fail(ctx, known ? ApiError.methodNotAllowed("method " + ctx.request().method() + " is not allowed on "
          + ctx.request().path()) : ApiError.notFound("no route for " + ctx.request().method() + " "
          + ctx.request().path()));
    });
    router.route().failureHandler(this::failed);
    return router;
  }

  /** A request that failed in a handler: the API's error for its status, and the cause in the log for a 500. */
  void failed(RoutingContext ctx) {
    if (ctx.response().ended() || ctx.response().headWritten()) {
      if (ctx.failure() != null) {
        LOG.log(Level.WARNING, "failure after the response began on " + ctx.request().path(), ctx.failure());
      }
      return;
    }
    int status = ctx.statusCode();
    ApiError error = switch (status) {
      case 400 -> ApiError.invalidRequest("malformed request");
      // CORS refuses an origin not configured with a 403.
      case 403 -> ApiError.permission(ctx.request().getHeader("origin") == null ? "forbidden"
          : "origin " + ctx.request().getHeader("origin")
              + " may not call this API from a browser (PROXY_CORS_ORIGINS)");
      case 404 -> ApiError.notFound("no route for " + ctx.request().method() + " " + ctx.request().path());
      case 405 -> ApiError.methodNotAllowed("method " + ctx.request().method() + " is not allowed on "
          + ctx.request().path());
      case 413 -> ApiError.tooLarge("request body is larger than " + config.maxBodyBytes() + " bytes");
      default -> {
        LOG.log(Level.SEVERE, "unexpected failure on " + ctx.request().path(), ctx.failure());
        yield ApiError.api("internal error in the proxy");
      }
    };
    fail(ctx, error);
  }

  /**
   * The request's path below the router's mount point ({@code /v1/models} for {@code /ai/v1/models} under
   * {@code /ai}), as the routes are declared.
   */
  static String relativePath(RoutingContext ctx) {
    return belowMount(ctx, ctx.normalizedPath());
  }

  /** The request's path and query below the mount point, as sent: what the upstream is asked for. */
  static String upstreamUri(RoutingContext ctx) {
    String query = ctx.request().query();
    return belowMount(ctx, ctx.request().path()) + (query == null ? "" : "?" + query);
  }

  private static String belowMount(RoutingContext ctx, String path) {
    String mount = ctx.mountPoint();
    if (mount == null || mount.isEmpty() || mount.equals("/")) {
      return path;
    }
    if (mount.endsWith("/")) {
      mount = mount.substring(0, mount.length() - 1);
    }
    return path.startsWith(mount) ? path.substring(mount.length()) : path;
  }

  /** Opens each request's line in {@code log}; it is written when the response ends, or by its stream. */
  static Handler<RoutingContext> beginAccess(AccessLog log) {
    return ctx -> {
      if (ctx.get(ACCESS) != null) {
        // A HEAD rerouted as GET: its line is open already.
        ctx.next();
        return;
      }
      AccessLog.Entry entry = log.begin(ErrorResponses.newRequestId(), ctx.request().method().name(),
          ctx.request().path());
      ctx.put(ACCESS, entry);
      ctx.response().putHeader(REQUEST_ID, entry.requestId());
      ctx.addEndHandler(v -> {
        if (!Boolean.TRUE.equals(ctx.get(STREAMED))) {
          entry.responded(ctx.response().getStatusCode());
        }
      });
      ctx.next();
    };
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
    boolean streaming = Boolean.TRUE.equals(body.json().getValue("stream"));
    admitAndStream(ctx, body, Endpoint.MESSAGES, streaming,
        streaming && "true".equalsIgnoreCase(ctx.request().getHeader(X_STREAM_RESUMABLE)));
  }

  /** A Messages request from a caller: checked against the caller's limits, shaped, and sent to a worker. */
  private void admitAndStream(RoutingContext ctx, JsonBody request, Endpoint endpoint, boolean streaming,
      boolean resumable) {
    Caller caller = Authenticator.caller(ctx);
    String model = request.json().getString("model");
    if (!modelAllowed(ctx, caller, model)) {
      return;
    }
    // The node's own capacity first: a request it cannot carry does not count against its user's limits.
    Runnable place = place(ctx);
    if (place == null) {
      return;
    }
    services.limiter().decide(caller).onComplete(ar -> {
      Limiter.Decision decision = ar.succeeded() ? ar.result() : new Limiter.Refusal(
          ApiError.unavailable("the proxy cannot check this user's limits right now; please retry"), "limits", 2);
      if (decision instanceof Limiter.Refusal refusal) {
        place.run();
        refuse(ctx, refusal.limit(), refusal.error(), refusal.retryAfterSeconds());
        return;
      }
      Limiter.Admission admission = (Limiter.Admission) decision;
      Runnable release = () -> {
        admission.close();
        place.run();
      };
      if (ctx.response().closed()) {
        // The client left while the cluster's limits were consulted.
        release.run();
        return;
      }
      Buffer body = RequestShaper.upstreamBody(request, caller, services.userIdSecret(), true);
      dispatch(ctx, caller, endpoint, "POST", "/v1/messages", streaming, resumable, body, model, release);
    });
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
    Runnable place = place(ctx);
    if (place == null) {
      return;
    }
    Buffer upstream = RequestShaper.upstreamBody(body, caller, services.userIdSecret(), false);
    dispatch(ctx, caller, Endpoint.MESSAGES, "POST", "/v1/messages/count_tokens", false, false, upstream,
        request.getString("model"), place);
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
    Runnable place = place(ctx);
    if (place == null) {
      return;
    }
    dispatch(ctx, caller, Endpoint.MESSAGES, "GET", upstreamUri(ctx), false, false, Buffer.buffer(), null, place);
  }

  private void chat(RoutingContext ctx) {
    JsonObject request;
    try {
      request = ChatRequest.toMessagesRequest(RequestChecks.jsonBody(ctx), config);
    } catch (RequestChecks.Invalid e) {
      fail(ctx, e.error);
      return;
    }
    // The chat page always asks to resume a dropped answer.
    admitAndStream(ctx, JsonBody.built(request), Endpoint.CHAT, true, true);
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
    services.ledger().usageReport(caller.admin() ? null : caller.userId(), days).onComplete(ar -> {
      if (ar.failed()) {
        LOG.warning(() -> "usage could not be read: " + ar.cause());
        fail(ctx, ApiError.unavailable("usage cannot be read right now; please retry"));
        return;
      }
      JsonObject report = ar.result().put("scope", caller.admin() ? "all" : "self");
      ctx.response().putHeader("content-type", "application/json").end(report.encode());
    });
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

  /**
   * A place among the requests this node relays ({@code PROXY_MAX_STREAMS}), given back by running it; null, with the
   * request answered at once, when the node holds as many as it may.
   */
  private Runnable place(RoutingContext ctx) {
    Runnable place = dispatchers.capacity().openStream();
    if (place == null) {
      overloaded(ctx, "capacity", "the proxy is at capacity (it holds as many streams as it may); please retry",
          NodeCapacity.CAPACITY_RETRY_AFTER_S);
    }
    return place;
  }

  /**
   * Refuses a request this node cannot take now: 503 {@code overloaded_error} with {@code retry-after}, counted by
   * {@code reason}. An HTTP/1.x connection is closed after the answer, so that a refused client holds no descriptor
   * here while it waits to retry.
   */
  private void overloaded(RoutingContext ctx, String reason, String message, long retryAfterSeconds) {
    if (ctx.request().version() != HttpVersion.HTTP_2) {
      // Said, and done: the server does not close a connection on the response's header alone.
      ctx.response().putHeader(HttpHeaders.CONNECTION, HttpHeaders.CLOSE)
          .bodyEndHandler(v -> ctx.request().connection().close());
    }
    refuse(ctx, reason, ApiError.atCapacity(message), retryAfterSeconds);
  }

  /** Answers a request refused by a limit ({@code reason}) with {@code error} and {@code retry-after}, counted. */
  private void refuse(RoutingContext ctx, String reason, ApiError error, long retryAfterSeconds) {
    services.metrics().rejected(reason);
    access(ctx).put("limit", reason);
    ctx.response().putHeader(RETRY_AFTER, Long.toString(retryAfterSeconds));
    fail(ctx, error);
  }

  private void dispatch(RoutingContext ctx, Caller caller, Endpoint endpoint, String method, String path,
      boolean streaming, boolean resumable, Buffer body, String model, Runnable release) {
    AccessLog.Entry entry = access(ctx).user(caller.userId(), caller.tier(), caller.via()).put("endpoint",
        endpoint.wire()).put("streaming", streaming).put("model", model);
    Dispatchers.Local local = dispatchers.current();
    if (local == null) {
      release.run();
      fail(ctx, ApiError.unavailable("the proxy is shutting down; please retry"));
      return;
    }
    Map<String, String> forward = forwarded(ctx);
    whenReady(ctx, local, () -> {
      // Starts that no worker has taken yet are work queued on the event loops: past the bound, a new one is refused
      // at once rather than left to wait out the start timeout behind the others.
      Runnable waiting = dispatchers.capacity().startSent();
      if (waiting == null) {
        release.run();
        overloaded(ctx, "pending_starts", "the proxy is overloaded (too many streams are waiting for a stream"
            + " worker); please retry", NodeCapacity.PENDING_RETRY_AFTER_S);
        return;
      }
      // From here the stream writes the request's access line, once its usage is known.
      ctx.put(STREAMED, true);
      local.dispatcher().start(ctx.response(), endpoint, method, path, streaming, resumable, forward, body, entry,
          caller.userId(), caller.tier(), release, waiting);
    }, release);
  }

  /**
   * Runs {@code start} once this event loop's inbox is registered (at once, but for the first requests of a new one),
   * so that events can reach it.
   */
  private static void whenReady(RoutingContext ctx, Dispatchers.Local local, Runnable start, Runnable release) {
    if (local.ready().succeeded()) {
      start.run();
    } else {
      local.ready().onComplete(ar -> {
        if (ar.succeeded()) {
          start.run();
        } else {
          release.run();
          fail(ctx, ApiError.unavailable("the proxy could not open its event-bus inbox; please retry"));
        }
      });
    }
  }

  /**
   * {@code GET /v1/streams/{id}}: the stream's events after the position of {@code ?after=N} or {@code Last-Event-ID}
   * (the query wins), or from the oldest kept, then the live ones, in the stream's own format. Only the stream's user
   * or an admin may read it; anyone else is told there is no such stream.
   */
  private void follow(RoutingContext ctx) {
    Caller caller = Authenticator.caller(ctx);
    String param = ctx.request().getParam("after");
    String position = param != null ? param : ctx.request().getHeader("last-event-id");
    Long after = null;
    if (position != null) {
      try {
        after = Long.valueOf(position.trim());
      } catch (NumberFormatException e) {
        after = -1L;
      }
      if (after < 0) {
        fail(ctx, ApiError.invalidRequest((param != null ? "after" : "Last-Event-ID")
            + ": must be a whole number of events, 0 or more"));
        return;
      }
    }
    String streamId = ctx.pathParam("id");
    AccessLog.Entry entry = access(ctx).user(caller.userId(), caller.tier(), caller.via()).put("endpoint", "streams")
        .put("stream", streamId).put("after", after);
    Dispatchers.Local local = dispatchers.current();
    if (local == null) {
      fail(ctx, ApiError.unavailable("the proxy is shutting down; please retry"));
      return;
    }
    Runnable place = place(ctx);
    if (place == null) {
      return;
    }
    Long from = after;
    whenReady(ctx, local, () -> {
      ctx.put(STREAMED, true);
      local.dispatcher().follow(ctx.response(), streamId, from, entry, caller.userId(), caller.admin(), place);
    }, place);
  }

  /** {@code DELETE /v1/streams/{id}}: stops the stream at once, whoever reads it. */
  private void stopStream(RoutingContext ctx) {
    Caller caller = Authenticator.caller(ctx);
    access(ctx).user(caller.userId(), caller.tier(), caller.via()).put("stream", ctx.pathParam("id"));
    Dispatchers.Local local = dispatchers.current();
    if (local == null) {
      fail(ctx, ApiError.unavailable("the proxy is shutting down; please retry"));
      return;
    }
    local.ready().compose(v -> local.dispatcher().stop(ctx.pathParam("id"), access(ctx).requestId(),
        caller.userId(), caller.admin())).onComplete(ar -> {
          if (ar.succeeded()) {
            ctx.response().setStatusCode(204).end();
          } else {
            fail(ctx, ApiError.notFound("no such stream (it may have ended and expired)"));
          }
        });
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

  static void fail(RoutingContext ctx, ApiError error) {
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
}
