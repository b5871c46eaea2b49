package dev.claudeproxy.bus;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The event-bus contract between HTTP verticles and stream workers, version 1. See {@code docs/event-bus.md}.
 *
 * <p>Every message body is a {@link io.vertx.core.buffer.Buffer}; what a message is travels in its headers, so a
 * receiver can route it without decoding the body, and other Vert.x applications can speak the contract
 * with nothing but the core API. The addresses are in {@link BusAddresses}, under a prefix of the proxy's
 * ({@code PROXY_BUS_PREFIX}).
 */
public final class StreamBus {
  private StreamBus() {}

  /** The contract version, sent in {@link #H_VERSION} on every message. */
  public static final String VERSION = "1";

  // Headers. All names are lower case.
  public static final String H_VERSION = "cp-version";
  /** On start-address messages: {@code start} (default) or {@code ping}. On inbox messages: the event kind. */
  public static final String H_OP = "cp-op";
  public static final String H_STREAM = "cp-stream";
  public static final String H_SEQ = "cp-seq";
  public static final String H_REPLY_TO = "cp-reply-to";
  public static final String H_ENDPOINT = "cp-endpoint";
  public static final String H_METHOD = "cp-method";
  public static final String H_PATH = "cp-path";
  public static final String H_STREAMING = "cp-streaming";
  public static final String H_CREDITS = "cp-credits";
  public static final String H_WORKER = "cp-worker";
  public static final String H_EVENTS = "cp-events";
  public static final String H_USER = "cp-user";
  public static final String H_TIER = "cp-tier";
  /** Prefix of the caller's request headers that the worker forwards upstream ({@code anthropic-version} ...). */
  public static final String H_FORWARD_PREFIX = "cp-fwd-";

  // Start-address operations.
  public static final String OP_START = "start";
  public static final String OP_PING = "ping";

  // Worker → inbox event kinds.
  public static final String EV_HEAD = "head";
  public static final String EV_DATA = "data";
  public static final String EV_END = "end";
  public static final String EV_ERROR = "error";
  /** After the end of every call, cancelled ones included: how it ended and the usage it saw. */
  public static final String EV_USAGE = "usage";

  // Inbox → worker control operations.
  public static final String CTL_CREDIT = "credit";
  public static final String CTL_CANCEL = "cancel";

  /** Failure codes a worker uses when it refuses a start request. */
  public static final int REFUSED_SHUTTING_DOWN = 503;
  public static final int REFUSED_BAD_REQUEST = 400;


  /**
   * A new stream id: a random (version 4) UUID from the thread's own generator. Ids must be unique, not secret, and
   * {@code UUID.randomUUID()} takes a lock on the shared secure generator for every stream.
   */
  public static String newStreamId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low).toString();
  }
}
