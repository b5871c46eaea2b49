package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One streaming reply in flight: writes the plan's events on the event loop at the planned pace.
 *
 * <p>Streams are woken by their event loop's {@link TokenClock} (one periodic timer for all of them); token due
 * times are kept in nanoseconds, so the clock's tick does not drift the rate, jitter varies each delay, and every
 * token that is due when the stream wakes is stepped at that wake-up. At 0 tokens per second the stream is stepped
 * in batches of events as fast as the socket drains, pausing on {@code writeQueueFull} until the drain handler fires
 * and yielding the event loop between bursts. A client that closes the connection is noticed by the response close
 * handler, which cancels the timer at once.
 *
 * <p>How the stepped events reach the socket is the {@link WriteMode}: with {@code event} each event is a write of
 * its own (a slice of the buffer the cursor stepped into), so its own flush, HTTP/1.1 chunk or HTTP/2 DATA frame, as
 * Claude's API sends them; with {@code batch} the events stepped together go out in one write. The bytes are the
 * same. A write made while the server is still reading the request is flushed only when the read is over (and on
 * HTTP/2 its DATA merges with the next), so with {@code event} a stream with no TTFT starts on the next turn of the
 * event loop rather than inside the request handler.
 */
final class SimulatedStream implements TokenClock.Task {
  private static final int BATCH_BYTES = 16 * 1024;
  /** Bytes written in one go at full speed before giving the event loop back to other connections. */
  private static final int BURST_BYTES = 256 * 1024;

  private static final int OPEN = 0;
  private static final int STALLED = 1;
  private static final int DONE = 2;

  private final Context context;
  private final TokenClock clock;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final ReplyPlan plan;
  private final ReplyPlan.Cursor cursor;
  private final SimulatorStats stats;
  private final long intervalNanos;
  private final double jitter;
  private final Scenario.Kind fault;
  private final int faultAfter;
  private final boolean perEvent;

  private long nextDue;
  private int state = OPEN;
  private final Handler<Void> resume = v -> resume();

  SimulatedStream(Vertx vertx, TokenClock clock, HttpServerRequest request, ReplyPlan plan, RequestKnobs knobs,
      int faultAfter, SimulatorStats stats) {
    this.context = vertx.getOrCreateContext();
    this.clock = clock;
    this.request = request;
    this.response = request.response();
    this.plan = plan;
    this.cursor = plan.cursor();
    this.stats = stats;
    this.intervalNanos = knobs.tokensPerSecond() > 0 ? Math.max(1, (long) (1e9 / knobs.tokensPerSecond())) : 0;
    this.jitter = knobs.jitter();
    this.fault = knobs.scenario().isMidStream() ? knobs.scenario().kind() : null;
    this.faultAfter = faultAfter;
    this.perEvent = knobs.write() == WriteMode.EVENT;
  }

  /** Sends the head and message_start now; the content follows after {@code ttftMs}. */
  void start(String messageId, long ttftMs) {
    response.setChunked(true);
    response.closeHandler(v -> onClose());
    // Write failures after a client left are expected; the close handler does the bookkeeping.
    response.exceptionHandler(t -> { });
    stats.streamStarted();
    Buffer head = Buffer.buffer(512);
    plan.appendMessageStart(head, messageId);
    response.write(head);
    nextDue = System.nanoTime() + ttftMs * 1_000_000L;
    if (ttftMs == 0 && perEvent) {
      context.runOnContext(resume);
    } else if (ttftMs == 0) {
      pump();
    } else {
      clock.schedule(this, nextDue);
    }
  }

  @Override
  public boolean live() {
    return state == OPEN;
  }

  /** The clock says a token is due. */
  @Override
  public void fire() {
    pump();
  }

  private void resume() {
    if (state != OPEN) {
      return;
    }
    // Time spent waiting for the client to read is not owed back as a burst.
    nextDue = Math.max(nextDue, System.nanoTime());
    pump();
  }

  private void pump() {
    if (state != OPEN) {
      return;
    }
    long now = System.nanoTime();
    Buffer out = Buffer.buffer(intervalNanos == 0 ? BATCH_BYTES + 512 : 512);
    int written = 0;
    int deltasBefore = cursor.deltas();
    while (true) {
      if (intervalNanos > 0 && nextDue - now > 0) {
        break;
      }
      if (fault != null && (cursor.deltas() >= faultAfter || cursor.contentDone())) {
        stats.deltas(cursor.deltas() - deltasBefore);
        injectFault(out);
        return;
      }
      cursor.step(out);
      if (cursor.contentDone() && fault == null) {
        plan.appendEnd(out);
        stats.deltas(cursor.deltas() - deltasBefore);
        finish(out);
        return;
      }
      nextDue += nextDelay();
      if (out.length() >= BATCH_BYTES) {
        written += out.length();
        send(out, false);
        out = Buffer.buffer(BATCH_BYTES + 512);
        if (response.writeQueueFull() || written >= BURST_BYTES) {
          break;
        }
      }
    }
    stats.deltas(cursor.deltas() - deltasBefore);
    if (out.length() > 0) {
      send(out, false);
    }
    if (response.writeQueueFull()) {
      response.drainHandler(resume);
    } else if (intervalNanos == 0) {
      context.runOnContext(resume);
    } else {
      clock.schedule(this, nextDue);
    }
  }

  private long nextDelay() {
    if (intervalNanos == 0) {
      return 0;
    }
    if (jitter == 0) {
      return intervalNanos;
    }
    double f = 1 + jitter * (2 * ThreadLocalRandom.current().nextDouble() - 1);
    return (long) (intervalNanos * f);
  }

  /**
   * Writes the events in {@code out}: in one write, or with {@link WriteMode#EVENT} each in a write of its own; with
   * {@code end}, the last write ends the response.
   */
  private void send(Buffer out, boolean end) {
    int n = out.length();
    int from = 0;
    while (true) {
      int to = perEvent ? Sse.eventEnd(out, from) : n;
      Buffer event = from == 0 && to == n ? out : out.slice(from, to);
      if (to < n) {
        response.write(event);
        from = to;
      } else {
        if (end) {
          response.end(event);
        } else if (to > from) {
          response.write(event);
        }
        return;
      }
    }
  }

  private void finish(Buffer last) {
    state = DONE;
    stats.streamCompleted();
    send(last, true);
  }

  private void injectFault(Buffer pending) {
    switch (fault) {
      case MIDSTREAM_ERROR -> {
        state = DONE;
        stats.streamFaulted();
        pending.appendBuffer(ApiError.overloaded("Overloaded").toSseEvent());
        send(pending, true);
      }
      case DISCONNECT -> {
        state = DONE;
        stats.streamFaulted();
        if (pending.length() > 0) {
          send(pending, false);
        }
        // No chunked terminator: the body just stops, as when the upstream connection dies.
        if (request.version() == HttpVersion.HTTP_2) {
          response.reset();
        } else {
          request.connection().close();
        }
      }
      default -> {
        // STALL: keep the connection open and silent until the client gives up.
        state = STALLED;
        if (pending.length() > 0) {
          send(pending, false);
        }
      }
    }
  }

  private void onClose() {
    if (state == DONE) {
      return;
    }
    // The clock drops the stream when its slot comes round: no token is produced for it from now on.
    state = DONE;
    stats.streamCancelled();
  }
}
