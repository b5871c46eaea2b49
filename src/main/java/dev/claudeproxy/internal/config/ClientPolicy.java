package dev.claudeproxy.internal.config;

/**
 * How the HTTP side treats its clients.
 *
 * @param keepaliveMs after this long with no bytes to a streaming client, a ping is sent ({@code PROXY_KEEPALIVE_MS})
 * @param stallTimeoutMs a client that takes no bytes for this long while the proxy has some for it is disconnected
 *     ({@code PROXY_CLIENT_STALL_TIMEOUT_MS})
 * @param workerCheckMs how often the workers of open streams are checked, and how long one may take to answer
 *     ({@code PROXY_WORKER_CHECK_MS})
 * @param workerMissedChecks how many checks in a row a worker may leave unanswered before its streams are taken as
 *     lost ({@code PROXY_WORKER_MISSED_CHECKS}); a worker whose address has no consumer is lost at the first check
 * @param drainMs on shutdown, how long open streams may run on before they are ended ({@code PROXY_DRAIN_MS})
 * @param requestTimeoutMs a request body must arrive whole within this time ({@code PROXY_REQUEST_TIMEOUT_MS})
 * @param idleTimeoutMs a connection with no traffic either way for this long is closed
 *     ({@code PROXY_IDLE_TIMEOUT_MS})
 */
public record ClientPolicy(
    long keepaliveMs,
    long stallTimeoutMs,
    long workerCheckMs,
    int workerMissedChecks,
    long drainMs,
    long requestTimeoutMs,
    long idleTimeoutMs) {

  public static ClientPolicy from(Settings s) {
    return new ClientPolicy(
        s.longInRange("PROXY_KEEPALIVE_MS", 10_000, 10, 3_600_000),
        s.longInRange("PROXY_CLIENT_STALL_TIMEOUT_MS", 60_000, 10, 3_600_000),
        s.longInRange("PROXY_WORKER_CHECK_MS", 2_000, 10, 600_000),
        (int) s.longInRange("PROXY_WORKER_MISSED_CHECKS", 3, 1, 100),
        s.longInRange("PROXY_DRAIN_MS", 30_000, 0, 3_600_000),
        s.longInRange("PROXY_REQUEST_TIMEOUT_MS", 30_000, 10, 3_600_000),
        s.longInRange("PROXY_IDLE_TIMEOUT_MS", 120_000, 100, 24 * 3_600_000L));
  }

  /** How often the HTTP side sweeps its streams for keepalives, stalls and lost workers. */
  public long sweepIntervalMs() {
    return Math.max(5, Math.min(1_000, Math.min(keepaliveMs, Math.min(stallTimeoutMs, workerCheckMs)) / 4));
  }
}
