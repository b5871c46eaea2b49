package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.VertxInternals;
import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.api.ChatEvents;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.bus.PassBatch;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.bus.StreamErrors;
import dev.claudeproxy.bus.StreamEvent;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The HTTP side of one stream: turns the worker's bus events into the client's response, checks their order, grants
 * credits as the client drains, keeps a quiet stream alive with pings, and cancels the upstream call when the client
 * goes away.
 */
final class ClientStream {
  /*
   * Header names and values made once as ASCII strings: their case-insensitive hash is kept, and they are written as
   * they are, where a String's is computed and each of its characters converted every time. Measured with
   * HeaderNamesBench, A/B both ways round: a streamed request's header work (two forwarded names looked up, the
   * client's head of 16 headers built and encoded) took a median of 701-1,082 ns with these against 1,190-1,512 ns
   * with plain strings, in each of four rounds (bench/analysis.md, item 33).
   */
  private static final CharSequence SSE_TYPE = HttpHeaders.createOptimized("text/event-stream; charset=utf-8");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final CharSequence X_ACCEL_BUFFERING = HttpHeaders.createOptimized("x-accel-buffering");
  private static final CharSequence NO = HttpHeaders.createOptimized("no");
  /**
   * The names of the upstream headers passed on, as ASCII strings (see above). The upstream names them (the
   * rate-limit headers under a prefix), so at most {@value #MAX_HEADER_NAMES} are kept; names past those go as they
   * are.
   */
  private static final Map<String, CharSequence> HEADER_NAMES = new ConcurrentHashMap<>();
  private static final int MAX_HEADER_NAMES = 256;
  private static final Buffer MESSAGES_PING = Buffer.buffer("event: ping\ndata: {\"type\": \"ping\"}\n\n");
  private static final Buffer CHAT_PING = Buffer.buffer(": ping\n\n");
  /** The most of an upstream error body kept to turn into an SSE error event. */
  private static final int MAX_ERROR_BODY = 64 * 1024;
  private static final String CONTENT_DELTA = "content_block_delta";
  private static final String[] CHAT_CONTENT = {"\nevent: text\n", "\nevent: thinking\n", "\nevent: tool_use\n"};

  private final String id;
  private final HttpServerResponse response;
  /** What the stream carries; a reader of another's stream learns it from its head. */
  private Endpoint endpoint;
  private final boolean streaming;
  private final EventBus bus;
  private final long creditBytes;
  private final Runnable onClose;
  private final AccessLog.Entry access;
  private final ProxyMetrics metrics;
  private final Runnable release;

  private String worker;
  /** Until when a worker must accept the stream, for a start sent without a reply; 0 when not waiting. */
  private long acceptBy;
  /** Gives back the stream's place among the node's starts waiting for a worker; null once given back. */
  private Runnable waitingForWorker;
  /** What the worker had sent for this stream (its acceptance, then each event) at the last worker check. */
  private long heardAtCheck;
  private boolean cancelWhenKnown;
  private boolean detachWhenKnown;
  private long expectedSeq;
  /** The response is an SSE stream (the upstream said 200, or a keepalive had to commit to one first). */
  private boolean sse;
  /** A keepalive sent the head before the upstream's: an upstream error must then become an SSE error event. */
  private boolean committedEarly;
  private int upstreamStatus;
  private Buffer errorBody;
  private long eventsSent;
  private long ungranted;
  private long lastWriteAt;
  private long drainWaitSince = -1;
  private boolean firstData = true;
  /** A content event has reached the client: time to first token is taken. */
  private boolean contentSeen;
  private boolean finished;
  /** The upstream's head has arrived (it may not be written yet). */
  private boolean headSeen;
  /**
   * Head and bytes not written yet. Writes are gathered over one pass of the event loop and written together when
   * it ends (or with the end of the response), so a short answer whose head, data and end arrive together costs one
   * write and one system call instead of three.
   */
  private boolean headPending;
  private final PassBatch pending;

  /**
   * @param access the request's access-log line, completed here and written once the usage is known
   * @param release gives back the place the stream holds in its user's concurrency limit
   */
  private String user;
  private String tier;
  private String progress;
  /** The stream read: this one's own id, or for a reader of another's stream ({@link #follows}), that stream's. */
  private String streamId;
  private boolean follower;
  /** The stream is resumable and this is its own client: going away detaches it rather than cancelling it. */
  private boolean resumable;
  private static final CharSequence X_STREAM_ID = HttpHeaders.createOptimized("x-stream-id");
  private static final CharSequence RETRY_AFTER = HttpHeaders.createOptimized("retry-after");
  private static final CharSequence X_STREAM_POSITION = HttpHeaders.createOptimized("x-stream-position");

  ClientStream(String id, HttpServerResponse response, Endpoint endpoint, boolean streaming, EventBus bus,
      long creditBytes, Runnable onClose, AccessLog.Entry access, ProxyMetrics metrics, Runnable release) {
    this.id = id;
    this.streamId = id;
    this.response = response;
    this.endpoint = endpoint;
    this.streaming = streaming;
    this.bus = bus;
    this.creditBytes = creditBytes;
    this.onClose = onClose;
    this.access = access;
    this.metrics = metrics;
    this.release = release;
    this.lastWriteAt = System.currentTimeMillis();
    this.pending = new PassBatch(
        java.util.Objects.requireNonNull(Vertx.currentContext(), "a client stream lives on a context"), () -> {
          if (!finished) {
            flushPending();
          }
        });
    metrics.streamStarted();
    response.closeHandler(v -> clientClosed());
  }

  /** The stream is resumable: when its client goes away, the stream goes on without it for a while. */
  void resumable() {
    this.resumable = true;
  }

  /** This reads {@code stream}, started by another request: its {@link #id()} names this reader on the bus. */
  void follows(String stream) {
    this.streamId = stream;
    this.follower = true;
    metrics.subscriber(1);
  }

  boolean follower() {
    return follower;
  }

  /** Whom the stream is for: kept for the usage of a stream whose worker dies (see {@link #progress()}). */
  void owner(String user, String tier) {
    this.user = user;
    this.tier = tier;
  }

  String user() {
    return user;
  }

  String tier() {
    return tier;
  }

  /** Records the usage a worker on another node said the stream had reached ({@code cp-usage}). */
  void progress(String usage) {
    this.progress = usage;
  }

  /** The usage last reported by a worker on another node, or null. */
  String progress() {
    return progress;
  }

  AccessLog.Entry access() {
    return access;
  }

  String id() {
    return id;
  }

  String worker() {
    return worker;
  }

  /**
   * The stream's start has been sent: {@code waiting} gives back its place among the starts waiting for a worker,
   * once a worker takes it or the stream ends, whichever comes first.
   */
  void awaitsWorker(Runnable waiting) {
    waitingForWorker = waiting;
  }

  /** Whether the stream still waits for a worker to take it: not once one has, nor once it has ended. */
  boolean waitsForWorker() {
    return worker == null && !finished;
  }

  private void workerAnswered() {
    if (waitingForWorker != null) {
      waitingForWorker.run();
      waitingForWorker = null;
    }
  }

  /** The worker accepted the stream; credits and cancels go to {@code address} from now on. */
  void accepted(String address) {
    workerAnswered();
    worker = address;
    acceptBy = 0;
    if (detachWhenKnown) {
      sendControl(StreamBus.CTL_DETACH, null);
    } else if (cancelWhenKnown || finished) {
      // Cancelled before the worker was known, or refused for want of an answer before this late one came.
      sendControl(StreamBus.CTL_CANCEL, null);
    } else if (ungranted > 0 && drainWaitSince < 0) {
      // Events came before the worker's answer: the credit they earned goes now.
      grant();
    }
  }

  /**
   * Whether the stream's worker has sent anything for it (its acceptance, an event) since the last call: a sign of
   * life that a late answer to a ping does not outweigh. Counted from what arrives anyway, so a stream pays nothing
   * for it between checks.
   */
  boolean heardSinceLastCheck() {
    long heard = expectedSeq + (worker == null ? 0 : 1);
    boolean news = heard != heardAtCheck;
    heardAtCheck = heard;
    return news;
  }

  /** The stream is refused if no worker has accepted it by {@code deadline} (see {@link #notAcceptedBy}). */
  void awaitAcceptanceUntil(long deadline) {
    acceptBy = deadline;
  }

  /** Whether the stream still waits for a worker past its deadline. */
  boolean notAcceptedBy(long now) {
    return acceptBy != 0 && worker == null && !finished && now > acceptBy;
  }

  /** No worker took the stream; an overloaded node says when to retry. */
  void refused(ApiError error) {
    if ("overloaded_error".equals(error.type()) && !response.headWritten() && !committedEarly) {
      response.putHeader(RETRY_AFTER, Long.toString(NodeCapacity.PENDING_RETRY_AFTER_S));
    }
    fail(error, false, Outcome.NO_WORKER);
  }

  void onEvent(StreamEvent event) {
    if (finished) {
      return;
    }
    long seq = event.seq();
    if (seq != expectedSeq) {
      fail(ApiError.api("stream events were lost or reordered between worker and proxy (expected " + expectedSeq
          + ", got " + seq + ")"), true, Outcome.FAILED);
      return;
    }
    expectedSeq++;
    String kind = event.op();
    switch (kind == null ? "" : kind) {
      case StreamBus.EV_HEAD -> head(event.json());
      case StreamBus.EV_DATA -> data(event.body(), event.events());
      case StreamBus.EV_END -> end(event.json());
      case StreamBus.EV_ERROR -> {
        ApiError error = StreamErrors.decode(event.json());
        if (event.json().getJsonObject("headers") != null && !response.headWritten() && !committedEarly) {
          event.json().getJsonObject("headers").forEach(h -> response.putHeader(h.getKey(), (String) h.getValue()));
        }
        fail(error, false, "timeout_error".equals(error.type()) ? Outcome.TIMEOUT : Outcome.FAILED);
      }
      default -> fail(ApiError.api("unknown stream event kind: " + kind), true, Outcome.FAILED);
    }
  }

  private void head(JsonObject head) {
    headSeen = true;
    if (follower) {
      endpoint = Endpoint.fromWire(head.getString("endpoint", endpoint.wire()));
      long after = head.getLong("after", 0L);
      eventsSent = after;
      response.putHeader(X_STREAM_POSITION, Long.toString(after));
    }
    upstreamStatus = head.getInteger("status", 502);
    metrics.upstreamStatus(upstreamStatus);
    JsonObject passed = head.getJsonObject("headers");
    access.put("upstream_status", upstreamStatus)
        .put("upstream_request_id", passed == null ? null : passed.getString("request-id"));
    if (committedEarly) {
      if (upstreamStatus != 200) {
        errorBody = Buffer.buffer();
      }
      return;
    }
    sse = streaming && upstreamStatus == 200;
    response.setStatusCode(upstreamStatus).setChunked(true);
    if (passed != null) {
      for (var header : passed) {
        if (header.getValue() instanceof String value) {
          response.putHeader(headerName(header.getKey()), value);
        }
      }
    }
    if (sse) {
      sseHeaders();
    }
    // Sent at the end of this pass of the event loop at the latest, so SDKs and browsers learn the stream has
    // started before the first token; with it if the first token is already here.
    headPending = true;
    lastWriteAt = System.currentTimeMillis();
    pending.schedule();
  }

  private static CharSequence headerName(String name) {
    CharSequence kept = HEADER_NAMES.get(name);
    if (kept != null) {
      return kept;
    }
    if (HEADER_NAMES.size() >= MAX_HEADER_NAMES) {
      return name;
    }
    return HEADER_NAMES.computeIfAbsent(name, HttpHeaders::createOptimized);
  }

  private void sseHeaders() {
    response.putHeader(HttpHeaders.CONTENT_TYPE, SSE_TYPE)
        .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE)
        .putHeader(X_ACCEL_BUFFERING, NO)
        .putHeader(X_STREAM_ID, streamId);
  }

  private void data(Buffer bytes, long events) {
    if (errorBody != null) {
      if (errorBody.length() + bytes.length() <= MAX_ERROR_BODY) {
        errorBody.appendBuffer(bytes);
      }
      return;
    }
    if (!headSeen && !committedEarly) {
      fail(ApiError.api("stream data arrived before its head"), true, Outcome.FAILED);
      return;
    }
    if (firstData && !follower) {
      firstData = false;
      long first = System.nanoTime() - access.startNanos();
      access.put("first_event_ms", first / 1_000_000);
      metrics.firstEvent(endpoint.wire(), first);
    }
    if (sse && !contentSeen && !follower && holdsContent(bytes)) {
      // Time to first token is the first content the client gets, not the message_start that comes before it.
      contentSeen = true;
      long ttft = System.nanoTime() - access.startNanos();
      access.put("ttft_ms", ttft / 1_000_000);
      metrics.firstToken(endpoint.wire(), ttft);
    }
    eventsSent += Math.max(0, events);
    metrics.forwarded(Math.max(0, events), bytes.length());
    pending.add(bytes, 0);
  }

  /**
   * Whether {@code bytes} hold a content event: a {@code content_block_delta} on {@code /v1/messages}, a
   * {@code text}, {@code thinking} or {@code tool_use} event on {@code /v1/chat}. Read only until the first one is
   * found, so a stream pays for it in its first few messages alone. The bytes are read as one Latin-1 string (a
   * plain copy) and searched with {@code String.indexOf}: a byte at a time through {@code Buffer.getByte}, on the
   * composite buffer a pass gathers, cost a stream of one delta about 3 % of its CPU.
   */
  private boolean holdsContent(Buffer bytes) {
    String text = bytes.toString(StandardCharsets.ISO_8859_1);
    if (endpoint == Endpoint.CHAT) {
      for (String marker : CHAT_CONTENT) {
        if (text.contains(marker)) {
          return true;
        }
      }
      return false;
    }
    return text.contains(CONTENT_DELTA);
  }

  /** Writes the head and the bytes gathered so far, and grants credit for them as the client takes them. */
  private void flushPending() {
    headPending = false;
    Buffer bytes = pending.take();
    if (bytes == null) {
      if (!response.headWritten()) {
        response.writeHead();
      }
      return;
    }
    write(bytes);
    ungranted += bytes.length();
    if (response.writeQueueFull()) {
      if (drainWaitSince < 0) {
        drainWaitSince = System.currentTimeMillis();
        response.drainHandler(v -> {
          drainWaitSince = -1;
          grant();
        });
      }
    } else if (ungranted >= creditBytes / 2) {
      grant();
    }
  }

  private void write(Buffer bytes) {
    VertxInternals.writeDirect(bytes, response::write);
    lastWriteAt = System.currentTimeMillis();
  }

  private void grant() {
    if (ungranted > 0 && !finished && sendControl(StreamBus.CTL_CREDIT, ungranted)) {
      ungranted = 0;
    }
  }

  private void end(JsonObject summary) {
    if (errorBody != null) {
      fail(upstreamError(), false, Outcome.UPSTREAM_ERROR);
      return;
    }
    Outcome outcome = upstreamStatus >= 400 ? Outcome.UPSTREAM_ERROR
        : Outcome.fromWire(summary.getString("outcome"), Outcome.COMPLETED);
    if (outcome == Outcome.UPSTREAM_ERROR && summary.getJsonObject("error") != null) {
      access.put("error_type", summary.getJsonObject("error").getString("type"));
      metrics.streamError(summary.getJsonObject("error").getString("type", "api_error"));
    }
    headPending = false;
    Buffer last = pending.take();
    finish(outcome);
    if (last == null) {
      response.end();
    } else {
      VertxInternals.writeDirect(last, response::end);
    }
  }

  private ApiError upstreamError() {
    try {
      ApiError error = ApiError.fromJson(upstreamStatus, new JsonObject(errorBody));
      if (error != null) {
        return error;
      }
    } catch (DecodeException | ClassCastException e) {
      // not Anthropic-shaped: described below
    }
    return new ApiError(upstreamStatus, "api_error", "upstream answered " + upstreamStatus);
  }

  /**
   * Called by the owner's sweep: sends a keepalive ping after a quiet spell, and disconnects a client that has taken
   * nothing for too long.
   *
   * @return false when the stream was ended because of its client
   */
  boolean tick(long now, long keepaliveMs, long stallTimeoutMs) {
    if (finished) {
      return true;
    }
    if (headPending || !pending.isEmpty()) {
      flushPending();
    }
    if (drainWaitSince >= 0 && now - drainWaitSince > stallTimeoutMs) {
      // The client reads nothing: let it go, and the upstream with it (a resumable stream goes on without it).
      leave();
      finish(Outcome.CLIENT_STALLED);
      response.reset();
      return false;
    }
    if (streaming && drainWaitSince < 0 && errorBody == null && now - lastWriteAt >= keepaliveMs) {
      if (!response.headWritten()) {
        committedEarly = true;
        sse = true;
        response.setStatusCode(200).setChunked(true);
        sseHeaders();
      }
      if (sse) {
        write(endpoint == Endpoint.CHAT ? CHAT_PING : MESSAGES_PING);
      }
    }
    return true;
  }

  /**
   * Ends the stream with an error: as the status and body when nothing was sent yet, as an SSE {@code error} event
   * once the stream has begun, or by cutting the connection when a plain body was half sent (so a truncated body can
   * never pass for a whole one).
   */
  void fail(ApiError error, boolean cancelUpstream, Outcome outcome) {
    if (finished) {
      return;
    }
    if (cancelUpstream) {
      cancel();
    }
    if (headPending || !pending.isEmpty()) {
      // What arrived before the failure goes first, so the client sees the stream as it was, then the error.
      flushPending();
    }
    access.put("error_type", error.type());
    metrics.streamError(error.type());
    if (!response.headWritten() && !committedEarly) {
      access.put("status", error.status());
    }
    finish(outcome);
    if (!response.headWritten() && !committedEarly) {
      ErrorResponses.send(response, error);
    } else if (sse) {
      Buffer event = endpoint == Endpoint.CHAT ? ChatEvents.error(eventsSent + 1, error) : error.toSseEvent();
      response.end(event);
    } else {
      response.reset();
    }
  }

  /**
   * The proxy is stopping: the client gets {@code error}, and the stream is cancelled, but for a resumable one, which
   * goes on for a reader on another node.
   */
  void shutDown(ApiError error) {
    if (!finished) {
      leave();
      fail(error, false, Outcome.SHUTDOWN);
    }
  }

  private void clientClosed() {
    if (!finished) {
      leave();
      if (!resumable && !follower) {
        metrics.cancelled();
      }
      finish(resumable ? Outcome.DETACHED : Outcome.CANCELLED);
    }
  }

  /**
   * The client went away: a resumable stream goes on without it, a reader of another's stream stops reading, and
   * any other stream is cancelled.
   */
  private void leave() {
    if (!resumable) {
      cancel();
    } else if (worker != null) {
      sendControl(StreamBus.CTL_DETACH, null);
    } else {
      detachWhenKnown = true;
    }
  }

  private void cancel() {
    if (worker == null) {
      cancelWhenKnown = true;
    } else {
      sendControl(StreamBus.CTL_CANCEL, null);
    }
  }

  private void finish(Outcome outcome) {
    finished = true;
    workerAnswered();
    if (follower) {
      metrics.subscriber(-1);
    }
    access.streamEnded(outcome, response.headWritten() || headSeen ? response.getStatusCode() : null);
    metrics.streamEnded(endpoint.wire(), outcome, System.nanoTime() - access.startNanos());
    release.run();
    onClose.run();
  }

  /** Sends a control message to the stream's worker; false when it is not known yet. */
  private boolean sendControl(String op, Long credits) {
    if (worker == null) {
      return false;
    }
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, streamId);
    if (follower) {
      options.addHeader(StreamBus.H_READER, id);
    }
    if (credits != null) {
      options.addHeader(StreamBus.H_CREDITS, Long.toString(credits));
    }
    bus.send(worker, Buffer.buffer(), options);
    return true;
  }
}
