package dev.claudeproxy.internal.simulator;

import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live counters shared by all server verticles of one simulator; the numbers behind {@code GET /sim/stats}.
 *
 * <p>Hot counters are {@link LongAdder}s because every event loop bumps them; {@code streamsOpen} is an
 * {@link AtomicLong} because it goes both ways and readers want an exact current value.
 */
public final class SimulatorStats {
  private final LongAdder requests = new LongAdder();
  private final LongAdder http2Requests = new LongAdder();
  private final java.util.Set<Object> http2Connections = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final LongAdder errors = new LongAdder();
  private final LongAdder streamsStarted = new LongAdder();
  private final LongAdder streamsCompleted = new LongAdder();
  private final LongAdder streamsCancelled = new LongAdder();
  private final LongAdder streamsFaulted = new LongAdder();
  private final AtomicLong streamsOpen = new AtomicLong();
  private final LongAdder messagesCompleted = new LongAdder();
  private final LongAdder messagesCancelled = new LongAdder();
  private final LongAdder deltas = new LongAdder();

  /** Every request that reached the simulator, whatever its route or outcome. */
  public long requests() {
    return requests.sum();
  }

  /** Responses with a non-2xx status (injected faults included). */
  public long errors() {
    return errors.sum();
  }

  public long streamsStarted() {
    return streamsStarted.sum();
  }

  /** Streams that reached message_stop and ended their body. */
  public long streamsCompleted() {
    return streamsCompleted.sum();
  }

  /** Streams whose client closed the connection before the end. */
  public long streamsCancelled() {
    return streamsCancelled.sum();
  }

  /** Streams ended by an injected mid-stream fault (error event or cut connection). */
  public long streamsFaulted() {
    return streamsFaulted.sum();
  }

  public long streamsOpen() {
    return streamsOpen.get();
  }

  /** Non-streaming replies sent in full. */
  public long messagesCompleted() {
    return messagesCompleted.sum();
  }

  /** Non-streaming requests whose client left before the reply was ready. */
  public long messagesCancelled() {
    return messagesCancelled.sum();
  }

  /** content_block_delta events written, over all streams. */
  public long deltas() {
    return deltas.sum();
  }

  void request() {
    requests.increment();
  }

  /** A request that came over HTTP/2, on {@code connection}; connections are counted while they are open. */
  void http2Request(io.vertx.core.http.HttpConnection connection) {
    http2Requests.increment();
    if (http2Connections.add(connection)) {
      connection.closeHandler(v -> http2Connections.remove(connection));
    }
  }

  /** Requests that came over HTTP/2. */
  public long http2Requests() {
    return http2Requests.sum();
  }

  void error() {
    errors.increment();
  }

  void streamStarted() {
    streamsStarted.increment();
    streamsOpen.incrementAndGet();
  }

  void streamCompleted() {
    streamsCompleted.increment();
    streamsOpen.decrementAndGet();
  }

  void streamCancelled() {
    streamsCancelled.increment();
    streamsOpen.decrementAndGet();
  }

  void streamFaulted() {
    streamsFaulted.increment();
    streamsOpen.decrementAndGet();
  }

  void messageCompleted() {
    messagesCompleted.increment();
  }

  void messageCancelled() {
    messagesCancelled.increment();
  }

  void deltas(int n) {
    deltas.add(n);
  }

  public JsonObject toJson() {
    return new JsonObject()
        .put("requests", requests())
        .put("http2Requests", http2Requests())
        .put("http2ConnectionsOpen", http2Connections.size())
        .put("errors", errors())
        .put("streamsStarted", streamsStarted())
        .put("streamsCompleted", streamsCompleted())
        .put("streamsCancelled", streamsCancelled())
        .put("streamsFaulted", streamsFaulted())
        .put("streamsOpen", streamsOpen())
        .put("messagesCompleted", messagesCompleted())
        .put("messagesCancelled", messagesCancelled())
        .put("deltas", deltas());
  }
}
