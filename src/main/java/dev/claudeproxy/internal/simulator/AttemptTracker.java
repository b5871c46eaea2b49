package dev.claudeproxy.internal.simulator;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Counts attempts of the same request for {@code fail_then_succeed:N}. Bounded (oldest entries go first) and
 * expiring, so a long load test cannot grow it without limit; shared by all event loops, hence synchronized (it is
 * touched only by requests that ask for this scenario).
 */
final class AttemptTracker {
  private final int maxEntries;
  private final long ttlMillis;
  private final LinkedHashMap<String, long[]> attempts;

  AttemptTracker(int maxEntries, long ttlMillis) {
    this.maxEntries = maxEntries;
    this.ttlMillis = ttlMillis;
    this.attempts = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, long[]> eldest) {
        return size() > AttemptTracker.this.maxEntries;
      }
    };
  }

  /**
   * Records one attempt and returns whether it must fail. After the N failures the next attempt succeeds and
   * forgets the key, so the same request sent again later goes through the whole cycle again.
   */
  synchronized boolean shouldFail(String key, int failures, long nowMillis) {
    long[] entry = attempts.get(key);
    if (entry == null || nowMillis - entry[1] > ttlMillis) {
      entry = new long[] {0, nowMillis};
      attempts.put(key, entry);
    }
    entry[0]++;
    entry[1] = nowMillis;
    if (entry[0] > failures) {
      attempts.remove(key);
      return false;
    }
    return true;
  }

  synchronized int size() {
    return attempts.size();
  }
}
