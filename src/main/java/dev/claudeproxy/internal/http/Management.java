package dev.claudeproxy.internal.http;

import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.healthchecks.Status;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.healthchecks.HealthCheckHandler;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import java.util.function.BooleanSupplier;

/**
 * The operator's endpoints: {@code /health/live}, {@code /health/ready} and {@code /metrics} (when the meters are
 * in a Prometheus registry). They are served on the
 * main port unless {@code PROXY_MANAGEMENT_PORT} gives them a server of their own ({@link ManagementVerticle}).
 */
public final class Management {
  private Management() {}

  /**
   * The endpoints as a router of their own, with relative paths, to mount anywhere.
   *
   * @param detailed whether readiness may name the upstream and say why a check failed: only where callers of the
   *     API cannot read it (the management port)
   */
  public static Router router(Vertx vertx, ProxyConfig config, NodeServices services, boolean detailed) {
    Router router = Router.router(vertx);
    routes(vertx, router, config, services.metrics(), detailed, () -> false, true);
    return router;
  }

  /**
   * Adds the endpoints to {@code router}.
   *
   * @param draining whether the node is stopping: readiness is down from the moment it is, so that a load balancer
   *     sends new requests elsewhere while open streams finish
   * @param httpSide whether this node serves the API: then it is ready only while some stream worker, on this node or
   *     another, answers
   */
  public static void routes(Vertx vertx, Router router, ProxyConfig config, ProxyMetrics metrics, boolean detailed,
      BooleanSupplier draining, boolean httpSide) {
    HealthCheckHandler live = HealthCheckHandler.create(vertx)
        .register("event-loop", promise -> promise.complete(Status.OK()));
    HealthCheckHandler ready = HealthCheckHandler.create(vertx)
        .register("accepting", promise -> promise.complete(draining.getAsBoolean()
            ? Status.KO(new JsonObject().put("reason", "the node is stopping")) : Status.OK()));
    if (httpSide) {
      ready.register("stream-workers", 2_000, promise -> vertx.eventBus()
          .request(config.bus().start(), Buffer.buffer(), new DeliveryOptions().setSendTimeout(1_500)
                .addHeader(StreamBus.H_VERSION, StreamBus.VERSION).addHeader(StreamBus.H_OP, StreamBus.OP_PING))
            .onSuccess(reply -> promise.complete(Status.OK()))
            .onFailure(e -> promise.complete(Status.KO(new JsonObject().put("reason", detailed ? e.getMessage()
                : e instanceof ReplyException re && re.failureType() == ReplyFailure.NO_HANDLERS
                    ? "no stream worker is deployed" : "no stream worker answered in time")))));
    }
    ready.register("upstream", promise -> promise.complete(detailed ? Status.OK(new JsonObject()
            .put("url", config.upstreamBaseUrl().toString()).put("simulated", config.simulated())) : Status.OK()));
    router.get("/health/live").handler(live);
    router.get("/health/ready").handler(ready);
    if (metrics.scrapable()) {
      router.get("/metrics").handler(ctx -> ctx.response()
          .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
          .end(metrics.scrape()));
    }
  }
}
