package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.users.Caller;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.ext.web.RoutingContext;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Finds the caller with a host application's own login instead of the proxy's keys and tokens: the host's answer is
 * put in the routing context as the {@link Authenticator} would; a refusal is answered in the API's error shape.
 */
public final class HostAuthenticator implements Handler<RoutingContext> {
  private static final Logger LOG = Logger.getLogger(HostAuthenticator.class.getName());

  /** A refusal the host wants answered with its status (401 or 403) and message. */
  public static final class Refused extends RuntimeException {
    private final int status;

    public Refused(int status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private final Function<RoutingContext, Future<Caller>> resolve;
  private final ProxyMetrics metrics;

  /** @param resolve the host's caller for a request; fails with {@link Refused} to refuse it */
  public HostAuthenticator(Function<RoutingContext, Future<Caller>> resolve, ProxyMetrics metrics) {
    this.resolve = resolve;
    this.metrics = metrics;
  }

  @Override
  public void handle(RoutingContext ctx) {
    Context context = Vertx.currentContext();
    Future<Caller> caller;
    try {
      caller = resolve.apply(ctx);
    } catch (RuntimeException e) {
      caller = Future.failedFuture(e);
    }
    if (caller == null) {
      caller = Future.succeededFuture();
    }
    caller.onComplete(ar -> {
      // The host's future may complete on a thread of its own: the request goes on on its own event loop.
      if (Vertx.currentContext() == context) {
        decided(ctx, ar);
      } else {
        context.runOnContext(v -> decided(ctx, ar));
      }
    });
  }

  private void decided(RoutingContext ctx, AsyncResult<Caller> ar) {
    if (ctx.response().ended()) {
      return;
    }
    if (ar.succeeded() && ar.result() != null) {
      ctx.put(Authenticator.CALLER, ar.result());
      ctx.next();
      return;
    }
    metrics.rejected("authentication");
    if (ar.failed() && ar.cause() instanceof Refused refused) {
      ErrorResponses.send(ctx.response(), refused.status == 403 ? ApiError.permission(refused.getMessage())
          : ApiError.authentication(refused.getMessage()));
      return;
    }
    if (ar.failed()) {
      LOG.log(Level.WARNING, "the host's caller resolver failed", ar.cause());
    }
    ErrorResponses.send(ctx.response(), ApiError.authentication("the caller could not be identified"));
  }
}
