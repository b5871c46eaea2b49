package dev.claudeproxy.internal.users;

import io.vertx.core.Future;

/**
 * Decides whether a caller may start a call now, by their limits, and keeps the counts the limits need: on one node
 * ({@link Limiter}) or across a cluster ({@link ClusterLimits}).
 */
public interface Admissions {
  /**
   * Admits a request for {@code caller} (an {@link Limiter.Admission} to close when the call ends), or says which limit
   * refuses it. Never fails: state that cannot be read is a refusal too.
   */
  Future<Limiter.Decision> decide(Caller caller);

  /** Counts a finished call's input and output tokens against its user's per-minute window. */
  void recordTokens(String userId, long tokens);

  /** Gives up what the limits hold on this node (cluster leases, timers). */
  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
