package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.JwtConfig;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.upstream.StreamWorkerVerticle;
import dev.claudeproxy.internal.upstream.UpstreamTarget;
import dev.claudeproxy.internal.users.TokenVerifier;
import dev.claudeproxy.internal.users.UsageLedger;
import dev.claudeproxy.internal.users.UserDirectory;
import dev.claudeproxy.internal.users.UsersFile;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy as a library: on a host's {@link Vertx}, the stream workers, the users, limits, usage and meters they
 * share, and the routers to mount. What {@code dev.claudeproxy.ClaudeProxy} runs; it reads nothing but the settings
 * it is given.
 */
public final class ProxyCore {
  private static final Logger LOG = Logger.getLogger(ProxyCore.class.getName());

  private final Vertx vertx;
  private final ProxyConfig config;
  private final NodeServices services;
  private final ProxyRoutes routes;
  private final String workers;
  private final MessageConsumer<Buffer> usageTap;

  private ProxyCore(Vertx vertx, ProxyConfig config, NodeServices services, ProxyRoutes routes, String workers,
      MessageConsumer<Buffer> usageTap) {
    this.vertx = vertx;
    this.config = config;
    this.services = services;
    this.routes = routes;
    this.workers = workers;
    this.usageTap = usageTap;
  }

  /**
   * Starts the proxy on {@code vertx}.
   *
   * @param authenticator makes the handler that finds each request's caller from the node's services, or null for
   *     the users file and JWTs of the settings
   * @param registry where the meters go, or null for a registry of the proxy's own (Prometheus's when its module is
   *     on the class path)
   * @param usageTap receives the usage record of every upstream call that carried tokens, or null
   */
  public static Future<ProxyCore> start(Vertx vertx, JsonObject settings,
      Function<NodeServices, Handler<RoutingContext>> authenticator, MeterRegistry registry,
      Consumer<JsonObject> usageTap) {
    Settings s = new Settings(settings);
    ProxyConfig config;
    JwtConfig jwt;
    try {
      config = ProxyConfig.from(s);
      if (config.upstreamKey() == null && !s.has("ANTHROPIC_BASE_URL")) {
        throw new ConfigException("ANTHROPIC_API_KEY is not set: the library calls Claude with the key the host"
            + " gives it, and simulates nothing unless asked (set ANTHROPIC_BASE_URL to a simulator's URL)");
      }
      jwt = authenticator == null ? JwtConfig.from(s) : null;
      if (authenticator == null && jwt == null && !s.has("PROXY_USERS")) {
        throw new ConfigException("no way to tell callers apart: set PROXY_USERS (a users file), JWT settings, or"
            + " a CallerResolver");
      }
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    ProxyMetrics metrics = new ProxyMetrics(registry != null ? registry : ProxyMetrics.defaultRegistry());
    String userIdSecret = s.string("PROXY_USER_ID_SECRET", NodeServices.DEFAULT_USER_ID_SECRET);
    Path usageFile = s.has("PROXY_USAGE_FILE") ? Path.of(s.string("PROXY_USAGE_FILE", null)) : null;
    return vertx.executeBlocking(() -> {
      UserDirectory users = authenticator == null && s.has("PROXY_USERS") ? UsersFile.read(config.usersFile())
          : new UserDirectory(List.of());
      if (jwt != null && jwt.defaultTier() != null && !users.hasTier(jwt.defaultTier())) {
        throw new ConfigException("JWT_DEFAULT_TIER names no tier in " + config.usersFile() + ": "
            + jwt.defaultTier());
      }
      TokenVerifier tokens = jwt == null ? null : TokenVerifier.create(vertx, jwt);
      UsageLedger ledger = usageFile == null ? UsageLedger.inMemory(System::currentTimeMillis)
          : UsageLedger.open(usageFile, System::currentTimeMillis);
      return new NodeServices.Loaded(users, tokens, ledger);
    }).compose(loaded -> NodeServices.create(vertx, loaded, metrics, userIdSecret, AccessLog.toLogger(),
        config.bus().prefix(), java.util.UUID.randomUUID().toString(), ClusterConfig.stateTimeoutMs(s)))
        .compose(services -> services.tokens() == null ? Future.succeededFuture(services)
        // The keys of JWT_JWKS_URL are fetched before anything is served with them.
        : services.tokens().load().map(services).recover(e -> closeLedger(vertx, services)
            .transform(v -> Future.failedFuture(e)))).compose(services -> {
      MessageConsumer<Buffer> tap = usageTap == null ? null : tap(vertx, config, usageTap);
      return deployWorkers(vertx, config, metrics)
          .recover(e -> closeLedger(vertx, services).transform(v -> Future.failedFuture(e)))
          .map(workers -> {
            Dispatchers dispatchers = new Dispatchers(vertx, config, services);
            ProxyRoutes routes = authenticator == null ? new ProxyRoutes(vertx, config, services, dispatchers)
                : new ProxyRoutes(vertx, config, services, dispatchers, authenticator.apply(services));
            return new ProxyCore(vertx, config, services, routes, workers, tap);
          });
    });
  }

  /** Deploys the stream workers; returns the deployment id. */
  public static Future<String> deployWorkers(Vertx vertx, ProxyConfig config, ProxyMetrics metrics) {
    UpstreamTarget target = UpstreamTarget.from(config);
    return vertx.deployVerticle(() -> new StreamWorkerVerticle(target, config.upstreamPolicy(),
            config.resumePolicy(), metrics, config.bus(), config.clientPolicy().workerCheckMs(),
            config.clientPolicy().drainMs()),
        new DeploymentOptions().setInstances(config.workerInstances()));
  }

  private static MessageConsumer<Buffer> tap(Vertx vertx, ProxyConfig config, Consumer<JsonObject> usageTap) {
    return vertx.eventBus().<Buffer>localConsumer(config.bus().usage(), message -> {
      JsonObject record = new JsonObject(message.body());
      if (!UsageLedger.carriesTokens(record.getJsonObject("usage", new JsonObject()))) {
        return;
      }
      try {
        usageTap.accept(record);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "the usage sink failed on a record", e);
      }
    });
  }

  private static Future<Void> closeLedger(Vertx vertx, NodeServices services) {
    if (services.tokens() != null) {
      services.tokens().close();
    }
    return services.closeShared().eventually(() -> vertx.executeBlocking(() -> {
      services.ledger().close();
      return null;
    }));
  }

  /** The API routes. */
  public Router router() {
    return routes.router();
  }

  /** A new router serving the chat page. */
  public Router chatPage() {
    return ChatPage.router(vertx);
  }

  /** A new router serving health and, with a Prometheus registry, metrics. */
  public Router managementRouter() {
    return Management.router(vertx, config, services, true);
  }

  public NodeServices services() {
    return services;
  }

  public ProxyConfig config() {
    return config;
  }

  /** Streams open now on every event loop. */
  public int openStreams() {
    return routes.dispatchers().openStreams();
  }

  /**
   * Refuses new streams, lets open ones run for up to {@code PROXY_DRAIN_MS}, ends the rest with an error event,
   * then undeploys the workers and closes the usage journal. The host's {@link Vertx} stays open.
   */
  public Future<Void> close() {
    return routes.dispatchers().drainAll(config.clientPolicy().drainMs())
        .eventually(() -> vertx.undeploy(workers))
        .eventually(() -> usageTap == null ? Future.succeededFuture() : usageTap.unregister())
        .eventually(() -> closeLedger(vertx, services))
        .mapEmpty();
  }
}
