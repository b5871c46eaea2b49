package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The simulator's HTTP surface: routes, authentication, validation, fault scenarios and responses. One instance
 * per server verticle, created on its event loop (it owns that loop's {@link TokenClock}); the stats and the
 * attempt tracker are shared by all of them.
 *
 * <p>Fault scenarios on non-streaming requests: {@code overloaded}, {@code rate_limited}, {@code server_error} and
 * {@code fail_then_succeed:N} answer exactly as for streams. A non-streaming reply is held back for as long as the
 * stream would take (TTFT plus one interval per token); the mid-stream faults strike at the moment the stream would
 * have reached {@code SIM_FAULT_AFTER_DELTAS} deltas: {@code midstream_error} answers 529 overloaded_error,
 * {@code disconnect} closes the connection without a response, and {@code stall} never answers (the connection
 * stays open until the client gives up).
 */
final class SimulatorApi {
  static final long BODY_LIMIT = 32L * 1024 * 1024;
  private static final String ORGANIZATION_ID = "5d2c1f7e-8a41-4c3b-9e0f-7b6a1d2e3f40";
  private static final char[] BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();
  private static final long REQUESTS_LIMIT = 4000;
  private static final long INPUT_TOKENS_LIMIT = 2_000_000;
  private static final long OUTPUT_TOKENS_LIMIT = 400_000;

  private final Vertx vertx;
  private final SimulatorConfig config;
  private final SimulatorStats stats;
  private final AttemptTracker attempts;
  private final TokenClock clock;
  private final String retryAfter;
  private final String retryAfterMs;

  /** The reset timestamp, recomputed at most once a second: formatting a date per request would show up. */
  private long resetSecond = -1;
  private String resetText;

  SimulatorApi(Vertx vertx, SimulatorConfig config, SimulatorStats stats, AttemptTracker attempts) {
    this.vertx = vertx;
    this.config = config;
    this.stats = stats;
    this.attempts = attempts;
    this.clock = new TokenClock(vertx);
    double r = config.retryAfterSeconds();
    this.retryAfter = r == Math.rint(r) ? Long.toString((long) r) : Double.toString(r);
    this.retryAfterMs = Long.toString(Math.round(r * 1000));
  }

  Router router() {
    Router router = Router.router(vertx);
    router.route().handler(ctx -> {
      stats.request();
      if (ctx.request().version() == io.vertx.core.http.HttpVersion.HTTP_2) {
        stats.http2Request(ctx.request().connection());
      }
      ctx.next();
    });
    router.get("/sim/stats").handler(ctx -> ctx.response()
        .putHeader("content-type", "application/json")
        .end(stats.toJson().encode()));
    BodyHandler body = BodyHandler.create(false).setBodyLimit(BODY_LIMIT);
    router.post("/v1/messages").handler(body).handler(this::checkHeaders).handler(this::messages);
    router.post("/v1/messages/count_tokens").handler(body).handler(this::checkHeaders).handler(this::countTokens);
    router.get("/v1/models").handler(this::checkHeaders).handler(this::listModels);
    router.get("/v1/models/:id").handler(this::checkHeaders).handler(this::getModel);

    router.errorHandler(404, ctx -> sendError(ctx.request(), newRequestId(),
        ApiError.notFound("Not found: " + ctx.request().method() + " " + ctx.request().path()), null));
    router.errorHandler(405, ctx -> sendError(ctx.request(), newRequestId(),
        ApiError.methodNotAllowed("Method " + ctx.request().method() + " is not allowed for "
            + ctx.request().path()), null));
    router.errorHandler(413, ctx -> {
      // The rest of an oversized upload is not worth reading.
      ctx.response().putHeader("connection", "close");
      sendError(ctx.request(), newRequestId(), ApiError.tooLarge("Request exceeds the maximum allowed number of "
          + "bytes (" + BODY_LIMIT + ")"), null);
    });
    router.errorHandler(400, ctx -> sendError(ctx.request(), newRequestId(),
        ApiError.invalidRequest("The request could not be read"), null));
    router.errorHandler(500, ctx -> sendError(ctx.request(), newRequestId(),
        ApiError.api("Internal server error"), null));
    return router;
  }

  /** Authentication, then the API version: what every /v1 route needs before anything else. */
  private void checkHeaders(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String requestId = newRequestId();
    ctx.put("requestId", requestId);
    if (config.apiKey() != null && !config.apiKey().equals(presentedKey(req.headers()))) {
      sendError(req, requestId, ApiError.authentication(
          presentedKey(req.headers()) == null ? "x-api-key header is required" : "invalid x-api-key"), null);
      return;
    }
    ApiError e = RequestValidator.checkVersion(req.getHeader("anthropic-version"));
    if (e != null) {
      sendError(req, requestId, e, null);
      return;
    }
    ctx.next();
  }

  private static String presentedKey(MultiMap headers) {
    String key = headers.get("x-api-key");
    if (key != null) {
      return key;
    }
    String auth = headers.get("authorization");
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).trim();
    }
    return null;
  }

  private void messages(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String requestId = ctx.get("requestId");
    RequestKnobs knobs;
    try {
      knobs = RequestKnobs.from(req.headers(), config);
    } catch (RequestKnobs.Invalid e) {
      sendError(req, requestId, e.error, null);
      return;
    }
    JsonObject body = parseBody(ctx, requestId, knobs);
    if (body == null) {
      return;
    }
    String version = req.getHeader("anthropic-version");
    ApiError invalid = RequestValidator.checkMessages(body, version,
        RequestValidator.betas(req.headers().getAll("anthropic-beta")), config);
    if (invalid != null) {
      sendError(req, requestId, invalid, knobs);
      return;
    }
    if (preResponseFault(ctx, requestId, knobs)) {
      return;
    }
    ReplyPlan plan = ReplyPlan.of(body, knobs.outputTokens());
    boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
    HttpServerResponse res = req.response();
    res.putHeader("request-id", requestId);
    putRateLimitHeaders(res, plan.inputTokens(), plan.outputTokens(), false);
    String messageId = "msg_01" + randomBase62(22);
    if (stream) {
      res.putHeader("content-type", "text/event-stream; charset=utf-8");
      res.putHeader("cache-control", "no-cache");
      new SimulatedStream(vertx, clock, req, plan, knobs, config.faultAfterDeltas(), stats)
          .start(messageId, knobs.ttftMs());
    } else {
      replyWhole(req, requestId, plan, knobs, messageId);
    }
  }

  /** Sends the scenario's error instead of a reply, if the scenario says so; true when it did. */
  private boolean preResponseFault(RoutingContext ctx, String requestId, RequestKnobs knobs) {
    HttpServerRequest req = ctx.request();
    Scenario scenario = knobs.scenario();
    switch (scenario.kind()) {
      case OVERLOADED -> {
        sendError(req, requestId, ApiError.overloaded("Overloaded"), knobs);
        return true;
      }
      case RATE_LIMITED -> {
        sendError(req, requestId, ApiError.rateLimited("Number of request tokens has exceeded your per-minute "
            + "rate limit (simulated)"), knobs);
        return true;
      }
      case SERVER_ERROR -> {
        sendError(req, requestId, ApiError.api("Internal server error"), knobs);
        return true;
      }
      case FAIL_THEN_SUCCEED -> {
        if (attempts.shouldFail(attemptKey(ctx), scenario.failures(), System.currentTimeMillis())) {
          sendError(req, requestId, ApiError.overloaded("Overloaded"), knobs);
          return true;
        }
        return false;
      }
      default -> {
        return false;
      }
    }
  }

  /**
   * What makes two attempts "the same request": method, path, body and the headers that change the reply. The
   * SDKs' retry counter and per-attempt telemetry are left out on purpose.
   */
  private static String attemptKey(RoutingContext ctx) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      HttpServerRequest req = ctx.request();
      md.update((req.method().name() + " " + req.path() + "\n").getBytes(StandardCharsets.UTF_8));
      for (String h : new String[] {"anthropic-version", "anthropic-beta", "x-api-key", "authorization",
          RequestKnobs.SCENARIO, RequestKnobs.TTFT_MS, RequestKnobs.TOKENS_PER_SECOND, RequestKnobs.OUTPUT_TOKENS,
          RequestKnobs.JITTER, RequestKnobs.SHOULD_RETRY}) {
        md.update((h + ":" + req.headers().getAll(h) + "\n").getBytes(StandardCharsets.UTF_8));
      }
      md.update(ctx.body().buffer().getBytes());
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  private void replyWhole(HttpServerRequest req, String requestId, ReplyPlan plan, RequestKnobs knobs,
      String messageId) {
    Scenario.Kind kind = knobs.scenario().kind();
    boolean midFault = knobs.scenario().isMidStream();
    int tokens = midFault ? Math.min(plan.deltaCount(), config.faultAfterDeltas()) : plan.deltaCount();
    long delayMs = knobs.ttftMs()
        + (knobs.tokensPerSecond() > 0 ? (long) (tokens * 1000.0 / knobs.tokensPerSecond()) : 0);
    HttpServerResponse res = req.response();
    long[] timer = {-1};
    boolean[] done = {false};
    res.closeHandler(v -> {
      if (!done[0]) {
        done[0] = true;
        if (timer[0] >= 0) {
          vertx.cancelTimer(timer[0]);
        }
        stats.messageCancelled();
      }
    });
    res.exceptionHandler(t -> { });
    Runnable reply = () -> {
      if (done[0]) {
        return;
      }
      if (kind == Scenario.Kind.STALL) {
        return;
      }
      done[0] = true;
      if (kind == Scenario.Kind.MIDSTREAM_ERROR) {
        sendError(req, requestId, ApiError.overloaded("Overloaded"), knobs);
      } else if (kind == Scenario.Kind.DISCONNECT) {
        stats.error();
        req.connection().close();
      } else {
        stats.messageCompleted();
        res.putHeader("content-type", "application/json").end(plan.toMessage(messageId).encode());
      }
    };
    if (delayMs <= 0) {
      reply.run();
    } else {
      timer[0] = vertx.setTimer(delayMs, id -> {
        timer[0] = -1;
        reply.run();
      });
    }
  }

  private void countTokens(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String requestId = ctx.get("requestId");
    JsonObject body = parseBody(ctx, requestId, null);
    if (body == null) {
      return;
    }
    ApiError invalid = RequestValidator.checkCountTokens(body, req.getHeader("anthropic-version"),
        RequestValidator.betas(req.headers().getAll("anthropic-beta")), config);
    if (invalid != null) {
      sendError(req, requestId, invalid, null);
      return;
    }
    sendJson(req, requestId, 200, new JsonObject().put("input_tokens", ReplyPlan.estimateInputTokens(body)));
  }

  private void listModels(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String requestId = ctx.get("requestId");
    int limit = 20;
    String l = req.getParam("limit");
    if (l != null) {
      try {
        limit = Integer.parseInt(l.trim());
      } catch (NumberFormatException e) {
        limit = -1;
      }
      if (limit < 1 || limit > 1000) {
        sendError(req, requestId, ApiError.invalidRequest("limit: must be an integer between 1 and 1000"), null);
        return;
      }
    }
    String after = emptyToNull(req.getParam("after_id"));
    String before = emptyToNull(req.getParam("before_id"));
    if (after != null && before != null) {
      sendError(req, requestId, ApiError.invalidRequest("after_id and before_id cannot both be set"), null);
      return;
    }
    sendJson(req, requestId, 200, config.models().page(limit, after, before));
  }

  private void getModel(RoutingContext ctx) {
    HttpServerRequest req = ctx.request();
    String requestId = ctx.get("requestId");
    String id = ctx.pathParam("id");
    // Only listed models (and their aliases): an unknown id accepted for messages is still not in the catalogue.
    ModelCatalog.ModelInfo model = config.models().find(id);
    if (model == null) {
      sendError(req, requestId, ApiError.notFound("model: " + id), null);
      return;
    }
    sendJson(req, requestId, 200, model.toJson());
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** The body as a JSON object, or null after sending the 400 that explains why not. */
  private JsonObject parseBody(RoutingContext ctx, String requestId, RequestKnobs knobs) {
    Buffer buffer = ctx.body().buffer();
    if (buffer == null || buffer.length() == 0) {
      sendError(ctx.request(), requestId, ApiError.invalidRequest("Request body is empty; expected a JSON object"),
          knobs);
      return null;
    }
    Object value;
    try {
      value = Json.decodeValue(buffer);
    } catch (DecodeException e) {
      sendError(ctx.request(), requestId, ApiError.invalidRequest("There was an error parsing the body: "
          + firstLine(e.getMessage())), knobs);
      return null;
    }
    if (!(value instanceof JsonObject body)) {
      sendError(ctx.request(), requestId, ApiError.invalidRequest("Request body must be a JSON object"), knobs);
      return null;
    }
    return body;
  }

  /** The parser's complaint without Jackson's framing ("Failed to decode:", source location). */
  private static String firstLine(String s) {
    if (s == null) {
      return "invalid JSON";
    }
    String t = s.startsWith("Failed to decode:") ? s.substring("Failed to decode:".length()).trim() : s;
    for (String cut : new String[] {"\n", " at [Source", " (start marker"}) {
      int i = t.indexOf(cut);
      if (i > 0) {
        t = t.substring(0, i);
      }
    }
    return t;
  }

  private void sendJson(HttpServerRequest req, String requestId, int status, JsonObject body) {
    HttpServerResponse res = req.response();
    res.setStatusCode(status)
        .putHeader("content-type", "application/json")
        .putHeader("request-id", requestId);
    putRateLimitHeaders(res, 0, 0, false);
    res.end(body.encode());
  }

  /** An Anthropic-shaped error with request-id, and retry hints for 429/529. */
  private void sendError(HttpServerRequest req, String requestId, ApiError error, RequestKnobs knobs) {
    HttpServerResponse res = req.response();
    if (res.ended() || res.headWritten()) {
      return;
    }
    stats.error();
    res.setStatusCode(error.status())
        .putHeader("content-type", "application/json")
        .putHeader("request-id", requestId);
    if (error.status() == 429 || error.status() == 529) {
      // Both forms: retry-after as the API sends it, retry-after-ms for sub-second values the SDKs also honour.
      res.putHeader("retry-after", retryAfter);
      res.putHeader("retry-after-ms", retryAfterMs);
    }
    if (error.status() == 429) {
      putRateLimitHeaders(res, 0, 0, true);
    }
    if (knobs != null && knobs.shouldRetry() != null) {
      res.putHeader("x-should-retry", knobs.shouldRetry().toString());
    }
    res.end(error.toJson(requestId).encode());
  }

  private void putRateLimitHeaders(HttpServerResponse res, long inputTokens, long outputTokens, boolean exhausted) {
    String reset = resetTimestamp();
    long input = Math.min(inputTokens, INPUT_TOKENS_LIMIT);
    long output = Math.min(outputTokens, OUTPUT_TOKENS_LIMIT);
    res.putHeader("anthropic-organization-id", ORGANIZATION_ID)
        .putHeader("anthropic-ratelimit-requests-limit", Long.toString(REQUESTS_LIMIT))
        .putHeader("anthropic-ratelimit-requests-remaining", exhausted ? "0" : Long.toString(REQUESTS_LIMIT - 1))
        .putHeader("anthropic-ratelimit-requests-reset", reset)
        .putHeader("anthropic-ratelimit-tokens-limit", Long.toString(INPUT_TOKENS_LIMIT + OUTPUT_TOKENS_LIMIT))
        .putHeader("anthropic-ratelimit-tokens-remaining",
            exhausted ? "0" : Long.toString(INPUT_TOKENS_LIMIT + OUTPUT_TOKENS_LIMIT - input - output))
        .putHeader("anthropic-ratelimit-tokens-reset", reset)
        .putHeader("anthropic-ratelimit-input-tokens-limit", Long.toString(INPUT_TOKENS_LIMIT))
        .putHeader("anthropic-ratelimit-input-tokens-remaining",
            exhausted ? "0" : Long.toString(INPUT_TOKENS_LIMIT - input))
        .putHeader("anthropic-ratelimit-input-tokens-reset", reset)
        .putHeader("anthropic-ratelimit-output-tokens-limit", Long.toString(OUTPUT_TOKENS_LIMIT))
        .putHeader("anthropic-ratelimit-output-tokens-remaining",
            exhausted ? "0" : Long.toString(OUTPUT_TOKENS_LIMIT - output))
        .putHeader("anthropic-ratelimit-output-tokens-reset", reset);
  }

  private String resetTimestamp() {
    long second = System.currentTimeMillis() / 1000;
    if (second != resetSecond) {
      resetText = Instant.ofEpochSecond(second + 1).truncatedTo(ChronoUnit.SECONDS).toString();
      resetSecond = second;
    }
    return resetText;
  }

  static String newRequestId() {
    return "req_011C" + randomBase62(20);
  }

  static String randomBase62(int n) {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] c = new char[n];
    for (int i = 0; i < n; i++) {
      c[i] = BASE62[r.nextInt(62)];
    }
    return new String(c);
  }
}
