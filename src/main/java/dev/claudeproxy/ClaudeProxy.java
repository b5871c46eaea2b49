package dev.claudeproxy;

import dev.claudeproxy.internal.http.HostAuthenticator;
import dev.claudeproxy.internal.http.ProxyCore;
import dev.claudeproxy.internal.users.Limits;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.util.Objects;
import java.util.function.Function;

/**
 * Claude Stream Proxy inside a host application's own Vert.x: its stream workers deployed on the host's
 * {@link Vertx}, its API routes mounted in the host's router under any prefix.
 *
 * <pre>{@code
 * ClaudeProxy proxy = ClaudeProxy.create(vertx, new JsonObject()
 *     .put("ANTHROPIC_API_KEY", System.getenv("ANTHROPIC_API_KEY"))
 *     .put("PROXY_USERS", "conf/users.json"));
 * proxy.start().onSuccess(v -> router.route("/ai/*").subRouter(proxy.router()));
 * }</pre>
 *
 * <p>The settings are the whole configuration (see {@link ClaudeProxyOptions}): the library reads no environment of
 * its own, takes the upstream key from the host, and simulates nothing unless pointed at a simulator
 * ({@link ClaudeSimulator}). {@link #router()} may be served by any number of the host's event loops; each keeps its
 * own bus inbox. {@link #close()} drains the open streams and undeploys the workers; it never closes the host's
 * {@code Vertx}.
 *
 * <p>Start the proxy outside a verticle, or close it before undeploying the verticle that started it: workers
 * deployed from a verticle's context are that verticle's children, and Vert.x undeploys them with it, before the
 * streams have drained.
 */
public final class ClaudeProxy {
  private final Vertx vertx;
  private final ClaudeProxyOptions options;
  private ProxyCore core;
  private Future<Void> starting;

  private ClaudeProxy(Vertx vertx, ClaudeProxyOptions options) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.options = new ClaudeProxyOptions(Objects.requireNonNull(options, "options"));
  }

  /**
   * A proxy on {@code vertx} with {@code settings}, by the names of the config file and environment.
   *
   * @param vertx the host's Vert.x, which the workers are deployed on
   * @param settings the settings, by the names of the config file and environment (copied)
   * @return a proxy, not yet started
   */
  public static ClaudeProxy create(Vertx vertx, JsonObject settings) {
    return new ClaudeProxy(vertx, new ClaudeProxyOptions().setSettings(settings));
  }

  /**
   * A proxy on {@code vertx} with {@code options}: settings, and the host's caller resolver, usage sink, meters.
   *
   * @param vertx the host's Vert.x, which the workers are deployed on
   * @param options the settings and what the host plugs in (copied)
   * @return a proxy, not yet started
   */
  public static ClaudeProxy create(Vertx vertx, ClaudeProxyOptions options) {
    return new ClaudeProxy(vertx, options);
  }

  /**
   * Deploys the stream workers on the host's {@code Vertx} and readies what the routes need. Fails with a message
   * naming the setting when the settings are wrong. Calling it again returns the same future.
   *
   * @return a future that succeeds once the proxy is ready to serve
   */
  public synchronized Future<Void> start() {
    if (starting == null) {
      CallerResolver resolver = options.getCallerResolver();
      UsageSink sink = options.getUsageSink();
      Function<dev.claudeproxy.internal.http.NodeServices, Handler<RoutingContext>> authenticator = resolver == null
          ? null : services -> new HostAuthenticator(request -> resolve(resolver, request), services.metrics());
      starting = ProxyCore.start(vertx, options.getSettings(), authenticator, options.getMeterRegistry(),
          sink == null ? null : record -> sink.record(usageRecord(record)))
          .map(started -> {
            synchronized (this) {
              core = started;
            }
            return (Void) null;
          });
    }
    return starting;
  }

  /**
   * The API routes ({@code /v1/messages}, {@code /v1/messages/count_tokens}, {@code /v1/models},
   * {@code /v1/chat}, {@code /v1/chat/config}, {@code /v1/usage}), to mount under any prefix:
   * {@code router.route("/ai/*").subRouter(proxy.router())}. The router answers everything under its mount point
   * itself, {@code HEAD}, {@code OPTIONS}, 404 and 405 included, in the Anthropic error shape. The same router on
   * every call; only after {@link #start()} has succeeded.
   *
   * @return the API router
   * @throws IllegalStateException when the proxy has not started
   */
  public Router router() {
    return started().router();
  }

  /**
   * A new router serving the chat page ({@code /}, {@code /static/*}, {@code /webjars/*}). Its URLs are relative:
   * mount it under the same prefix as {@link #router()}, and link to the prefix with a trailing slash
   * ({@code /ai/}).
   *
   * @return a new chat-page router
   * @throws IllegalStateException when the proxy has not started
   */
  public Router chatPage() {
    return started().chatPage();
  }

  /**
   * A new router serving {@code /health/live}, {@code /health/ready} (workers answering) and, when the meters are in
   * a Prometheus registry, {@code /metrics}: to mount where operators, not callers, reach it.
   *
   * @return a new management router
   * @throws IllegalStateException when the proxy has not started
   */
  public Router managementRouter() {
    return started().managementRouter();
  }

  /**
   * Refuses new streams, lets open ones run for up to {@code PROXY_DRAIN_MS} (then ends them with an error event),
   * undeploys the workers and closes the usage journal. The host's {@code Vertx} stays open.
   *
   * @return a future that completes once the proxy is closed
   */
  public synchronized Future<Void> close() {
    if (starting == null) {
      return Future.succeededFuture();
    }
    return starting.transform(ar -> ar.succeeded() ? core.close() : Future.succeededFuture());
  }

  private synchronized ProxyCore started() {
    if (core == null) {
      throw new IllegalStateException("the proxy has not started: call start() and wait for it");
    }
    return core;
  }

  private static Future<dev.claudeproxy.internal.users.Caller> resolve(CallerResolver resolver,
      RoutingContext request) {
    Future<Caller> caller = resolver.resolve(request);
    if (caller == null) {
      return Future.succeededFuture();
    }
    return caller.transform(ar -> {
      if (ar.failed()) {
        return Future.failedFuture(ar.cause() instanceof CallerResolver.Refusal refusal
            ? new HostAuthenticator.Refused(refusal.status(), refusal.getMessage()) : ar.cause());
      }
      Caller c = ar.result();
      if (c == null) {
        return Future.succeededFuture();
      }
      CallerLimits l = c.limits();
      return Future.succeededFuture(new dev.claudeproxy.internal.users.Caller(c.userId(), c.tier(), c.admin(),
          new Limits(l.models(), l.maxTokens(), l.requestsPerMinute(), l.tokensPerMinute(), l.concurrentStreams(),
              l.dailyTokens(), l.system()), "host"));
    });
  }

  private static UsageRecord usageRecord(JsonObject record) {
    JsonObject usage = record.getJsonObject("usage", new JsonObject());
    return new UsageRecord(record.getString("stream"), record.getString("user"), record.getString("tier"),
        record.getString("model"), record.getString("outcome"), usage.getLong("input_tokens", 0L),
        usage.getLong("output_tokens", 0L), usage.getLong("cache_creation_input_tokens", 0L),
        usage.getLong("cache_read_input_tokens", 0L), record.getBoolean("output_tokens_estimated", false));
  }
}
