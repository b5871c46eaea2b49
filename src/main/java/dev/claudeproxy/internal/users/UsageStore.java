package dev.claudeproxy.internal.users;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Token usage by UTC day, user and model: on one node ({@link UsageLedger}, with its journal) or shared by a cluster
 * ({@link ClusterUsage}).
 */
public interface UsageStore {
  /**
   * Adds a finished call's usage (cumulative counters as the stream last reported them).
   *
   * @param outputEstimated whether {@code output_tokens} is the proxy's estimate rather than the upstream's count
   */
  void record(String userId, String model, JsonObject usage, boolean outputEstimated);

  /** Input plus output tokens {@code userId} used today (UTC). */
  Future<Long> spentToday(String userId);

  /**
   * Usage by day and model for one user, or for everyone when {@code userId} is null, over the last {@code lastDays}
   * days: {@code {"days":[{"date","users":[{"user","models":[{"model","input_tokens",...}]}]}]}}.
   */
  Future<JsonObject> usageReport(String userId, int lastDays);

  /** Blocks until every record so far is in this node's journal. */
  void sync();

  /** Writes what is queued and closes the store. Blocking. */
  void close();
}
