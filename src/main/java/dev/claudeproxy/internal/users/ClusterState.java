package dev.claudeproxy.internal.users;

import io.vertx.core.Future;
import java.util.concurrent.TimeUnit;
import io.vertx.core.Vertx;
import io.vertx.core.shareddata.AsyncMap;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The proxy's state shared by the nodes of a cluster, in Vert.x's cluster-wide maps (Hazelcast's, with one backup,
 * under the Hazelcast cluster manager): maps named {@value #MAP_PREFIX}{@code <bus prefix>.<name>}, so that two proxies
 * in one cluster keep apart, and a lease per HTTP node, so that what a node held is let go when it dies.
 *
 * <p>Every change is a compare-and-set on one key, retried when another node changed it first: no locks, and nothing
 * but the maps' own operations.
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
  private long timer = -1;

  /** One step of a compare-and-set: the value to write (null: write nothing) and what the change returns. */
  public record Step<R>(String value, R result) {}

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
   * Changes {@code key} of {@code map} by {@code change} (given the current value, or null), compare-and-set, until it
   * lands; fails when the state cannot be reached within the timeout.
   */
  public <R> Future<R> update(String map, String key, Function<String, Step<R>> change) {
    return within(map(map).compose(m -> attempt(m, key, change, 1)));
  }

  /**
   * As {@link #update}, with no timeout of its own (the cluster manager's operation timeout still applies): for writes
   * that must land once, where giving up early and writing again could count twice.
   */
  public <R> Future<R> change(String map, String key, Function<String, Step<R>> change) {
    return map(map).compose(m -> attempt(m, key, change, 1));
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
