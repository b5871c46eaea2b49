package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.bus.PassBatch;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.internal.bus.StreamEventSender;
import dev.claudeproxy.internal.config.UpstreamPolicy;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.logging.Logger;

/**
 * One upstream call on a worker: sends the request (again, before the first byte, when the upstream asks for a
 * retry), and streams the response back over the bus.
 *
 * <p>For an SSE answer each upstream read becomes at most one bus message holding the complete events it finished:
 * their original bytes on {@link Endpoint#MESSAGES}, or their chat translation on {@link Endpoint#CHAT}. Only the
 * events that carry usage, stop reason or errors are decoded. A stream that ends without {@code message_stop} or an
 * {@code error} event, is cut, goes silent or carries an unreadable event is reported as an error, never as a clean
 * end.
 *
 * <p>Flow control: the HTTP side grants bytes; once they are spent the upstream socket is paused until more come.
 *
 * <p>Every call, the non-streaming ones too (model listing, {@code count_tokens}, a message without
 * {@code "stream": true}), uses the core {@link HttpClient}, not vertx-web-client: a closed client connection must
 * reset the upstream request at once ({@link #cancel()}), and WebClient gives no hold on the request it sends.
 * {@code HttpRequest.send()} returns only a {@code Future} of the whole response; nothing public resets it, pauses it
 * when the client's credits run out, or hands on the body as it arrives (only the {@code impl} package's interceptor
 * {@code HttpContext} reaches the {@code HttpClientRequest}). So one path serves all calls, with the same cancel,
 * retries, timeouts and credits.
 */
final class UpstreamCall {
  private static final Logger LOG = Logger.getLogger(UpstreamCall.class.getName());
  static final String DEFAULT_VERSION = "2023-06-01";
  // Header names and values made once as ASCII strings: see ClientStream's header names for the gain.
  private static final CharSequence USER_AGENT = HttpHeaders.createOptimized("claude-stream-proxy/0.1");
  private static final CharSequence ANTHROPIC_VERSION = HttpHeaders.createOptimized("anthropic-version");
  private static final CharSequence X_API_KEY = HttpHeaders.createOptimized("x-api-key");
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream");
  private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");

  /** How a call ended, for usage accounting. */
  record Ended(String streamId, Outcome outcome, StreamFacts facts, StartRequest start, StreamEventSender sender) {
    /** The model the stream named, or for a call that failed before it started, the one the request asked for. */
    String model() {
      if (facts.model() != null) {
        return facts.model();
      }
      try {
        return start.body().length() == 0 ? null : start.body().toJsonObject().getString("model");
      } catch (RuntimeException e) {
        return null;
      }
    }
  }

  private final Vertx vertx;
  private final HttpClient client;
  private final UpstreamTarget target;
  private final UpstreamPolicy policy;
  private final StartRequest start;
  private final StreamEventSender sender;
  private final Consumer<Ended> onDone;
  private final ProxyMetrics metrics;
  private final StreamFacts facts = new StreamFacts();
  /** The events a pass-through stream decodes: the ones {@link StreamFacts} learns from. */
  private static final byte[][] FACT_EVENTS = SseParser.names("message_start", "message_delta", "message_stop",
      "error");
  private final SseParser parser = new SseParser();
  /** Made once, not for each read: {@link #observeFact}. */
  private final Predicate<SseEvent> observeFact = this::observeFact;
  private final ChatTranslator chat;
  private final long startedAt;

  private int attempt;
  /** The attempt whose callbacks still count; -1 while none does (between attempts, after a timeout). */
  private int current = -1;
  private long attemptStartedAt;
  private long attemptStartedNanos;
  private long lastByteAt;
  private long retryTimer = -1;
  private HttpClientRequest request;
  private HttpClientResponse response;
  private boolean sse;
  private long credits;
  private boolean paused;
  private boolean done;
  /** Bytes for the client not sent yet: what one pass of the event loop delivered (see {@link #forward}). */
  private final PassBatch unsent;
  /** A whole Message answer, kept (up to a bound) to read its usage at the end; null when not wanted. */
  private Buffer wholeMessage;
  private static final int MAX_MESSAGE_FOR_USAGE = 4 * 1024 * 1024;

  UpstreamCall(Vertx vertx, HttpClient client, UpstreamTarget target, UpstreamPolicy policy, StartRequest start,
      StreamEventSender sender, Consumer<Ended> onDone, ProxyMetrics metrics) {
    this.vertx = vertx;
    this.client = client;
    this.target = target;
    this.policy = policy;
    this.start = start;
    this.sender = sender;
    this.onDone = onDone;
    this.metrics = metrics;
    this.credits = start.credits();
    this.chat = start.endpoint() == Endpoint.CHAT ? new ChatTranslator(facts) : null;
    this.startedAt = System.currentTimeMillis();
    this.unsent = new PassBatch(vertx.getOrCreateContext(), this::sendUnsent);
    facts.countContentOf(parser);
  }

  void begin() {
    attempt++;
    current = attempt;
    attemptStartedAt = System.currentTimeMillis();
    attemptStartedNanos = System.nanoTime();
    retryTimer = -1;
    int thisAttempt = attempt;
    client.request(requestOptions())
        .compose(req -> {
          if (done || current != thisAttempt) {
            req.reset();
            return Future.failedFuture("abandoned");
          }
          request = req;
          return start.body().length() > 0 ? req.send(start.body()) : req.send();
        })
        .onSuccess(resp -> onResponse(thisAttempt, resp))
        .onFailure(e -> onAttemptFailure(thisAttempt, e));
  }

  private RequestOptions requestOptions() {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.valueOf(start.method()))
        .setHost(target.host())
        .setPort(target.port())
        .setSsl(target.ssl())
        .setURI(target.pathPrefix() + start.path())
        .putHeader(HttpHeaders.USER_AGENT, USER_AGENT)
        .putHeader(ANTHROPIC_VERSION, start.forward().getOrDefault("anthropic-version", DEFAULT_VERSION))
        .putHeader(HttpHeaders.ACCEPT, start.streaming() ? EVENT_STREAM : APPLICATION_JSON);
    start.forward().forEach((name, value) -> {
      if (!"anthropic-version".equals(name)) {
        options.putHeader(name, value);
      }
    });
    if (target.apiKey() != null) {
      options.putHeader(X_API_KEY, target.apiKey());
    }
    if (start.body().length() > 0) {
      options.putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
    }
    return options;
  }

  private void onResponse(int thisAttempt, HttpClientResponse resp) {
    if (done || thisAttempt != current) {
      resp.request().reset();
      return;
    }
    metrics.upstreamHead(System.nanoTime() - attemptStartedNanos);
    int status = resp.statusCode();
    boolean retryable = status >= 300 && RetryDecision.retryableStatus(status, resp.headers());
    if (retryable && scheduleRetry(resp.headers())) {
      // Read the refused answer to its end so the connection can serve the retry.
      resp.body();
      return;
    }
    response = resp;
    lastByteAt = System.currentTimeMillis();
    sse = start.streaming() && status == 200;
    if (!start.streaming() && status == 200 && start.path().equals("/v1/messages")) {
      wholeMessage = Buffer.buffer();
    }
    // The head waits for the end of this pass, so that what else the pass brings (often the first data, and for a
    // short answer all of it) reaches an inbox in this JVM in the same message.
    sender.hold();
    JsonObject headers = passedHeaders(resp.headers());
    if (retryable) {
      spentRetries(headers);
    }
    sender.head(status, headers);
    unsent.schedule();
    resp.exceptionHandler(this::onStreamFailure);
    resp.handler(sse ? this::onSseChunk : this::onRawChunk);
    resp.endHandler(v -> onEnd());
  }

  private void onAttemptFailure(int thisAttempt, Throwable failure) {
    if (done || thisAttempt != current) {
      return;
    }
    if (scheduleRetry(null)) {
      return;
    }
    // What the HTTP client says (its classes, "Connection refused", GOAWAY codes) is for the log; the caller learns
    // what happened in the API's terms.
    LOG.warning(() -> "stream " + start.streamId() + ": upstream request failed after " + attempt + " attempt(s): "
        + reason(failure));
    finish(Outcome.FAILED, () -> sender.error(new ApiError(502, "api_error", "The upstream API could not be reached after "
        + attempt + (attempt == 1 ? " attempt" : " attempts")), spentRetries(new JsonObject())));
  }

  /**
   * Marks an answer the proxy would have retried but may not any more (attempts or budget spent): unless clients are
   * allowed to retry too, it tells them not to, since an SDK's retries on top of the proxy's multiply them.
   */
  private JsonObject spentRetries(JsonObject headers) {
    if (!policy.clientShouldRetry()) {
      headers.put("x-should-retry", "false");
    }
    return headers;
  }

  /** Schedules the next attempt if the policy allows one; false when this answer is final. */
  private boolean scheduleRetry(MultiMap headers) {
    long now = System.currentTimeMillis();
    if (attempt >= policy.maxAttempts()) {
      return false;
    }
    long delay = RetryDecision.delayMs(policy, attempt + 1, headers, now);
    if (now + delay - startedAt > policy.retryBudgetMs()) {
      return false;
    }
    current = -1;
    request = null;
    metrics.retry();
    retryTimer = vertx.setTimer(Math.max(1, delay), id -> {
      if (!done) {
        begin();
      }
    });
    return true;
  }

  private void onSseChunk(Buffer chunk) {
    lastByteAt = System.currentTimeMillis();
    if (chat == null) {
      // Pass-through: the whole events of this read go on as they came, in one piece (usually the read itself);
      // only the events that carry usage, the stop or an error are built and decoded.
      Buffer whole = parser.forward(chunk, FACT_EVENTS, observeFact);
      if (whole != null) {
        forward(whole, parser.forwardedEvents());
      }
    } else {
      Buffer batch = Buffer.buffer(chunk.length() + 64);
      int[] events = {0};
      parser.feed(chunk, event -> {
        if ("content_block_delta".equals(event.name())) {
          byte[] bytes = event.raw().getBytes();
          facts.output().delta(bytes, 0, bytes.length);
        }
        if (!facts.malformed() && observeFact(event)) {
          events[0] += chat.translate(event, batch);
        }
      });
      if (batch.length() > 0) {
        forward(batch, events[0]);
      }
    }
    // Once an event that should carry JSON did not, the facts stay malformed; a second fail is a no-op.
    if (facts.malformed()) {
      fail(Outcome.FAILED, ApiError.api("upstream sent an event that is not valid JSON"));
    }
  }

  /** Reads the facts an event carries; false (stopping a forward) when it should carry JSON and does not. */
  private boolean observeFact(SseEvent event) {
    facts.observe(event);
    return !facts.malformed();
  }

  private void onRawChunk(Buffer chunk) {
    lastByteAt = System.currentTimeMillis();
    if (wholeMessage != null) {
      wholeMessage = wholeMessage.length() + chunk.length() <= MAX_MESSAGE_FOR_USAGE
          ? wholeMessage.appendBuffer(chunk) : null;
    }
    forward(chunk, 0);
  }

  /**
   * Queues bytes for the client. One socket read often holds many upstream pieces (an HTTP/1.1 chunk or an HTTP/2
   * DATA frame per delta), each handed over on its own; they are gathered and sent as one bus message once the
   * event loop has delivered the read, so a burst costs one message and one client write rather than one a delta.
   */
  private void forward(Buffer bytes, int events) {
    unsent.add(bytes, events);
    credits -= bytes.length();
    if (credits <= 0 && !paused && response != null) {
      paused = true;
      response.pause();
    }
  }

  private void sendUnsent() {
    takeUnsent();
    sender.flush();
  }

  private void takeUnsent() {
    int events = unsent.events();
    Buffer bytes = unsent.take();
    if (bytes != null && !done) {
      if (sender.remote()) {
        // Across the network the worker's node can die mid-stream: the HTTP side keeps the usage reached so far.
        sender.data(bytes, events, facts.progress());
      } else {
        sender.data(bytes, events);
      }
    }
  }

  private void onEnd() {
    if (done) {
      return;
    }
    if (!sse) {
      if (wholeMessage != null) {
        try {
          facts.observeMessage(wholeMessage.toJsonObject());
        } catch (RuntimeException unreadable) {
          // Passed on as it came; only its usage is unknown.
        }
      }
      finish(Outcome.COMPLETED, () -> sender.end(facts.summary(Outcome.COMPLETED)));
      return;
    }
    Buffer rest = parser.remainder();
    if (parser.hasPartialEvent()) {
      finish(Outcome.FAILED, () -> sender.error(ApiError.api("upstream stream was cut off in the middle of an event")));
    } else if (facts.upstreamError() != null) {
      finish(Outcome.UPSTREAM_ERROR, () -> sender.end(facts.summary(Outcome.UPSTREAM_ERROR)));
    } else if (!facts.sawStop()) {
      finish(Outcome.FAILED, () -> sender.error(ApiError.api("upstream stream ended before message_stop")));
    } else {
      if (rest.length() > 0 && chat == null) {
        forward(rest, 0);
      }
      finish(Outcome.COMPLETED, () -> sender.end(facts.summary(Outcome.COMPLETED)));
    }
  }

  private void onStreamFailure(Throwable failure) {
    if (!done) {
      LOG.warning(() -> "stream " + start.streamId() + ": upstream connection failed mid-stream: " + reason(failure));
    }
    fail(Outcome.FAILED, ApiError.api("The upstream connection was lost before the response finished"));
  }

  /** Called by the worker's sweep: ends the call if one of its deadlines has passed. */
  void checkDeadlines(long now) {
    if (done) {
      return;
    }
    if (now - startedAt > policy.totalTimeoutMs()) {
      fail(Outcome.TIMEOUT, ApiError.timeout("the stream took longer than " + policy.totalTimeoutMs() + " ms in all"));
    } else if (response == null && current != -1 && now - attemptStartedAt > policy.firstByteTimeoutMs()) {
      HttpClientRequest timedOut = request;
      current = -1; // whatever the timed-out attempt still delivers is ignored
      if (timedOut != null) {
        timedOut.reset();
      }
      if (!scheduleRetry(null)) {
        finish(Outcome.TIMEOUT, () -> sender.error(ApiError.timeout("upstream did not answer within "
            + policy.firstByteTimeoutMs() + " ms"), spentRetries(new JsonObject())));
      }
    } else if (response != null && !paused && now - lastByteAt > policy.idleTimeoutMs()) {
      fail(Outcome.TIMEOUT, ApiError.timeout("upstream sent nothing for " + policy.idleTimeoutMs() + " ms"));
    }
  }

  /** Adds credit; resumes the upstream socket if it was paused for lack of it. */
  void grant(long bytes) {
    credits += bytes;
    if (paused && credits > 0 && response != null && !done) {
      paused = false;
      lastByteAt = System.currentTimeMillis();
      response.resume();
    }
  }

  /** The client went away: stop the upstream call now. */
  /** The inbox this call's events go to. */
  String owner() {
    return start.replyTo();
  }

  void cancel() {
    if (done) {
      return;
    }
    done = true;
    stopUpstream();
    sender.hold();
    onDone.accept(outcome(Outcome.CANCELLED));
    sender.flush();
  }

  /** Ends the call with {@code error} sent to the client, and stops the upstream. */
  void fail(Outcome outcome, ApiError error) {
    if (done) {
      return;
    }
    finish(outcome, () -> sender.error(error));
    stopUpstream();
  }

  private void stopUpstream() {
    if (retryTimer != -1) {
      vertx.cancelTimer(retryTimer);
      retryTimer = -1;
    }
    if (request != null) {
      request.reset();
    }
  }

  /** Sends what is unsent, then the last event and (through {@code onDone}) the usage: as one message, in one JVM. */
  private void finish(Outcome outcome, Runnable last) {
    sender.hold();
    takeUnsent();
    done = true;
    last.run();
    onDone.accept(outcome(outcome));
    sender.flush();
  }

  private Ended outcome(Outcome how) {
    return new Ended(start.streamId(), how, facts, start, sender);
  }

  private static String reason(Throwable failure) {
    return failure.getClass().getSimpleName() + (failure.getMessage() == null ? "" : ": " + failure.getMessage());
  }

  /**
   * The response headers a client may need: ids, rate limits and the retry hints the SDKs honour, by lower-case name.
   * Names are matched whatever their case, and only the names kept are lower-cased; the values of a header sent on
   * several lines are joined with commas, as HTTP says (none of these is {@code set-cookie}, the exception).
   */
  static JsonObject passedHeaders(MultiMap upstream) {
    // Room for Claude's usual fifteen without growing.
    JsonObject out = new JsonObject(new LinkedHashMap<>(32));
    for (var e : upstream) {
      String name = e.getKey();
      if (name.equalsIgnoreCase("request-id") || name.regionMatches(true, 0, "anthropic-ratelimit-", 0, 20)
          || name.equalsIgnoreCase("retry-after") || name.equalsIgnoreCase("retry-after-ms")
          || name.equalsIgnoreCase("x-should-retry") || name.equalsIgnoreCase("content-type")) {
        out.getMap().merge(name.toLowerCase(Locale.ROOT), e.getValue(), (a, b) -> a + ", " + b);
      }
    }
    return out;
  }
}
