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
  /** The contract version ({@link #VERSION}), on every message. */
  public static final String H_VERSION = "cp-version";
  /** On start-address messages: {@code start} (default) or {@code ping}. On inbox messages: the event kind. */
  public static final String H_OP = "cp-op";
  /** The stream id a message is about. */
  public static final String H_STREAM = "cp-stream";
  /** On inbox events: the message's sequence number, 0, 1, 2 ... per stream over all kinds. */
  public static final String H_SEQ = "cp-seq";
  /** On start requests: the inbox address the events go to. */
  public static final String H_REPLY_TO = "cp-reply-to";
  /** On start requests: the shape the events should have, an {@link Endpoint#wire()} value. */
  public static final String H_ENDPOINT = "cp-endpoint";
  /** On start requests: the upstream HTTP method. */
  public static final String H_METHOD = "cp-method";
  /** On start requests: the upstream path, such as {@code /v1/messages} (it may carry a query string). */
  public static final String H_PATH = "cp-path";
  /** On start requests: {@code true} when the upstream answer is an SSE stream. */
  public static final String H_STREAMING = "cp-streaming";
  /** On start requests and credit grants: bytes the worker may send before it must wait for a grant. */
  public static final String H_CREDITS = "cp-credits";
  /** On a worker's reply to a start or a ping: its control address ({@link BusAddresses#worker(String)}). */
  public static final String H_WORKER = "cp-worker";
  /** On {@code data} events: how many client-visible SSE events the body holds. */
  public static final String H_EVENTS = "cp-events";
  /**
   * On {@code data} sent to another node: the usage the stream has reached so far, {@code <input>,<output>,
   * <cache creation>,<cache read>,<e if output is estimated, else empty>,<model>}, so that the HTTP side can count it
   * if the worker's node dies before the stream ends.
   */
  public static final String H_USAGE = "cp-usage";
  /** On start requests: the caller's user id, for usage accounting (optional; never a key). */
  public static final String H_USER = "cp-user";
  /** On start requests: the caller's tier (optional). */
  public static final String H_TIER = "cp-tier";
  /** On start requests: {@code true} when the stream keeps a replay buffer and a disconnect detaches it. */
  public static final String H_RESUMABLE = "cp-resumable";
  /** On {@code find} and {@code follow}: the reader's id, which its events and credits carry as {@link #H_STREAM}. */
  public static final String H_READER = "cp-reader";
  /** On {@code follow} and its reply: the position a reader starts after (events before it, pings not counted). */
  public static final String H_AFTER = "cp-after";
  /** On {@code follow} and {@code stop}: {@code true} when the caller is an admin, who may read any user's stream. */
  public static final String H_ADMIN = "cp-admin";
  /** Prefix of the caller's request headers that the worker forwards upstream ({@code anthropic-version} ...). */
  public static final String H_FORWARD_PREFIX = "cp-fwd-";

  // Start-address operations.
  /** Start one upstream call (a {@link StartRequest}); the default operation. */
  public static final String OP_START = "start";
  /** A liveness check: answered with an empty reply that names the worker's control address. */
  public static final String OP_PING = "ping";

  // Worker → inbox event kinds.
  /** The upstream response's status and headers, before any data. */
  public static final String EV_HEAD = "head";
  /** Response bytes: complete upstream SSE events as the upstream sent them, or chat events. */
  public static final String EV_DATA = "data";
  /** The stream ended normally. */
  public static final String EV_END = "end";
  /** The stream ended with an error. */
  public static final String EV_ERROR = "error";
  /** After the end of every call, cancelled ones included: how it ended and the usage it saw. */
  public static final String EV_USAGE = "usage";

  // Inbox → worker control operations.
  /** Grants {@link #H_CREDITS} more bytes to a stream's worker. */
  public static final String CTL_CREDIT = "credit";
  /** Cancels a stream: the worker resets the upstream request and forgets the stream. */
  public static final String CTL_CANCEL = "cancel";

  /** Adds a reader to a stream (request/reply; see {@code docs/event-bus.md}, "Following"). */
  public static final String CTL_FOLLOW = "follow";
  /** The stream's own client went away from a resumable stream: the stream goes on without it, for the grace. */
  public static final String CTL_DETACH = "detach";
  /** Cancels a stream at once, whoever reads it (request/reply). */
  public static final String CTL_STOP = "stop";
  /** Asks every worker, on {@link BusAddresses#find()}, which of them holds a stream. */
  public static final String OP_FIND = "find";
  /** A worker's answer to {@link #OP_FIND}, sent to the asking inbox with {@link #H_WORKER}. */
  public static final String EV_FOUND = "found";

  /** A {@code follow} or {@code stop} for a stream the worker does not hold, or another user's (failure code). */
  public static final int NO_SUCH_STREAM = 404;
  /** A {@code follow} whose position is beyond the events that exist (failure code). */
  public static final int POSITION_AHEAD = 400;
  /** A {@code follow} whose position is before the oldest event kept (failure code). */
  public static final int POSITION_GONE = 410;

  /** A start request refused because the worker is shutting down (failure code of the reply). */
  public static final int REFUSED_SHUTTING_DOWN = 503;
  /** A start request refused because it was malformed. */
  public static final int REFUSED_BAD_REQUEST = 400;


  /**
   * A new stream id: a random (version 4) UUID from the thread's own generator. Ids must be unique, not secret, and
   * {@code UUID.randomUUID()} takes a lock on the shared secure generator for every stream.
   *
   * @return a new stream id
   */
  public static String newStreamId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFF_FFFF_FFFF_FFFFL) | 0x8000_0000_0000_0000L;
    return new UUID(high, low).toString();
  }
}
