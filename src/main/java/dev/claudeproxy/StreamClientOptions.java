package dev.claudeproxy;

import dev.claudeproxy.bus.BusAddresses;

/**
 * Settings of a {@link StreamClient}: which proxy's workers it talks to (the bus prefix), how many bytes a stream may
 * have in flight towards it, and how patient it is. A plain options object: set what differs from the defaults, then
 * give it to {@link StreamClient#create(io.vertx.core.Vertx, StreamClientOptions)}, which takes a copy.
 */
public final class StreamClientOptions {
  /** The default credit window, the proxy's own {@code PROXY_STREAM_CREDIT_BYTES} default: 256 KiB. */
  public static final int DEFAULT_CREDIT_WINDOW_BYTES = 256 * 1024;
  /** The default start timeout, the proxy's own {@code PROXY_START_TIMEOUT_MS} default. */
  public static final long DEFAULT_START_TIMEOUT_MS = 5_000;
  /** The default interval of worker checks, the proxy's own {@code PROXY_WORKER_CHECK_MS} default. */
  public static final long DEFAULT_WORKER_CHECK_MS = 2_000;
  /**
   * The default number of worker checks in a row that may go unanswered, as {@code PROXY_WORKER_MISSED_CHECKS}: with
   * checks every 2 s, a worker silent for about 16 s is given up. It was 3 (about 8 s); a saturated machine's nodes
   * stalled for 6.5 s and had 5,051 healthy streams ended as lost (bench/analysis.md).
   */
  public static final int DEFAULT_WORKER_MISSED_CHECKS = 7;

  private String busPrefix = BusAddresses.DEFAULT_PREFIX;
  private int creditWindowBytes = DEFAULT_CREDIT_WINDOW_BYTES;
  private long startTimeoutMs = DEFAULT_START_TIMEOUT_MS;
  private long workerCheckMs = DEFAULT_WORKER_CHECK_MS;
  private int workerMissedChecks = DEFAULT_WORKER_MISSED_CHECKS;
  private String user;
  private boolean admin;

  /** The defaults. */
  public StreamClientOptions() {
  }

  /**
   * A copy of {@code other}.
   *
   * @param other the options to copy
   */
  public StreamClientOptions(StreamClientOptions other) {
    this.busPrefix = other.busPrefix;
    this.creditWindowBytes = other.creditWindowBytes;
    this.startTimeoutMs = other.startTimeoutMs;
    this.workerCheckMs = other.workerCheckMs;
    this.workerMissedChecks = other.workerMissedChecks;
    this.user = other.user;
    this.admin = other.admin;
  }

  /**
   * The bus prefix of the proxy whose workers run the streams ({@code PROXY_BUS_PREFIX} there).
   *
   * @return the bus prefix
   */
  public String getBusPrefix() {
    return busPrefix;
  }

  /**
   * Sets the bus prefix; it must be what the workers were started with ({@code PROXY_BUS_PREFIX}).
   *
   * @param busPrefix the bus prefix
   * @return these options
   * @throws IllegalArgumentException when it is not a valid prefix (see {@link BusAddresses#of})
   */
  public StreamClientOptions setBusPrefix(String busPrefix) {
    BusAddresses.of(busPrefix);
    this.busPrefix = busPrefix;
    return this;
  }

  /**
   * Bytes of events a stream's worker may send before this client grants more. Credit is granted as the reader takes
   * events, so a stream never holds much more than this in the client's memory, however slowly it is read.
   *
   * @return the credit window in bytes
   */
  public int getCreditWindowBytes() {
    return creditWindowBytes;
  }

  /**
   * Sets the credit window, at least 1024 bytes.
   *
   * @param creditWindowBytes the credit window in bytes
   * @return these options
   * @throws IllegalArgumentException when it is less than 1024
   */
  public StreamClientOptions setCreditWindowBytes(int creditWindowBytes) {
    if (creditWindowBytes < 1024) {
      throw new IllegalArgumentException("the credit window must be at least 1024 bytes, got " + creditWindowBytes);
    }
    this.creditWindowBytes = creditWindowBytes;
    return this;
  }

  /**
   * How long a start waits for a worker to take the stream before it fails.
   *
   * @return the start timeout in milliseconds
   */
  public long getStartTimeoutMs() {
    return startTimeoutMs;
  }

  /**
   * Sets the start timeout, at least 1 ms.
   *
   * @param startTimeoutMs the start timeout in milliseconds
   * @return these options
   * @throws IllegalArgumentException when it is less than 1
   */
  public StreamClientOptions setStartTimeoutMs(long startTimeoutMs) {
    if (startTimeoutMs < 1) {
      throw new IllegalArgumentException("the start timeout must be at least 1 ms, got " + startTimeoutMs);
    }
    this.startTimeoutMs = startTimeoutMs;
    return this;
  }

  /**
   * How often the workers of open streams are pinged, and how long each may take to answer. A worker whose address
   * has no consumer any more (undeployed, or its node left the cluster) fails its streams at the first check.
   *
   * @return the worker check interval in milliseconds
   */
  public long getWorkerCheckMs() {
    return workerCheckMs;
  }

  /**
   * Sets the worker check interval, at least 10 ms.
   *
   * @param workerCheckMs the worker check interval in milliseconds
   * @return these options
   * @throws IllegalArgumentException when it is less than 10
   */
  public StreamClientOptions setWorkerCheckMs(long workerCheckMs) {
    if (workerCheckMs < 10) {
      throw new IllegalArgumentException("the worker check interval must be at least 10 ms, got " + workerCheckMs);
    }
    this.workerCheckMs = workerCheckMs;
    return this;
  }

  /**
   * How many checks in a row a worker may leave unanswered before its streams fail as lost.
   *
   * @return the missed checks allowed
   */
  public int getWorkerMissedChecks() {
    return workerMissedChecks;
  }

  /**
   * Sets the missed checks allowed, at least 1.
   *
   * @param workerMissedChecks the missed checks allowed
   * @return these options
   * @throws IllegalArgumentException when it is less than 1
   */
  public StreamClientOptions setWorkerMissedChecks(int workerMissedChecks) {
    if (workerMissedChecks < 1) {
      throw new IllegalArgumentException("at least one missed check, got " + workerMissedChecks);
    }
    this.workerMissedChecks = workerMissedChecks;
    return this;
  }

  /**
   * The user this client acts as: the workers let it {@linkplain StreamClient#follow(String, Long) follow} and
   * {@linkplain StreamClient#stop(String) stop} only this user's streams (unless it is an {@linkplain #isAdmin()
   * admin}), and its starts are for this user unless their {@link StreamRequest#setUser} says otherwise.
   *
   * @return the user id, or null for none
   */
  public String getUser() {
    return user;
  }

  /**
   * Sets the user this client acts as (see {@link #getUser()}); null for none, which can follow only the streams
   * started with no user.
   *
   * @param user the user id, or null
   * @return these options
   */
  public StreamClientOptions setUser(String user) {
    this.user = user;
    return this;
  }

  /**
   * Whether this client may follow and stop any user's streams ({@code cp-admin: true}).
   *
   * @return whether the client acts as an admin
   */
  public boolean isAdmin() {
    return admin;
  }

  /**
   * Lets this client follow and stop any user's streams, as the proxy's admins may.
   *
   * @param admin whether the client acts as an admin
   * @return these options
   */
  public StreamClientOptions setAdmin(boolean admin) {
    this.admin = admin;
    return this;
  }
}
