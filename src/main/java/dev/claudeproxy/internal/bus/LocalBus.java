package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.LocalMap;

/**
 * What the proxy adds to the bus contract inside one JVM: codecs that pass objects between verticles unencoded,
 * and node-local maps of the inboxes and start addresses in this JVM. Not part of the contract: other applications
 * speak {@link StreamBus} and never need this. The maps and addresses are named under the proxy's
 * {@link BusAddresses}, so two proxies in one JVM keep theirs apart.
 */
public final class LocalBus {
  private LocalBus() {}

  /** The node-local map of the inboxes in this JVM (see {@link #isLocalInbox}), under the proxy's prefix. */
  private static final String LOCAL_STREAMS = "local-streams";
  private static final String LOCAL_INBOXES = "local-inboxes";
  /** The node-local map of the {@link #localStartAddress}es workers listen on, with how many workers each. */
  private static final String LOCAL_STARTS = "local-starts";


  /**
   * Makes the bus of this Vert.x instance able to carry {@link LocalStart}s, {@link StreamEvent}s and
   * {@link LocalEvents} as objects between verticles in this JVM, and usage records to {@link BusAddresses#usage()} encoded
   * only for the consumers there are ({@link #publishUsage}). Both sides call it on start; the first call registers
   * the codecs.
   */
  public static void prepare(Vertx vertx) {
    synchronized (LocalBus.class) {
      try {
        vertx.eventBus().registerDefaultCodec(StreamEvent.class, new LocalObjectCodec<>(StreamEvent.class))
            .registerDefaultCodec(LocalEvents.class, new LocalObjectCodec<>(LocalEvents.class))
            .registerDefaultCodec(LocalStart.class, new LocalObjectCodec<>(LocalStart.class))
            .registerCodec(new UsageRecordCodec());
      } catch (IllegalStateException alreadyRegistered) {
        // Another verticle of this Vert.x instance got there first.
      }
    }
  }

  /**
   * Publishes a finished call's usage record on {@link BusAddresses#usage()}, local to this node. Consumers get it in the
   * contract's form, JSON bytes; it is encoded only for them. {@code record} is not to be changed afterwards.
   */
  public static void publishUsage(Vertx vertx, BusAddresses bus, String streamId, JsonObject record) {
    vertx.eventBus().publish(bus.usage(), record, new DeliveryOptions().setCodecName(UsageRecordCodec.NAME)
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION).addHeader(StreamBus.H_STREAM, streamId).setLocalOnly(true));
  }

  /** Records that a worker listens on {@code address}, a {@link #localStartAddress}, in this JVM. */
  public static void addLocalStart(Vertx vertx, BusAddresses bus, String address) {
    localStarts(vertx, bus).merge(address, 1, Integer::sum);
  }

  /** Records that one worker stopped listening on {@code address} (others on that event loop may still listen). */
  public static void removeLocalStart(Vertx vertx, BusAddresses bus, String address) {
    localStarts(vertx, bus).computeIfPresent(address, (a, workers) -> workers > 1 ? workers - 1 : null);
  }

  /** Whether a worker listens on {@code address}, a {@link #localStartAddress}, in this JVM. */
  public static boolean hasLocalStart(Vertx vertx, BusAddresses bus, String address) {
    return localStarts(vertx, bus).containsKey(address);
  }

  private static LocalMap<String, Integer> localStarts(Vertx vertx, BusAddresses bus) {
    return vertx.sharedData().getLocalMap(bus.name(LOCAL_STARTS));
  }

  /** Records that {@code inbox} is consumed in this JVM, so workers here send it {@link StreamEvent}s as objects. */
  public static void addLocalInbox(Vertx vertx, BusAddresses bus, String inbox) {
    localInboxes(vertx, bus).put(inbox, Boolean.TRUE);
  }

  public static void removeLocalInbox(Vertx vertx, BusAddresses bus, String inbox) {
    localInboxes(vertx, bus).remove(inbox);
  }

  /** Whether {@code inbox} is consumed in this JVM (one Vert.x instance): then events go to it as objects. */
  public static boolean isLocalInbox(Vertx vertx, BusAddresses bus, String inbox) {
    return localInboxes(vertx, bus).containsKey(inbox);
  }

  private static LocalMap<String, Boolean> localInboxes(Vertx vertx, BusAddresses bus) {
    return vertx.sharedData().getLocalMap(bus.name(LOCAL_INBOXES));
  }

  /** Records that the worker at {@code worker} (its control address) holds stream {@code streamId}, in this JVM. */
  public static void addStream(Vertx vertx, BusAddresses bus, String streamId, String worker) {
    streams(vertx, bus).put(streamId, worker);
  }

  public static void removeStream(Vertx vertx, BusAddresses bus, String streamId) {
    streams(vertx, bus).remove(streamId);
  }

  /** The control address of the worker in this JVM that holds {@code streamId}, or null. */
  public static String streamWorker(Vertx vertx, BusAddresses bus, String streamId) {
    return streams(vertx, bus).get(streamId);
  }

  private static LocalMap<String, String> streams(Vertx vertx, BusAddresses bus) {
    return vertx.sharedData().getLocalMap(bus.name(LOCAL_STREAMS));
  }

  /**
   * A node-local start address per event-loop thread, a fast path: a worker listens on the one of its own event
   * loop ({@link LocalStart}s), and an HTTP verticle uses the one of its own when a worker there has said so
   * ({@link #addLocalStart}), so that in one JVM a stream's events need not cross threads. Otherwise (other nodes,
   * fewer workers than event loops) it uses {@link BusAddresses#start()}.
   */
  public static String localStartAddress(BusAddresses bus, String eventLoopThread) {
    return bus.start() + ".local." + eventLoopThread;
  }
}
