package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ClientPolicy;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one proxy node takes on at once, over all its event loops: the requests it relays ({@code PROXY_MAX_STREAMS})
 * and the starts it has sent to workers that no worker has taken yet ({@code PROXY_MAX_PENDING_STARTS}). A request
 * that finds either full is refused at once, before any upstream work, so that a burst beyond what the node can carry
 * gets clean refusals while the streams already open go on untouched.
 */
final class NodeCapacity {
  /**
   * When a client refused for capacity should try again: open streams end at their own pace (a slow one lasts
   * minutes), so a client that came back at once would most likely be refused again.
   */
  static final long CAPACITY_RETRY_AFTER_S = 5;
  /**
   * When a client refused because starts wait for a worker (too many, or its own for too long) should try again: that
   * queue drains in moments.
   */
  static final long PENDING_RETRY_AFTER_S = 1;
  private final int maxStreams;
  private final int maxPendingStarts;
  private final AtomicInteger open = new AtomicInteger();
  private final AtomicInteger pending = new AtomicInteger();

  NodeCapacity(ClientPolicy policy, ProxyMetrics metrics) {
    this.maxStreams = policy.maxStreams();
    this.maxPendingStarts = policy.maxPendingStarts();
    metrics.pendingStarts(pending);
  }

  /** A place among the node's relayed requests, given back by running it (once); null when none is free. */
  Runnable openStream() {
    return take(open, maxStreams);
  }

  /** A place among the starts waiting for a worker, given back by running it (once); null when none is free. */
  Runnable startSent() {
    return take(pending, maxPendingStarts);
  }

  private static Runnable take(AtomicInteger count, int max) {
    if (max <= 0) {
      count.incrementAndGet();
    } else {
      int now;
      do {
        now = count.get();
        if (now >= max) {
          return null;
        }
      } while (!count.compareAndSet(now, now + 1));
    }
    return new Place(count);
  }

  /** One place taken; giving it back twice gives it back once. */
  private static final class Place extends AtomicBoolean implements Runnable {
    private final AtomicInteger count;

    Place(AtomicInteger count) {
      this.count = count;
    }

    @Override
    public void run() {
      if (compareAndSet(false, true)) {
        count.decrementAndGet();
      }
    }
  }
}
