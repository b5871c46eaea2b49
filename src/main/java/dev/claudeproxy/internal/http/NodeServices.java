package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.users.Admissions;
import dev.claudeproxy.internal.users.ClusterLimits;
import dev.claudeproxy.internal.users.ClusterState;
import dev.claudeproxy.internal.users.ClusterUsage;
import dev.claudeproxy.internal.users.Limiter;
import dev.claudeproxy.internal.users.TokenVerifier;
import dev.claudeproxy.internal.users.UsageLedger;
import dev.claudeproxy.internal.users.UsageStore;
import dev.claudeproxy.internal.users.UserDirectory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;

/**
 * What all HTTP verticle instances of a node share: who the users are, their limits and usage, the meters and the
 * access log.
 *
 * @param tokens the JWT verifier, or null when tokens are not configured
 * @param limiter the limits: this node's, or the cluster's
 * @param ledger the usage: this node's journal, or the cluster's totals
 * @param shared the cluster-wide state the limits and usage keep, or null on a single node
 * @param userIdSecret the key of the opaque user ids sent upstream as {@code metadata.user_id}
 */
public record NodeServices(
    UserDirectory users,
    TokenVerifier tokens,
    Admissions limiter,
    UsageStore ledger,
    ClusterState shared,
    ProxyMetrics metrics,
    String userIdSecret,
    AccessLog accessLog) {

  /** The default key of opaque user ids, when {@code PROXY_USER_ID_SECRET} is not set. */
  public static final String DEFAULT_USER_ID_SECRET = "claude-stream-proxy";

  /**
   * Services for {@code users} with usage kept in memory, no tokens, and access lines on the logger
   * {@value AccessLog#LOGGER}: for embedding and tests.
   */
  public static NodeServices inMemory(UserDirectory users, ProxyMetrics metrics) {
    UsageLedger ledger = UsageLedger.inMemory(System::currentTimeMillis);
    return new NodeServices(users, null, new Limiter(System::currentTimeMillis, ledger::tokensToday), ledger, null,
        metrics, DEFAULT_USER_ID_SECRET, AccessLog.toLogger());
  }

  /**
   * What a node reads from its files at start, off the event loop.
   *
   * @param journal the usage journal
   */
  public record Loaded(UserDirectory users, TokenVerifier tokens, UsageLedger journal) {}

  /**
   * Limits and usage for {@code vertx}: this node's own, with the journal as the usage, or, on a clustered Vert.x,
   * the cluster's, with the journal as this node's record of its share. Completes once the node's lease in the
   * cluster is taken.
   *
   * @param nodeId this node's name in the cluster's state, unique
   * @param stateTimeoutMs how long a new stream waits for the cluster's state before it is refused
   */
  public static Future<NodeServices> create(Vertx vertx, Loaded loaded, ProxyMetrics metrics, String userIdSecret,
      AccessLog accessLog, String busPrefix, String nodeId, long stateTimeoutMs) {
    UserDirectory users = loaded.users();
    TokenVerifier tokens = loaded.tokens();
    UsageLedger journal = loaded.journal();
    if (!vertx.isClustered()) {
      return Future.succeededFuture(new NodeServices(users, tokens, new Limiter(System::currentTimeMillis,
          journal::tokensToday), journal, null, metrics, userIdSecret, accessLog));
    }
    ClusterState state = new ClusterState(vertx, busPrefix, nodeId, stateTimeoutMs);
    ClusterUsage usage = new ClusterUsage(vertx, state, journal, System::currentTimeMillis);
    return state.start().recover(e -> Future.succeededFuture()).map(v -> new NodeServices(users, tokens,
        new ClusterLimits(vertx, state, usage, System::currentTimeMillis), usage, state, metrics, userIdSecret,
        accessLog));
  }

  /** Lets go of the limits' timers and the node's lease in the cluster. */
  public Future<Void> closeShared() {
    return limiter.close().eventually(() -> shared == null ? Future.succeededFuture() : shared.close());
  }

  /**
   * Accounts one finished call, as its worker reported it. A call that carried no usage (refused upstream, a model
   * listing, a token count, cancelled before the upstream answered) makes no row.
   */
  void recordUsage(JsonObject outcome) {
    String user = outcome.getString("user");
    JsonObject usage = outcome.getJsonObject("usage", new JsonObject());
    if (!UsageLedger.carriesTokens(usage)) {
      return;
    }
    String model = outcome.getString("model");
    if (user != null) {
      ledger.record(user, model, usage, outcome.getBoolean("output_tokens_estimated", false));
      limiter.recordTokens(user, usage.getLong("input_tokens", 0L) + usage.getLong("output_tokens", 0L));
    }
    metrics.tokens(outcome.getString("tier"), model, usage);
  }
}
