package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The HTTP side's per-event-loop state, one set per Vert.x context that serves the proxy's routes: the
 * {@link StreamDispatcher} (the inbox the streams' events arrive at, its sweep) and the {@link BodyDeadline}. Both are
 * single-threaded, and a router may be served by any number of event loops (a host application's verticles, or the
 * server's HTTP verticle instances), so each context gets its own, made the first time it needs one and kept in the
 * context's local data under a key of this proxy's own (two proxies in one Vert.x do not share it).
 */
public final class Dispatchers {
  /** One context's state. */
  record Local(Context context, StreamDispatcher dispatcher, BodyDeadline deadline, Future<Void> ready) {}

  private final Vertx vertx;
  private final ProxyConfig config;
  private final NodeServices services;
  private final String key = "claude-proxy.http." + UUID.randomUUID();
  private final Set<Local> all = ConcurrentHashMap.newKeySet();
  private final NodeCapacity capacity;
  private volatile boolean closing;

  public Dispatchers(Vertx vertx, ProxyConfig config, NodeServices services) {
    this.vertx = vertx;
    this.config = config;
    this.services = services;
    this.capacity = new NodeCapacity(config.clientPolicy(), services.metrics());
  }

  /** What the node takes on at once, over all its contexts. */
  NodeCapacity capacity() {
    return capacity;
  }

  /**
   * The state of the calling context, made now if it has none. Must be called on a Vert.x context (a route handler
   * or a verticle's start). Null once the proxy is closing: no new inbox is opened then.
   */
  Local current() {
    Context context = Vertx.currentContext();
    if (context == null) {
      throw new IllegalStateException("the proxy's routes must be served on a Vert.x context");
    }
    Local local = context.get(key);
    if (local == null) {
      if (closing) {
        return null;
      }
      StreamDispatcher dispatcher = new StreamDispatcher(vertx, config.bus(), config.streamCreditBytes(),
          config.startTimeout().toMillis(), config.clientPolicy(), services);
      local = new Local(context, dispatcher, new BodyDeadline(vertx, config.clientPolicy().requestTimeoutMs()),
          dispatcher.listen());
      context.put(key, local);
      all.add(local);
    }
    return local;
  }

  /** Opens the calling context's inbox ahead of its first stream; completes once it can receive events. */
  public Future<Void> prepare() {
    return current().ready();
  }

  /**
   * Drains the calling context's streams (see {@link StreamDispatcher#drain}) and closes its inbox: an HTTP verticle's
   * stop.
   */
  public Future<Void> drainCurrent(long drainMs) {
    Context context = Vertx.currentContext();
    Local local = context == null ? null : context.get(key);
    return local == null ? Future.succeededFuture() : drain(local, drainMs);
  }

  /**
   * Refuses new streams on every context, drains the open ones for up to {@code drainMs}, and closes every inbox,
   * each on its own context.
   */
  public Future<Void> drainAll(long drainMs) {
    closing = true;
    List<Future<Void>> drained = new ArrayList<>();
    for (Local local : new ArrayList<>(all)) {
      Promise<Void> done = Promise.promise();
      local.context().runOnContext(v -> drain(local, drainMs).onComplete(done));
      drained.add(done.future());
    }
    return Future.join(drained).mapEmpty();
  }

  private Future<Void> drain(Local local, long drainMs) {
    if (!all.remove(local)) {
      return Future.succeededFuture();
    }
    local.context().remove(key);
    return local.dispatcher().drain(drainMs).eventually(() -> local.dispatcher().close());
  }

  /** Streams open now on every context; read across threads, so a moment's count. */
  public int openStreams() {
    int open = 0;
    for (Local local : all) {
      open += local.dispatcher().openStreams();
    }
    return open;
  }
}
