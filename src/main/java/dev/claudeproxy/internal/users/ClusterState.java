package dev.claudeproxy.internal.users;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.AsyncMap;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's state shared by the nodes of a cluster, in Vert.x's cluster-wide maps (Hazelcast's, with one backup,
 * under the Hazelcast cluster manager): maps named {@value #MAP_PREFIX}{@code <bus prefix>.<name>}, so that two proxies
 * in one cluster keep apart, and a lease per HTTP node, so that what a node held is let go when it dies.
 *
 * <p>Every change is a compare-and-set on one key, retried when another node changed it first, and the changes this
 * node makes to one key are batched ({@link #batch}): no locks, and nothing but the maps' own operations.
 */
public final class ClusterState {
  private static final Logger LOG = Logger.getLogger(ClusterState.class.getName());
  /** The names of all the proxy's cluster-wide maps start with this. */
  public static final String MAP_PREFIX = "cp-state.";
  /** How often a node renews its lease and reads the others'. */
  static final long LEASE_RENEW_MS = 2_000;
  /** How long a lease lasts unrenewed: a node gone this long no longer counts. */
  static final long LEASE_MS = 6_000;
  private static final int MAX_ATTEMPTS = 100;

  private final Vertx vertx;
  private final String prefix;
  private final String nodeId;
  private final long timeoutMs;
  private volatile Set<String> liveNodes;
  private volatile Set<String> departed = Set.of();
  private final Map<String, Batch> batches = new ConcurrentHashMap<>();
  private long timer = -1;

  /** One step of a compare-and-set: the value to write (null: write nothing) and what the change returns. */
  private record Step<R>(String value, R result) {}

  /**
   * @param prefix the bus prefix, naming this proxy's maps
   * @param nodeId this node's lease, unique in the cluster
   * @param timeoutMs how long an operation may take before it counts as the state being out of reach
   */
  public ClusterState(Vertx vertx, String prefix, String nodeId, long timeoutMs) {
    this.vertx = vertx;
    this.prefix = prefix;
    this.nodeId = nodeId;
    this.timeoutMs = timeoutMs;
    this.liveNodes = Set.of(nodeId);
  }

  /** Takes this node's lease and keeps it renewed. */
  public Future<Void> start() {
    Future<Void> first = renew();
    timer = vertx.setPeriodic(LEASE_RENEW_MS, id -> renew());
    return first;
  }

  private Future<Void> renew() {
    return map("nodes").compose(nodes -> nodes.put(nodeId, Long.toString(System.currentTimeMillis()), LEASE_MS))
        .compose(v -> refresh())
        .onFailure(e -> LOG.log(Level.FINE, "could not renew this node's lease", e));
  }

  /** Reads which nodes hold a lease now; those that held one at the last reading and no longer do have departed. */
  public Future<Void> refresh() {
    return map("nodes").compose(nodes -> nodes.keys()).map(keys -> {
      Set<String> live = new HashSet<>(keys);
      live.add(nodeId);
      Set<String> gone = new HashSet<>(departed);
      for (String node : liveNodes) {
        if (!live.contains(node)) {
          gone.add(node);
        }
      }
      gone.removeAll(live);
      departed = gone.size() > 1_000 ? Set.of() : Set.copyOf(gone);
      liveNodes = Set.copyOf(live);
      return null;
    });
  }

  /** Nodes whose lease this node saw and then saw lapse. */
  public Set<String> departedNodes() {
    return departed;
  }

  /** Gives up this node's lease. */
  public Future<Void> close() {
    vertx.cancelTimer(timer);
    return map("nodes").compose(nodes -> nodes.remove(nodeId)).<Void>mapEmpty().recover(e -> Future.succeededFuture());
  }

  public String nodeId() {
    return nodeId;
  }

  /** The nodes whose lease was current at the last reading, this one always among them. */
  public Set<String> liveNodes() {
    return liveNodes;
  }

  /** The cluster-wide map {@code name} of this proxy. */
  public Future<AsyncMap<String, String>> map(String name) {
    return vertx.sharedData().<String, String>getAsyncMap(MAP_PREFIX + prefix + "." + name);
  }

  /**
   * Applies {@code op} to the JSON value of {@code key} in {@code map} (an empty object when there is none) and writes
   * the result back, compare-and-set. Ops on one key from this node are batched: while one write for the key is in
   * flight, the ops that arrive wait, and the next write applies them all in the order they came, so a thousand
   * streams of one user ending at once cost a few writes, not a thousand contending ones. An op may run more than
   * once (when another node changed the value first, every op of the batch is applied again to the new value), so
   * it must depend on nothing but the value it is given and state it reads afresh.
   *
   * @param bounded whether the write gives up after the state timeout (for decisions a caller waits for); unbounded
   *     writes wait for the cluster manager's own operation timeout, so that one that lands late is not written twice
   * @return what {@code op} returned, on the run that was written
   */
  public <R> Future<R> batch(String map, String key, boolean bounded, Function<JsonObject, R> op) {
    String id = map + "|" + key;
    Promise<R> promise = Promise.promise();
    Batch b = batches.computeIfAbsent(id, k -> new Batch(map, key, bounded));
    boolean start;
    synchronized (b) {
      b.queued.add(new Queued<>(op, promise));
      start = !b.running;
      b.running = true;
    }
    if (start) {
      runBatch(id, b);
    }
    return promise.future();
  }

  private record Queued<R>(Function<JsonObject, R> op, Promise<R> promise) {}

  private static final class Batch {
    final String map;
    final String key;
    final boolean bounded;
    final List<Queued<?>> queued = new ArrayList<>();
    boolean running;

    Batch(String map, String key, boolean bounded) {
      this.map = map;
      this.key = key;
      this.bounded = bounded;
    }
  }

  private void runBatch(String id, Batch b) {
    List<Queued<?>> ops;
    synchronized (b) {
      ops = new ArrayList<>(b.queued);
      b.queued.clear();
      if (ops.isEmpty()) {
        b.running = false;
        batches.remove(id, b);
        return;
      }
    }
    Object[] results = new Object[ops.size()];
    Future<AsyncMap<String, String>> m = map(b.map);
    Future<Void> written = m.compose(am -> attempt(am, b.key, old -> {
      JsonObject value = old == null ? new JsonObject() : new JsonObject(old);
      for (int i = 0; i < ops.size(); i++) {
        results[i] = ops.get(i).op().apply(value);
      }
      return new Step<Void>(value.encode(), null);
    }, 1));
    (b.bounded ? within(written) : written).onComplete(ar -> {
      for (int i = 0; i < ops.size(); i++) {
        complete(ops.get(i), ar.succeeded() ? results[i] : null, ar.cause());
      }
      runBatch(id, b);
    });
  }

  @SuppressWarnings("unchecked")
  private static <R> void complete(Queued<R> q, Object result, Throwable failure) {
    if (failure != null) {
      q.promise().fail(failure);
    } else {
      q.promise().complete((R) result);
    }
  }

  /** Reads {@code key} of {@code map}, or fails when the state cannot be reached within the timeout. */
  public Future<String> read(String map, String key) {
    return within(map(map).compose(m -> m.get(key)));
  }

  private <R> Future<R> attempt(AsyncMap<String, String> m, String key, Function<String, Step<R>> change,
      int attempt) {
    return m.get(key).compose(old -> {
      Step<R> step = change.apply(old);
      if (step.value() == null || step.value().equals(old)) {
        return Future.succeededFuture(step.result());
      }
      Future<Boolean> written = old == null ? m.putIfAbsent(key, step.value()).map(previous -> previous == null)
          : m.replaceIfPresent(key, old, step.value());
      return written.compose(ok -> {
        if (ok) {
          return Future.succeededFuture(step.result());
        }
        if (attempt >= MAX_ATTEMPTS) {
          return Future.failedFuture(new IllegalStateException("too much contention on " + key));
        }
        return attempt(m, key, change, attempt + 1);
      });
    });
  }

  /** {@code future}, or a failure once the timeout has passed without it. */
  public <T> Future<T> within(Future<T> future) {
    return future.timeout(timeoutMs, TimeUnit.MILLISECONDS);
  }

}
