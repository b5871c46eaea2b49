package dev.claudeproxy.internal.config;

/**
 * How a worker treats the upstream: retries before the first byte, and timeouts.
 *
 * @param maxAttempts attempts in all, the first included ({@code UPSTREAM_MAX_ATTEMPTS})
 * @param retryBaseMs first backoff ceiling; it doubles per attempt, with full jitter ({@code UPSTREAM_RETRY_BASE_MS})
 * @param retryMaxDelayMs the largest wait before a retry, for backoff and for {@code retry-after} alike
 *     ({@code UPSTREAM_RETRY_MAX_DELAY_MS})
 * @param retryBudgetMs no retry starts later than this after the first attempt ({@code UPSTREAM_RETRY_BUDGET_MS})
 * @param firstByteTimeoutMs from sending a request to its response head ({@code UPSTREAM_FIRST_BYTE_TIMEOUT_MS})
 * @param idleTimeoutMs the longest silence between upstream bytes once the response began
 *     ({@code UPSTREAM_IDLE_TIMEOUT_MS})
 * @param totalTimeoutMs the longest a whole stream may take ({@code UPSTREAM_TOTAL_TIMEOUT_MS})
 * @param clientShouldRetry whether a client may retry an answer the proxy has already retried as far as this policy
 *     allows ({@code PROXY_CLIENT_SHOULD_RETRY}); when false such answers carry {@code x-should-retry: false}, so that
 *     the SDKs' own retries do not multiply the proxy's
 */
public record UpstreamPolicy(
    int maxAttempts,
    long retryBaseMs,
    long retryMaxDelayMs,
    long retryBudgetMs,
    long firstByteTimeoutMs,
    long idleTimeoutMs,
    long totalTimeoutMs,
    boolean clientShouldRetry) {

  public static UpstreamPolicy from(Settings s) {
    return new UpstreamPolicy(
        (int) s.longInRange("UPSTREAM_MAX_ATTEMPTS", 3, 1, 20),
        s.longInRange("UPSTREAM_RETRY_BASE_MS", 500, 1, 60_000),
        s.longInRange("UPSTREAM_RETRY_MAX_DELAY_MS", 8_000, 1, 600_000),
        s.longInRange("UPSTREAM_RETRY_BUDGET_MS", 30_000, 0, 3_600_000),
        s.longInRange("UPSTREAM_FIRST_BYTE_TIMEOUT_MS", 120_000, 10, 3_600_000),
        s.longInRange("UPSTREAM_IDLE_TIMEOUT_MS", 120_000, 10, 3_600_000),
        s.longInRange("UPSTREAM_TOTAL_TIMEOUT_MS", 3_600_000, 10, 24 * 3_600_000L),
        s.bool("PROXY_CLIENT_SHOULD_RETRY", false));
  }

  /** How often a worker looks for expired deadlines: often enough to honour the shortest one closely. */
  public long sweepIntervalMs() {
    return Math.max(5, Math.min(1_000, Math.min(firstByteTimeoutMs, Math.min(idleTimeoutMs, totalTimeoutMs)) / 10));
  }
}
