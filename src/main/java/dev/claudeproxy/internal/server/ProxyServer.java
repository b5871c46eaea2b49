package dev.claudeproxy.internal.server;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.JwtConfig;
import dev.claudeproxy.internal.config.ListenPorts;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.http.HttpVerticle;
import dev.claudeproxy.internal.http.ManagementVerticle;
import dev.claudeproxy.internal.http.NodeServices;
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
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The whole proxy in one process: the built-in simulator when there is no upstream key, the stream workers, and the
 * HTTP verticles with the users, limits, usage and meters they share. The two halves can also be deployed apart
 * ({@link #deployWorkers}, {@link #deployHttp}), on different nodes of a cluster.
 */
public final class ProxyServer {
  private final Vertx vertx;
  private final ProxyConfig config;
  private final int port;
  private final Simulator simulator;
  private final String developmentKey;
  private final NodeServices services;
  private final String workersDeployment;
  private final String httpDeployment;
  /** The management server's deployment and port, or null and -1 when metrics and health are on the main port. */
  private String managementDeployment;
  private int managementPort = -1;

  private ProxyServer(Vertx vertx, ProxyConfig config, int port, Simulator simulator, String developmentKey,
      NodeServices services, String workersDeployment, String httpDeployment) {
    this.vertx = vertx;
    this.config = config;
    this.port = port;
    this.simulator = simulator;
    this.developmentKey = developmentKey;
    this.services = services;
    this.workersDeployment = workersDeployment;
    this.httpDeployment = httpDeployment;
  }

  /** Starts everything the settings describe, with meters of its own. */
  public static Future<ProxyServer> start(Vertx vertx, Settings settings) {
    return start(vertx, settings, ProxyMetrics.create());
  }

  /** Starts everything the settings describe, recording into {@code metrics}. */
  public static Future<ProxyServer> start(Vertx vertx, Settings settings, ProxyMetrics metrics) {
    ProxyConfig config;
    JwtConfig jwt;
    try {
      config = ProxyConfig.from(settings);
      jwt = JwtConfig.from(settings);
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    Path usageFile = Path.of(settings.string("PROXY_USAGE_FILE", "data/usage.jsonl"));
    String userIdSecret = settings.string("PROXY_USER_ID_SECRET", NodeServices.DEFAULT_USER_ID_SECRET);
    Future<Simulator> simulator = config.simulated()
        ? Simulator.start(vertx, SimulatorConfig.from(settings).withHost("127.0.0.1").withPort(0))
        : Future.succeededFuture();
    return simulator.compose(sim -> {
      ProxyConfig effective = sim == null ? config : config.withUpstream(URI.create(sim.baseUrl()));
      String[] devKey = {null};
      return vertx.executeBlocking(() -> {
        UserDirectory users = users(effective, jwt, devKey);
        TokenVerifier tokens = TokenVerifier.create(vertx, jwt);
        UsageLedger ledger = UsageLedger.open(usageFile, System::currentTimeMillis);
        return new NodeServices(users, tokens, new Limiter(System::currentTimeMillis, ledger::tokensToday), ledger,
            metrics, userIdSecret);
      }).recover(e -> (sim == null ? Future.<Void>succeededFuture() : sim.close()).transform(v ->
          Future.failedFuture(e))).compose(services -> {
            AtomicInteger bound = new AtomicInteger();
            return deployWorkers(vertx, effective, metrics)
                .compose(workers -> deployHttp(vertx, effective, services, bound)
                    .map(http -> new ProxyServer(vertx, effective, bound.get(), sim, devKey[0], services, workers,
                        http)))
                .compose(server -> server.deployManagement());
          });
    });
  }

  /** Deploys the stream workers; returns the deployment id. */
  public static Future<String> deployWorkers(Vertx vertx, ProxyConfig config, ProxyMetrics metrics) {
    UpstreamTarget target = UpstreamTarget.from(config);
    return vertx.deployVerticle(() -> new StreamWorkerVerticle(target, config.upstreamPolicy(), metrics, config.bus()),
        new DeploymentOptions().setInstances(config.workerInstances()));
  }

  /**
   * Deploys the HTTP verticles and returns the port they listen on; with port 0, one free port shared by all
   * instances.
   */
  public static Future<Integer> deployHttp(Vertx vertx, ProxyConfig config, NodeServices services) {
    AtomicInteger bound = new AtomicInteger();
    return deployHttp(vertx, config, services, bound).map(id -> bound.get());
  }

  private static Future<String> deployHttp(Vertx vertx, ProxyConfig config, NodeServices services,
      AtomicInteger bound) {
    int port = ListenPorts.bindPort(config.port());
    return vertx.deployVerticle(() -> new HttpVerticle(config, services, port, bound),
        new DeploymentOptions().setInstances(config.httpInstances()));
  }

  /** With {@code PROXY_MANAGEMENT_PORT} set, serves metrics and health there (and no longer on the main port). */
  private Future<ProxyServer> deployManagement() {
    if (!config.edges().separateManagement()) {
      return Future.succeededFuture(this);
    }
    AtomicInteger bound = new AtomicInteger();
    return vertx.deployVerticle(new ManagementVerticle(config, services, bound)).map(id -> {
      managementDeployment = id;
      managementPort = bound.get();
      return this;
    });
  }

  /**
   * Stops in the order that lets streams end well: the HTTP verticles first (no new streams; open ones run on for
   * {@code PROXY_DRAIN_MS}, then end with an error event), then the workers, then the simulator; the usage journal
   * is closed last.
   */
  public Future<Void> shutdown() {
    return vertx.undeploy(httpDeployment)
        .eventually(() -> managementDeployment == null ? Future.succeededFuture()
            : vertx.undeploy(managementDeployment))
        .eventually(() -> vertx.undeploy(workersDeployment))
        .eventually(() -> simulator == null ? Future.succeededFuture() : simulator.close())
        .eventually(() -> vertx.executeBlocking(() -> {
          services.ledger().close();
          return null;
        }))
        .mapEmpty();
  }

  private static UserDirectory users(ProxyConfig config, JwtConfig jwt, String[] devKey) {
    UserDirectory users = Files.exists(config.usersFile()) ? UsersFile.read(config.usersFile())
        : new UserDirectory(List.of());
    if (jwt != null && jwt.defaultTier() != null && !users.hasTier(jwt.defaultTier())) {
      throw new ConfigException("JWT_DEFAULT_TIER names no tier in " + config.usersFile() + ": "
          + jwt.defaultTier());
    }
    if (!users.isEmpty() || jwt != null && !config.simulated()) {
      return users;
    }
    if (!config.simulated()) {
      throw new ConfigException("no users in " + config.usersFile() + ": the proxy will not expose a real"
          + " Anthropic key without them. Create one with: java -jar target/claude-stream-proxy.jar keys create"
          + " --user <id>");
    }
    devKey[0] = ApiKeys.generate();
    return users.with(new User("dev", List.of(ApiKeys.hash(devKey[0]))));
  }

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

  /** The deployment id of the stream workers. */
  public String workersDeployment() {
    return workersDeployment;
  }

  public Vertx vertx() {
    return vertx;
  }
}
