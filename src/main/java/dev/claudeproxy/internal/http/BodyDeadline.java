package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * A request body that dribbles in, or never ends, is answered 408 and its connection closed, so a slow sender cannot
 * hold a connection for ever. Runs before the body handler (hence a platform handler); {@link #arrived} disarms it.
 *
 * <p>One instance per HTTP verticle, used on its event loop only. Every body has the same allowance, so the requests
 * waiting for theirs are in deadline order as they come: they wait in a list, and one timer at a time is armed, for
 * the first of them. A request costs a list entry rather than a timer of its own set and cancelled (a timer-map
 * entry and a scheduled task on the event loop each), which a stream paid for its few milliseconds of body.
 */
final class BodyDeadline implements PlatformHandler {
  private static final String WAITING = "claude-proxy.body-deadline";

  private final Vertx vertx;
  private final long timeoutMs;
  /** The requests whose bodies have not arrived, earliest deadline first. */
  private Waiting first;
  private Waiting last;
  private long timer = -1;

  /** A request waiting for its body, linked both ways so that it leaves the list at once when the body comes. */
  private static final class Waiting {
    final RoutingContext ctx;
    final long deadline;
    Waiting previous;
    Waiting next;
    boolean linked = true;

    Waiting(RoutingContext ctx, long deadline) {
      this.ctx = ctx;
      this.deadline = deadline;
    }
  }

  BodyDeadline(Vertx vertx, long timeoutMs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
  }

  @Override
  public void handle(RoutingContext ctx) {
    Waiting waiting = new Waiting(ctx, System.currentTimeMillis() + timeoutMs);
    if (last == null) {
      first = waiting;
    } else {
      last.next = waiting;
      waiting.previous = last;
    }
    last = waiting;
    ctx.put(WAITING, waiting);
    // Answered before its body came (refused, too large): it no longer waits.
    ctx.addEndHandler(v -> unlink(waiting));
    if (timer == -1) {
      arm(timeoutMs);
    }
    ctx.next();
  }

  /** The body is complete: the deadline no longer applies. */
  void arrived(RoutingContext ctx) {
    Waiting waiting = ctx.get(WAITING);
    if (waiting != null) {
      unlink(waiting);
    }
    ctx.next();
  }

  private void arm(long delayMs) {
    timer = vertx.setTimer(Math.max(1, delayMs), id -> expire());
  }

  /** Answers every request whose deadline has passed, then waits for the next one, if any. */
  private void expire() {
    timer = -1;
    long now = System.currentTimeMillis();
    while (first != null && first.deadline <= now) {
      Waiting late = first;
      unlink(late);
      HttpServerResponse response = late.ctx.response();
      if (!response.ended()) {
        response.putHeader("connection", "close");
        // The request is still unread, so the server would keep the connection for the rest of it: close it once
        // the answer is out.
        late.ctx.addEndHandler(v -> late.ctx.request().connection().close());
        ErrorResponses.send(response, new ApiError(408, "invalid_request_error",
            "the request body did not arrive within " + timeoutMs + " ms"));
      }
    }
    if (first != null) {
      arm(first.deadline - now);
    }
  }

  private void unlink(Waiting waiting) {
    if (!waiting.linked) {
      return;
    }
    waiting.linked = false;
    if (waiting.previous == null) {
      first = waiting.next;
    } else {
      waiting.previous.next = waiting.next;
    }
    if (waiting.next == null) {
      last = waiting.previous;
    } else {
      waiting.next.previous = waiting.previous;
    }
    waiting.previous = null;
    waiting.next = null;
  }
}
