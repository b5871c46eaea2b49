package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.config.UpstreamPolicy;
import io.vertx.core.MultiMap;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whether and when to try an upstream call again. Only called before any byte reached the client: once one has, a
 * retry would duplicate tokens.
 *
 * <p>What is retried follows the official SDKs: connection failures and timeouts, 408, 409, 429 and every 5xx (529
 * included); {@code x-should-retry} overrides that either way. The wait honours {@code retry-after-ms}, then
 * {@code retry-after} (seconds or an HTTP date), capped; otherwise exponential backoff with full jitter.
 */
final class RetryDecision {
  private RetryDecision() {}

  static boolean retryableStatus(int status, MultiMap headers) {
    String should = headers == null ? null : headers.get("x-should-retry");
    if ("true".equalsIgnoreCase(should)) {
      return true;
    }
    if ("false".equalsIgnoreCase(should)) {
      return false;
    }
    return status == 408 || status == 409 || status == 429 || status >= 500;
  }

  /**
   * The wait before attempt {@code nextAttempt} (2 for the first retry).
   *
   * @param headers the failed response's headers, or null after a connection failure
   */
  static long delayMs(UpstreamPolicy policy, int nextAttempt, MultiMap headers, long nowMs) {
    Long hinted = headers == null ? null : hintedDelayMs(headers, nowMs);
    if (hinted != null) {
      return Math.min(Math.max(0, hinted), policy.retryMaxDelayMs());
    }
    long ceiling = Math.min(policy.retryMaxDelayMs(), policy.retryBaseMs() << Math.min(20, nextAttempt - 2));
    return ThreadLocalRandom.current().nextLong(ceiling + 1);
  }

  private static Long hintedDelayMs(MultiMap headers, long nowMs) {
    String ms = headers.get("retry-after-ms");
    if (ms != null) {
      try {
        return (long) Double.parseDouble(ms.trim());
      } catch (NumberFormatException e) {
        // fall through to retry-after
      }
    }
    String after = headers.get("retry-after");
    if (after == null) {
      return null;
    }
    try {
      return (long) (Double.parseDouble(after.trim()) * 1000);
    } catch (NumberFormatException e) {
      try {
        Instant at = ZonedDateTime.parse(after.trim(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
        return at.toEpochMilli() - nowMs;
      } catch (DateTimeParseException unparsable) {
        return null;
      }
    }
  }
}
