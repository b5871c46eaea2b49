package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.bus.PassBatch;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.internal.bus.StreamEventSender;
import dev.claudeproxy.internal.bus.StreamErrors;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.config.ResumePolicy;
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

  /**
   * How a call ended, for usage accounting; {@code sender} is where its usage is reported, or null when no one is
   * left to hear it.
   */
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
  private final ResumePolicy resume;
  /** What the readers are sent from, once the stream is resumable or has more than its own reader; else null. */
  private StreamLog log;
  /** The counted events so far (pings not counted): where a log begun mid-stream starts. */
  private long position;
  /**
   * Whether the head event has been sent; a log begun after it is given it again, rebuilt from {@link #response}
   * ({@link #head()}), so that a stream nobody follows does not hold it.
   */
  private boolean headSent;
  /** Whether the answer was one the proxy would have retried, had it attempts left: its head says not to retry. */
  private boolean retriesSpent;
  /** While a detached stream waits for a reader: when it is cancelled; else 0. */
  private long graceUntil;
  /** The inbox of the client that started the stream has no consumer left (its node is gone). */
  private boolean ownerGone;

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

  UpstreamCall(Vertx vertx, HttpClient client, UpstreamTarget target, UpstreamPolicy policy, ResumePolicy resume,
      StartRequest start, StreamEventSender sender, Consumer<Ended> onDone, ProxyMetrics metrics) {
    this.resume = resume;
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
    if (start.resumable()) {
      beginLog(true);
    }
  }

  /**
   * From now on every reader, the own client first, is sent the stream's events from a {@link StreamLog}; what was
   * sent to the own client before is not in it.
   */
  private void beginLog(boolean resumable) {
    parser.recordEventEnds();
    log = new StreamLog(start.endpoint().wire(), resume.bufferBytes(), resumable, position, facts::progress);
    if (headSent) {
      log.head(head());
    }
    log.add(new StreamLog.Reader(start.streamId(), sender, true, credits), 0, headSent);
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
          request = putHeaders(req);
          return start.body().length() > 0 ? req.send(start.body()) : req.send();
        })
        .onSuccess(resp -> onResponse(thisAttempt, resp))
        .onFailure(e -> onAttemptFailure(thisAttempt, e));
  }

  private RequestOptions requestOptions() {
    return new RequestOptions()
        .setMethod(HttpMethod.valueOf(start.method()))
        .setHost(target.host())
        .setPort(target.port())
        .setSsl(target.ssl())
        .setURI(target.pathPrefix() + start.path());
  }

  /**
   * The request's headers, set on the request itself: headers in its {@link RequestOptions} would be copied into it,
   * and the options, kept by the request for as long as it lives, would hold a second map of them per stream.
   */
  private HttpClientRequest putHeaders(HttpClientRequest req) {
    req.putHeader(HttpHeaders.USER_AGENT, USER_AGENT)
        .putHeader(ANTHROPIC_VERSION, start.forward().getOrDefault("anthropic-version", DEFAULT_VERSION))
        .putHeader(HttpHeaders.ACCEPT, start.streaming() ? EVENT_STREAM : APPLICATION_JSON);
    start.forward().forEach((name, value) -> {
      if (!"anthropic-version".equals(name)) {
        req.putHeader(name, value);
      }
    });
    if (target.apiKey() != null) {
      req.putHeader(X_API_KEY, target.apiKey());
    }
    if (start.body().length() > 0) {
      req.putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
    }
    return req;
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
    retriesSpent = retryable;
    headSent = true;
    if (log == null) {
      sender.head(head());
    } else {
      log.head(head());
      log.sendAll();
    }
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
    finish(Outcome.FAILED, StreamBus.EV_ERROR, StreamErrors.encode(new ApiError(502, "api_error",
        "The upstream API could not be reached after " + attempt + (attempt == 1 ? " attempt" : " attempts")))
        .put("headers", spentRetries(new JsonObject())));
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
        position += parser.forwardedEvents() - parser.forwardedPings();
        if (log == null) {
          forward(whole, parser.forwardedEvents());
        } else {
          parser.splitEvents(whole, log::append);
          logged();
        }
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
          if (log == null) {
            events[0] += chat.translate(event, batch);
          } else {
            // One upstream event makes at most one chat event: each is kept on its own.
            Buffer one = Buffer.buffer(128);
            if (chat.translate(event, one) > 0) {
              log.append(one, 1);
            }
          }
        }
      });
      position = chat.nextId() - 1;
      if (log != null) {
        logged();
      } else if (batch.length() > 0) {
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
    if (log != null) {
      // A raw body is one piece; bytes after the last SSE event go to the own client only, like a ping.
      log.append(bytes, sse ? Math.min(events, 1) : 1);
      logged();
      return;
    }
    unsent.add(bytes, events);
    credits -= bytes.length();
    if (credits <= 0 && !paused) {
      updateFlow();
    }
  }

  /** Events were added to the log: they go to the readers at the end of this pass, and the upstream may wait. */
  private void logged() {
    unsent.schedule();
    updateFlow();
  }

  private void sendUnsent() {
    if (log != null) {
      log.sendAll();
      updateFlow();
    } else {
      takeUnsent();
    }
    sender.flush();
  }

  /**
   * Pauses the upstream while the readers cannot take more (the own client's credits are spent, or with a log, it is
   * full), and resumes it once they can.
   */
  private void updateFlow() {
    if (response == null || done) {
      return;
    }
    boolean wait = log != null ? log.full() : credits <= 0;
    if (wait && !paused) {
      paused = true;
      response.pause();
    } else if (!wait && paused) {
      paused = false;
      lastByteAt = System.currentTimeMillis();
      response.resume();
    }
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
      finish(Outcome.COMPLETED, StreamBus.EV_END, facts.summary(Outcome.COMPLETED));
      return;
    }
    Buffer rest = parser.remainder();
    if (parser.hasPartialEvent()) {
      finish(Outcome.FAILED, StreamBus.EV_ERROR,
          StreamErrors.encode(ApiError.api("upstream stream was cut off in the middle of an event")));
    } else if (facts.upstreamError() != null) {
      finish(Outcome.UPSTREAM_ERROR, StreamBus.EV_END, facts.summary(Outcome.UPSTREAM_ERROR));
    } else if (!facts.sawStop()) {
      finish(Outcome.FAILED, StreamBus.EV_ERROR,
          StreamErrors.encode(ApiError.api("upstream stream ended before message_stop")));
    } else {
      if (rest.length() > 0 && chat == null) {
        forward(rest, 0);
      }
      finish(Outcome.COMPLETED, StreamBus.EV_END, facts.summary(Outcome.COMPLETED));
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
    if (graceUntil != 0 && now > graceUntil) {
      metrics.graceExpired();
      cancelWith(Outcome.CANCELLED, ApiError.api("no reader came back to the stream within "
          + resume.graceMs() + " ms"), false);
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
        finish(Outcome.TIMEOUT, StreamBus.EV_ERROR, StreamErrors.encode(ApiError.timeout(
            "upstream did not answer within " + policy.firstByteTimeoutMs() + " ms"))
            .put("headers", spentRetries(new JsonObject())));
      }
    } else if (response != null && !paused && now - lastByteAt > policy.idleTimeoutMs()) {
      fail(Outcome.TIMEOUT, ApiError.timeout("upstream sent nothing for " + policy.idleTimeoutMs() + " ms"));
    }
  }

  /** Adds credit to a reader ({@code readerId}, or the stream's own id for its own client); the upstream may go on. */
  void grant(String readerId, long bytes) {
    if (log == null) {
      if (readerId.equals(start.streamId())) {
        credits += bytes;
        updateFlow();
      }
      return;
    }
    StreamLog.Reader reader = log.reader(readerId);
    if (reader != null) {
      log.grant(reader, bytes);
      updateFlow();
    }
  }

  /** The inbox this call's events go to. */
  String owner() {
    return start.replyTo();
  }

  /** The inboxes of the readers other than the own client. */
  void readerInboxes(java.util.Set<String> into) {
    if (log != null) {
      for (StreamLog.Reader reader : log.allReaders()) {
        if (!reader.own) {
          into.add(reader.sender.address());
        }
      }
    }
  }

  /** An inbox has no consumer left: its readers are gone; if it was the own client's, the stream goes on without it. */
  void inboxGone(String inbox) {
    if (log != null) {
      for (StreamLog.Reader reader : log.allReaders()) {
        if (!reader.own && reader.sender.address().equals(inbox)) {
          leave(reader.id);
        }
      }
    }
    if (!done && inbox.equals(start.replyTo())) {
      ownerGone = true;
      if (start.resumable()) {
        detach();
      } else {
        cancel();
      }
    }
  }

  /** Whether a reader of {@code user} (an admin, if {@code admin}) may read this stream. */
  boolean readableBy(String user, boolean admin) {
    return admin || java.util.Objects.equals(start.user(), user);
  }

  Endpoint endpoint() {
    return start.endpoint();
  }

  boolean resumable() {
    return start.resumable();
  }

  boolean done() {
    return done;
  }

  /** Readers still being sent events. */
  int readers() {
    return log == null ? 0 : log.readers();
  }

  /**
   * Adds a reader, sent the head, the events after {@code after} (null: from the oldest kept) and then the live
   * ones.
   *
   * @return the position it starts after, or a failure code ({@link StreamBus#POSITION_AHEAD},
   *     {@link StreamBus#POSITION_GONE}) negated
   */
  long follow(String readerId, StreamEventSender to, Long after, long readerCredits) {
    if (log == null) {
      if (done) {
        return -StreamBus.NO_SUCH_STREAM;
      }
      sendUnsent();
      beginLog(false);
    }
    long index = log.startAfter(after);
    if (index < 0) {
      return index;
    }
    graceUntil = 0;
    StreamLog.Reader reader = log.add(new StreamLog.Reader(readerId, to, false, 0), index, false);
    log.grant(reader, readerCredits);
    updateFlow();
    return log.positionAt(index);
  }

  /** A reader other than the own client left; on a resumable stream with no reader left, the grace begins. */
  void leave(String readerId) {
    if (log != null && log.remove(readerId) != null) {
      waitForReader();
      updateFlow();
    }
  }

  /**
   * The own client of a resumable stream went away: the stream goes on with its other readers, or for the grace.
   * Counted once, however often it is said (a {@code detach}, then the owner check finding its inbox gone).
   */
  void detach() {
    if (log == null || done) {
      cancel();
      return;
    }
    if (log.remove(start.streamId()) != null) {
      metrics.detached();
    }
    waitForReader();
    updateFlow();
  }

  private void waitForReader() {
    if (!done && log.resumable() && log.readers() == 0 && graceUntil == 0) {
      graceUntil = System.currentTimeMillis() + resume.graceMs();
    }
  }

  /** The own client went away from a stream that is not resumable: stop the upstream call now. */
  void cancel() {
    cancelWith(Outcome.CANCELLED, ApiError.api("the stream was cancelled: its client went away"), false);
  }

  /** Stopped on request: the upstream call stops now, and every reader, the own client too, gets an error event. */
  void stop() {
    if (!done) {
      metrics.stopped();
      cancelWith(Outcome.STOPPED, ApiError.api("the stream was stopped (DELETE /v1/streams/" + start.streamId()
          + ")"), true);
    }
  }

  /** Ends the call without the upstream's end: the readers left (and the own client, if {@code toOwn}) get {@code why}. */
  private void cancelWith(Outcome outcome, ApiError why, boolean toOwn) {
    if (done) {
      return;
    }
    sender.hold();
    if (toOwn && log == null) {
      takeUnsent();
    }
    done = true;
    graceUntil = 0;
    stopUpstream();
    if (log != null) {
      if (!toOwn) {
        log.remove(start.streamId());
      }
      log.end(StreamBus.EV_ERROR, StreamErrors.encode(why));
      log.sendAll();
    } else if (toOwn) {
      sender.last(StreamBus.EV_ERROR, StreamErrors.encode(why));
    }
    onDone.accept(outcome(outcome));
    sender.flush();
  }

  /** Ends the call with {@code error} sent to the client, and stops the upstream. */
  void fail(Outcome outcome, ApiError error) {
    if (done) {
      return;
    }
    finish(outcome, StreamBus.EV_ERROR, StreamErrors.encode(error));
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

  /**
   * Sends what is unsent, then the last event ({@code kind}: end or error) and (through {@code onDone}) the usage: as
   * one message, in one JVM.
   */
  private void finish(Outcome outcome, String kind, JsonObject last) {
    sender.hold();
    takeUnsent();
    done = true;
    graceUntil = 0;
    if (log != null) {
      log.end(kind, last);
      log.sendAll();
    } else {
      sender.last(kind, last);
    }
    onDone.accept(outcome(outcome));
    sender.flush();
  }

  private Ended outcome(Outcome how) {
    return new Ended(start.streamId(), how, facts, start, usageTo());
  }

  /**
   * Where the usage is reported: the own client's inbox, or once that has gone, the inbox of the latest reader, so
   * that it is counted once, by someone; null when no one is left.
   */
  private StreamEventSender usageTo() {
    if (!ownerGone) {
      return sender;
    }
    StreamEventSender latest = log == null ? null : log.latestFollower();
    return latest == null ? null : latest.about(start.streamId());
  }

  private static String reason(Throwable failure) {
    return failure.getClass().getSimpleName() + (failure.getMessage() == null ? "" : ": " + failure.getMessage());
  }

  /** The head event: the answer's status and the headers passed on. */
  private JsonObject head() {
    JsonObject headers = passedHeaders(response.headers());
    if (retriesSpent) {
      spentRetries(headers);
    }
    return new JsonObject().put("status", response.statusCode()).put("headers", headers);
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
