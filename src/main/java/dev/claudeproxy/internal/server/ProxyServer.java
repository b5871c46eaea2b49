package dev.claudeproxy.internal.server;

import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.JwtConfig;
import dev.claudeproxy.internal.config.ListenPorts;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.http.Dispatchers;
import dev.claudeproxy.internal.http.HttpVerticle;
import dev.claudeproxy.internal.http.ProxyCore;
import dev.claudeproxy.internal.http.ProxyRoutes;
import dev.claudeproxy.internal.http.ManagementVerticle;
import dev.claudeproxy.internal.http.NodeServices;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import dev.claudeproxy.internal.upstream.StreamWorkerVerticle;
import dev.claudeproxy.internal.upstream.UpstreamTarget;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.Limiter;
import dev.claudeproxy.internal.users.TokenVerifier;
import dev.claudeproxy.internal.users.UsageLedger;
import dev.claudeproxy.internal.users.User;
import dev.claudeproxy.internal.users.UserDirectory;
import dev.claudeproxy.internal.users.UsersFile;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy as a server: in one process (role {@code all}) the built-in simulator when there is no upstream key, the
 * stream workers, and the HTTP verticles with the users, limits, usage and meters they share. In a cluster, a node
 * runs one half: role {@code http} (the API, users and limits, no upstream key) or {@code worker} (the stream workers
 * and, without a key, a simulator of its own; health and metrics only).
 */
public final class ProxyServer {
  private final Vertx vertx;
  private final ProxyConfig config;
  private final ClusterConfig cluster;
  private final int port;
  private final Simulator simulator;
  private final String developmentKey;
  private final NodeServices services;
  private final String workersDeployment;
  private final String httpDeployment;
  private final long shutdownDelayMs;
  /** Set when the node begins to stop: readiness is down from then on. */
  private final AtomicBoolean draining;
  /** The management server's deployment and port, or null and -1 when metrics and health are on the main port. */
  private String managementDeployment;
  private int managementPort = -1;

  private ProxyServer(Vertx vertx, ProxyConfig config, ClusterConfig cluster, int port, Simulator simulator,
      String developmentKey, NodeServices services, String workersDeployment, String httpDeployment,
      long shutdownDelayMs, AtomicBoolean draining) {
    this.vertx = vertx;
    this.config = config;
    this.cluster = cluster;
    this.port = port;
    this.simulator = simulator;
    this.developmentKey = developmentKey;
    this.services = services;
    this.workersDeployment = workersDeployment;
    this.httpDeployment = httpDeployment;
    this.shutdownDelayMs = shutdownDelayMs;
    this.draining = draining;
  }

  /** Starts everything the settings describe, with meters of its own. */
  public static Future<ProxyServer> start(Vertx vertx, Settings settings) {
    return start(vertx, settings, ProxyMetrics.create());
  }

  /** Starts everything the settings describe, recording into {@code metrics}, access lines on the logger. */
  public static Future<ProxyServer> start(Vertx vertx, Settings settings, ProxyMetrics metrics) {
    return start(vertx, settings, metrics, AccessLog.toLogger());
  }

  /** Starts everything the settings describe, recording into {@code metrics}, access lines into {@code log}. */
  public static Future<ProxyServer> start(Vertx vertx, Settings settings, ProxyMetrics metrics, AccessLog log) {
    ProxyConfig config;
    JwtConfig jwt;
    ClusterConfig cluster;
    long shutdownDelayMs;
    try {
      config = ProxyConfig.from(settings);
      jwt = JwtConfig.from(settings);
      cluster = ClusterConfig.from(settings);
      shutdownDelayMs = settings.longInRange("PROXY_SHUTDOWN_DELAY_MS", 0, 0, 600_000);
      if (!cluster.clustered() && !ClusterConfig.ALL.equals(cluster.role())) {
        throw new ConfigException("PROXY_ROLE=" + cluster.role() + " needs a clustered Vert.x");
      }
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    AtomicBoolean draining = new AtomicBoolean();
    Path usageFile = Path.of(settings.string("PROXY_USAGE_FILE", "data/usage.jsonl"));
    String userIdSecret = settings.string("PROXY_USER_ID_SECRET", NodeServices.DEFAULT_USER_ID_SECRET);
    // The simulator answers for the workers: a node without workers needs neither it nor an upstream key.
    Future<Simulator> simulator = config.simulated() && cluster.runsWorkers()
        ? Simulator.start(vertx, SimulatorConfig.from(settings).withHost("127.0.0.1").withPort(0))
        : Future.succeededFuture();
    return simulator.compose(sim -> {
      ProxyConfig effective = sim == null ? config : config.withUpstream(URI.create(sim.baseUrl()));
      if (!cluster.servesHttp()) {
        return startWorkerNode(vertx, effective, cluster, sim, metrics, log, shutdownDelayMs, draining)
            .recover(e -> (sim == null ? Future.<Void>succeededFuture() : sim.close())
                .transform(v -> Future.failedFuture(e)));
      }
      String[] devKey = {null};
      return vertx.executeBlocking(() -> {
        UserDirectory users = users(effective, cluster, jwt, devKey);
        TokenVerifier tokens = TokenVerifier.create(vertx, jwt);
        UsageLedger ledger = UsageLedger.open(usageFile, System::currentTimeMillis);
        return new NodeServices.Loaded(users, tokens, ledger);
      }).compose(loaded -> NodeServices.create(vertx, loaded, metrics, userIdSecret, log, effective.bus().prefix(),
              cluster.nodeId(), cluster.stateTimeoutMs()))
          .compose(ProxyServer::loadKeys)
          .recover(e -> (sim == null ? Future.<Void>succeededFuture() : sim.close()).transform(v ->
          Future.failedFuture(e))).compose(services -> {
            AtomicInteger bound = new AtomicInteger();
            Future<String> workers = cluster.runsWorkers() ? deployWorkers(vertx, effective, metrics)
                : Future.succeededFuture();
            return workers
                .compose(w -> deployHttp(vertx, effective, services, bound, draining::get)
                    .map(http -> new ProxyServer(vertx, effective, cluster, bound.get(), sim, devKey[0], services, w,
                        http, shutdownDelayMs, draining)))
                .compose(server -> server.deployManagement(effective.edges().managementPort()));
          });
    });
  }

  /** A worker node: the stream workers, their access lines, and health and metrics on the management port. */
  private static Future<ProxyServer> startWorkerNode(Vertx vertx, ProxyConfig config, ClusterConfig cluster,
      Simulator sim, ProxyMetrics metrics, AccessLog log, long shutdownDelayMs, AtomicBoolean draining) {
    vertx.eventBus().<Buffer>localConsumer(config.bus().usage(), message ->
        log.workerCall(new JsonObject(message.body())));
    int managementPort = config.edges().separateManagement() ? config.edges().managementPort() : config.port();
    return deployWorkers(vertx, config, metrics)
        .map(w -> new ProxyServer(vertx, config, cluster, -1, sim, null, null, w, null, shutdownDelayMs, draining))
        .compose(server -> server.deployManagement(managementPort, metrics));
  }

  /** Fetches the JWT key set of {@code JWT_JWKS_URL}, when it is set; a proxy without it does not start. */
  private static Future<NodeServices> loadKeys(NodeServices services) {
    if (services.tokens() == null) {
      return Future.succeededFuture(services);
    }
    return services.tokens().load().map(services).onFailure(e -> services.tokens().close());
  }

  /** Deploys the stream workers; returns the deployment id. */
  public static Future<String> deployWorkers(Vertx vertx, ProxyConfig config, ProxyMetrics metrics) {
    return ProxyCore.deployWorkers(vertx, config, metrics);
  }

  /**
   * Deploys the HTTP verticles and returns the port they listen on; with port 0, one free port shared by all
   * instances.
   */
  public static Future<Integer> deployHttp(Vertx vertx, ProxyConfig config, NodeServices services) {
    AtomicInteger bound = new AtomicInteger();
    return deployHttp(vertx, config, services, bound, () -> false).map(id -> bound.get());
  }

  private static Future<String> deployHttp(Vertx vertx, ProxyConfig config, NodeServices services,
      AtomicInteger bound, BooleanSupplier draining) {
    int port = ListenPorts.bindPort(config.port());
    ProxyRoutes routes = new ProxyRoutes(vertx, config, services, new Dispatchers(vertx, config, services));
    return vertx.deployVerticle(() -> new HttpVerticle(config, routes, services, port, bound, draining),
        new DeploymentOptions().setInstances(config.httpInstances()));
  }

  /** With {@code PROXY_MANAGEMENT_PORT} set, serves metrics and health there (and no longer on the main port). */
  private Future<ProxyServer> deployManagement(int listenPort) {
    if (listenPort < 0) {
      return Future.succeededFuture(this);
    }
    return deployManagement(listenPort, services.metrics());
  }

  private Future<ProxyServer> deployManagement(int listenPort, ProxyMetrics metrics) {
    AtomicInteger bound = new AtomicInteger();
    return vertx.deployVerticle(new ManagementVerticle(config, metrics, draining::get, cluster.servesHttp(),
        ListenPorts.bindPort(listenPort), bound)).map(id -> {
          managementDeployment = id;
          managementPort = bound.get();
          return this;
        });
  }

  /**
   * Stops in the order that lets streams end well. Readiness goes down at once; after {@code PROXY_SHUTDOWN_DELAY_MS}
   * (time for a load balancer to see it) the HTTP verticles stop taking streams, and open ones run on for
   * {@code PROXY_DRAIN_MS}, then end with an error event; then the workers, which take no new streams and let
   * theirs finish for up to {@code PROXY_DRAIN_MS}; then health and metrics, the simulator, and the usage journal.
   */
  public Future<Void> shutdown() {
    draining.set(true);
    Future<Void> delay = httpDeployment != null && shutdownDelayMs > 0
        ? vertx.timer(shutdownDelayMs, java.util.concurrent.TimeUnit.MILLISECONDS).mapEmpty()
        : Future.succeededFuture();
    return delay
        .compose(v -> httpDeployment == null ? Future.succeededFuture() : vertx.undeploy(httpDeployment))
        .eventually(() -> workersDeployment == null ? Future.succeededFuture() : vertx.undeploy(workersDeployment))
        .eventually(() -> managementDeployment == null ? Future.succeededFuture()
            : vertx.undeploy(managementDeployment))
        .eventually(() -> simulator == null ? Future.succeededFuture() : simulator.close())
        .eventually(() -> services == null ? Future.succeededFuture() : services.closeShared())
        .eventually(() -> services == null ? Future.succeededFuture() : vertx.executeBlocking(() -> {
          services.ledger().close();
          if (services.tokens() != null) {
            services.tokens().close();
          }
          return null;
        }))
        .mapEmpty();
  }

  private static UserDirectory users(ProxyConfig config, ClusterConfig cluster, JwtConfig jwt, String[] devKey) {
    UserDirectory users = Files.exists(config.usersFile()) ? UsersFile.read(config.usersFile())
        : new UserDirectory(List.of());
    if (jwt != null && jwt.defaultTier() != null && !users.hasTier(jwt.defaultTier())) {
      throw new ConfigException("JWT_DEFAULT_TIER names no tier in " + config.usersFile() + ": "
          + jwt.defaultTier());
    }
    if (!users.isEmpty() || jwt != null && (!config.simulated() || !cluster.runsWorkers())) {
      return users;
    }
    if (!cluster.runsWorkers()) {
      throw new ConfigException("an HTTP node needs users: no users in " + config.usersFile() + " and no JWT"
          + " settings. Create a key with: java -jar target/claude-stream-proxy-server.jar keys create --user <id>");
    }
    if (!config.simulated()) {
      throw new ConfigException("no users in " + config.usersFile() + ": the proxy will not expose a real"
          + " Anthropic key without them. Create one with: java -jar target/claude-stream-proxy-server.jar keys create"
          + " --user <id>");
    }
    devKey[0] = ApiKeys.generate();
    return users.with(new User("dev", List.of(ApiKeys.hash(devKey[0]))));
  }

  /** The API's port, or -1 on a worker node. */
  public int port() {
    return port;
  }

  /** The port of metrics and health when they have a server of their own, else -1 (they are on {@link #port()}). */
  public int managementPort() {
    return managementPort;
  }

  public ProxyConfig config() {
    return config;
  }

  public NodeServices services() {
    return services;
  }

  /** The embedded simulator, or null when the upstream is Claude. */
  public Simulator simulator() {
    return simulator;
  }

  /** The development key made at start in simulator mode without users, or null. */
  public String developmentKey() {
    return developmentKey;
  }

  /** What this node is in the deployment. */
  public ClusterConfig cluster() {
    return cluster;
  }

  /** The deployment id of the stream workers, or null on an HTTP node. */
  public String workersDeployment() {
    return workersDeployment;
  }

  public Vertx vertx() {
    return vertx;
  }
}
