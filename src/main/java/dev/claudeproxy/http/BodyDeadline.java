package dev.claudeproxy.http;

import dev.claudeproxy.api.ApiError;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.PlatformHandler;

/**
 * A request body that dribbles in, or never ends, is answered 408 and its connection closed, so a slow sender cannot
 * hold a connection for ever. Runs before the body handler (hence a platform handler); {@link #arrived} disarms it.
 */
final class BodyDeadline implements PlatformHandler {
  private static final String TIMER = "claude-proxy.body-deadline";

  private final Vertx vertx;
  private final long timeoutMs;

  BodyDeadline(Vertx vertx, long timeoutMs) {
    this.vertx = vertx;
    this.timeoutMs = timeoutMs;
  }

  @Override
  public void handle(RoutingContext ctx) {
    long timer = vertx.setTimer(timeoutMs, id -> {
      ctx.response().putHeader("connection", "close");
      ErrorResponses.send(ctx.response(), new ApiError(408, "invalid_request_error",
          "the request body did not arrive within " + timeoutMs + " ms"));
    });
    ctx.put(TIMER, timer);
    ctx.addEndHandler(v -> vertx.cancelTimer(timer));
    ctx.next();
  }

  /** The body is complete: the deadline no longer applies. */
  void arrived(RoutingContext ctx) {
    Long timer = ctx.get(TIMER);
    if (timer != null) {
      vertx.cancelTimer(timer);
    }
    ctx.next();
  }
}
