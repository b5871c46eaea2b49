package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamBus;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import java.util.HashMap;
import java.util.Map;

/**
 * Finds the worker that holds a stream, for a reader of the bus contract ("Finding a stream's worker"): the node-local
 * map first, else, in a cluster, one {@code find} published to every worker, answered by the holder with
 * {@code found} at the asker's inbox. No answer within the timeout means no such stream. Nothing is written
 * cluster-wide. Used by the HTTP side and {@code StreamClient} alike, on their owner's context only; the owner's inbox
 * hands its messages to {@link #found} first.
 */
public final class StreamFinder {
  private final Vertx vertx;
  private final BusAddresses bus;
  private final String inbox;
  private final long timeoutMs;
  /** Searches under way, by the id the answer comes back under. */
  private final Map<String, Promise<String>> finds = new HashMap<>();

  /**
   * @param inbox the owner's inbox, where the answers come
   * @param timeoutMs how long a search waits for an answer (the start timeout)
   */
  public StreamFinder(Vertx vertx, BusAddresses bus, String inbox, long timeoutMs) {
    this.vertx = vertx;
    this.bus = bus;
    this.inbox = inbox;
    this.timeoutMs = timeoutMs;
  }

  /**
   * The control address of the worker that holds {@code streamId}; fails when there is no such stream.
   *
   * @param askId an id unique among this owner's searches under way, which the answer comes back under
   */
  public Future<String> locate(String streamId, String askId) {
    String here = LocalBus.streamWorker(vertx, bus, streamId);
    if (here != null) {
      return Future.succeededFuture(here);
    }
    if (!vertx.isClustered()) {
      return Future.failedFuture("no such stream");
    }
    Promise<String> finding = Promise.promise();
    finds.put(askId, finding);
    long timer = vertx.setTimer(timeoutMs, t -> {
      finds.remove(askId);
      finding.tryFail("no such stream");
    });
    vertx.eventBus().publish(bus.find(), Buffer.buffer(), new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, StreamBus.OP_FIND)
        .addHeader(StreamBus.H_STREAM, streamId)
        .addHeader(StreamBus.H_READER, askId)
        .addHeader(StreamBus.H_REPLY_TO, inbox));
    return finding.future().onComplete(v -> vertx.cancelTimer(timer));
  }

  /**
   * Takes a worker's {@code found} answer that reached the owner's inbox.
   *
   * @return whether {@code message} was a {@code found} answer (late ones included), so the inbox need not look further
   */
  public boolean found(Message<?> message) {
    if (!StreamBus.EV_FOUND.equals(message.headers().get(StreamBus.H_OP))) {
      return false;
    }
    Promise<String> finding = finds.remove(message.headers().get(StreamBus.H_STREAM));
    if (finding != null) {
      finding.tryComplete(message.headers().get(StreamBus.H_WORKER));
    }
    return true;
  }
}
