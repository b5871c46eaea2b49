package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.users.Limiter;
import dev.claudeproxy.internal.users.TokenVerifier;
import dev.claudeproxy.internal.users.UsageLedger;
import dev.claudeproxy.internal.users.UserDirectory;
import io.vertx.core.json.JsonObject;

/**
 * What all HTTP verticle instances of a node share: who the users are, their limits and usage, the meters and the
 * access log.
 *
 * @param tokens the JWT verifier, or null when tokens are not configured
 * @param userIdSecret the key of the opaque user ids sent upstream as {@code metadata.user_id}
 */
public record NodeServices(
    UserDirectory users,
    TokenVerifier tokens,
    Limiter limiter,
    UsageLedger ledger,
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
    return new NodeServices(users, null, new Limiter(System::currentTimeMillis, ledger::tokensToday), ledger,
        metrics, DEFAULT_USER_ID_SECRET, AccessLog.toLogger());
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
