package dev.claudeproxy.internal.config;

import dev.claudeproxy.StreamClientOptions;
import java.lang.management.ManagementFactory;

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
 * @param maxStreams the most requests one proxy node relays at once, streams or not ({@code PROXY_MAX_STREAMS}); 0 for
 *     no limit
 * @param maxPendingStarts the most starts one proxy node has sent to workers and not yet seen taken
 *     ({@code PROXY_MAX_PENDING_STARTS}); 0 for no limit
 */
public record ClientPolicy(
    long keepaliveMs,
    long stallTimeoutMs,
    long workerCheckMs,
    int workerMissedChecks,
    long drainMs,
    long requestTimeoutMs,
    long idleTimeoutMs,
    int maxStreams,
    int maxPendingStarts) {

  /** Descriptors kept for what is not a stream (the jar, event loops, listeners, upstream and cluster connections). */
  static final long RESERVED_DESCRIPTORS = 1_000;

  /**
   * Settings read from {@code s}.
   *
   * @param descriptorsPerStream the file descriptors one stream holds in this process: 2 when it also holds the
   *     stream's upstream connection (workers in this process, HTTP/1.1 upstream), else 1 (the client's socket)
   * @param pendingStarts the default of {@code PROXY_MAX_PENDING_STARTS}
   */
  public static ClientPolicy from(Settings s, int descriptorsPerStream, int pendingStarts) {
    return new ClientPolicy(
        s.longInRange("PROXY_KEEPALIVE_MS", 10_000, 10, 3_600_000),
        s.longInRange("PROXY_CLIENT_STALL_TIMEOUT_MS", 60_000, 10, 3_600_000),
        // The same defaults as StreamClient's, which checks workers the same way.
        s.longInRange("PROXY_WORKER_CHECK_MS", StreamClientOptions.DEFAULT_WORKER_CHECK_MS, 10, 600_000),
        (int) s.longInRange("PROXY_WORKER_MISSED_CHECKS", StreamClientOptions.DEFAULT_WORKER_MISSED_CHECKS, 1, 100),
        s.longInRange("PROXY_DRAIN_MS", 30_000, 0, 3_600_000),
        s.longInRange("PROXY_REQUEST_TIMEOUT_MS", 30_000, 10, 3_600_000),
        s.longInRange("PROXY_IDLE_TIMEOUT_MS", 120_000, 100, 24 * 3_600_000L),
        (int) s.longInRange("PROXY_MAX_STREAMS", streamsForDescriptors(openFileLimit(), descriptorsPerStream), 0,
            Integer.MAX_VALUE),
        (int) s.longInRange("PROXY_MAX_PENDING_STARTS", pendingStarts, 0, Integer.MAX_VALUE));
  }

  /**
   * The default of {@code PROXY_MAX_STREAMS}: as many streams as the process's open-file limit leaves room for, once
   * {@link #RESERVED_DESCRIPTORS} (a tenth of a small limit) are kept for everything else. A stream past that would
   * find no descriptor for its socket, and the node would fail accepts and upstream connections for everyone instead
   * of refusing the one stream too many. 0 (no limit) where the limit cannot be read.
   */
  static int streamsForDescriptors(long openFileLimit, int descriptorsPerStream) {
    if (openFileLimit <= 0) {
      return 0;
    }
    long room = openFileLimit - Math.min(RESERVED_DESCRIPTORS, openFileLimit / 10);
    return (int) Math.min(Integer.MAX_VALUE, Math.max(1, room / Math.max(1, descriptorsPerStream)));
  }

  /** This process's limit on open files (the JVM raises its soft limit to the hard one at start), or -1. */
  static long openFileLimit() {
    return ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix
        ? unix.getMaxFileDescriptorCount() : -1;
  }

  /** How often the HTTP side sweeps its streams for keepalives, stalls and lost workers. */
  public long sweepIntervalMs() {
    return Math.max(5, Math.min(1_000, Math.min(keepaliveMs, Math.min(stallTimeoutMs, workerCheckMs)) / 4));
  }
}
