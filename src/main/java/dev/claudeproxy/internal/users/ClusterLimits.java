package dev.claudeproxy.internal.users;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Per-user limits held for the whole cluster: streams in flight, requests and tokens per rolling minute, tokens per
 * UTC day, whichever HTTP node a request arrives at.
 *
 * <p>Each user's state is one entry of the cluster-wide map {@code limits}, changed by compare-and-set: the streams each
 * HTTP node has open for the user (a node counts only while its lease is current, so a node that dies lets go of
 * its streams within {@link ClusterState#LEASE_MS} and a renewal), the times of the requests of the last minute (at
 * most the limit's number), and the tokens of the last minute in buckets of a second. The day's tokens come from the
 * cluster-wide usage ({@link ClusterUsage}).
 *
 * <p>A node's own count of its open streams is the truth for its slot: every change is written through, and a write
 * that fails is written again by a sweep once a second. When the state cannot be reached within the state timeout, a
 * new stream is refused with 503 and {@code retry-after}, never admitted unchecked.
 */
public final class ClusterLimits implements Admissions {
  private static final Logger LOG = Logger.getLogger(ClusterLimits.class.getName());
  private static final long MINUTE_MS = 60_000;
  private static final String MAP = "limits";
  /** What a caller is told to wait when the state is out of reach. */
  static final long UNREACHABLE_RETRY_SECONDS = 2;

  private final Vertx vertx;
  private final ClusterState state;
  private final UsageStore usage;
  private final LongSupplier clock;
  /** Streams open on this node, by user (users with a concurrency limit only). */
  private final Map<String, Integer> open = new ConcurrentHashMap<>();
  /** Users whose slot may differ from {@link #open}: written again by the sweep. */
  private final Set<String> unsynced = ConcurrentHashMap.newKeySet();
  /** Users with a per-minute token limit, as last admitted here: only their tokens are counted cluster-wide. */
  private final Set<String> tokenLimited = ConcurrentHashMap.newKeySet();
  private final long sweep;

  public ClusterLimits(Vertx vertx, ClusterState state, UsageStore usage, LongSupplier clock) {
    this.vertx = vertx;
    this.state = state;
    this.usage = usage;
    this.clock = clock;
    this.sweep = vertx.setPeriodic(1_000, id -> {
      for (String user : Set.copyOf(unsynced)) {
        unsynced.remove(user);
        sync(user);
      }
    });
  }

  @Override
  public Future<Limiter.Decision> decide(Caller caller) {
    Limits limits = caller.limits();
    String user = caller.userId();
    boolean counted = limits.concurrentStreams() != null;
    if (!counted && limits.requestsPerMinute() == null && limits.tokensPerMinute() == null
        && limits.dailyTokens() == null) {
      return Future.succeededFuture(new Limiter.Admission(() -> { }));
    }
    if (limits.tokensPerMinute() != null) {
      tokenLimited.add(user);
    } else {
      tokenLimited.remove(user);
    }
    if (counted) {
      open.merge(user, 1, Integer::sum);
    }
    long now = clock.getAsLong();
    Future<Long> today = limits.dailyTokens() == null ? Future.succeededFuture(0L)
        : state.within(usage.spentToday(user));
    return today.compose(spent -> {
      if (limits.dailyTokens() != null && spent >= limits.dailyTokens()) {
        long midnight = LocalDate.ofInstant(Instant.ofEpochMilli(now), ZoneOffset.UTC).plusDays(1)
            .atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
        return Future.<Limiter.Decision>succeededFuture(Limiter.refuse("daily_tokens", midnight - now,
            "daily token budget of " + limits.dailyTokens() + " is spent; it renews at 00:00 UTC"));
      }
      return state.<Limiter.Decision>update(MAP, user, old -> admit(old, user, limits, now, counted, false))
          // A node this one has not heard of yet holds some of the user's streams: read the leases, then decide.
          .compose(d -> d != UNKNOWN_NODE ? Future.succeededFuture(d) : state.refresh().compose(v ->
              state.<Limiter.Decision>update(MAP, user, old -> admit(old, user, limits, now, counted, true))));
    }).recover(e -> {
      LOG.log(Level.WARNING, "cluster-wide limit state out of reach; refusing a stream of " + user + ": " + e);
      // A write that lands after the timeout may leave this node's slot too high: the sweep writes it again.
      unsynced.add(user);
      return Future.succeededFuture(new Limiter.Refusal(ApiError.unavailable("the proxy cannot check this"
          + " user's limits right now; please retry"), "cluster_state", UNREACHABLE_RETRY_SECONDS));
    }).map(decision -> {
      if (decision instanceof Limiter.Refusal) {
        if (counted) {
          release(user);
        }
        return decision;
      }
      return counted ? new Limiter.Admission(() -> release(user)) : decision;
    });
  }

  /** What {@link #admit} returns when the request may go: the caller's admission replaces it. */
  private static final Limiter.Admission ADMITTED = new Limiter.Admission(() -> { });
  /** What {@link #admit} returns when a node it has no lease news of holds a slot. */
  private static final Limiter.Admission UNKNOWN_NODE = new Limiter.Admission(() -> { });

  /**
   * @param freshView whether the leases were read just now: then a node without one is gone, else it may be a node
   *     that started since they were last read
   */
  private ClusterState.Step<Limiter.Decision> admit(String old, String user, Limits limits, long now,
      boolean counted, boolean freshView) {
    JsonObject s = old == null ? new JsonObject() : new JsonObject(old);
    JsonArray requests = expire(s.getJsonArray("r", new JsonArray()), now);
    JsonArray tokens = expire(s.getJsonArray("t", new JsonArray()), now);
    JsonObject slots = liveSlots(s.getJsonObject("n", new JsonObject()));
    Set<String> live = state.liveNodes();
    for (String node : Set.copyOf(slots.fieldNames())) {
      if (!live.contains(node)) {
        if (!freshView) {
          return new ClusterState.Step<>(null, UNKNOWN_NODE);
        }
        slots.remove(node);
      }
    }
    int mine = open.getOrDefault(user, 0);
    if (counted && others(slots) + mine > limits.concurrentStreams()) {
      return new ClusterState.Step<>(null, Limiter.refuse("concurrent_streams", 1,
          "too many requests in flight: the limit is " + limits.concurrentStreams() + " at once"));
    }
    if (limits.requestsPerMinute() != null && requests.size() >= limits.requestsPerMinute()) {
      return new ClusterState.Step<>(null, Limiter.refuse("requests_per_minute", at(requests, 0) + MINUTE_MS - now,
          "rate limit: " + limits.requestsPerMinute() + " requests per minute"));
    }
    if (limits.tokensPerMinute() != null && sum(tokens) >= limits.tokensPerMinute()) {
      return new ClusterState.Step<>(null, Limiter.refuse("tokens_per_minute",
          untilBelow(tokens, limits.tokensPerMinute(), now), "rate limit: " + limits.tokensPerMinute()
              + " input and output tokens per minute"));
    }
    if (limits.requestsPerMinute() != null) {
      requests.add(now);
    }
    if (counted) {
      slots.put(state.nodeId(), mine);
    }
    return new ClusterState.Step<>(encode(slots, requests, tokens), ADMITTED);
  }

  /** Gives back one of {@code user}'s places on this node. */
  private void release(String user) {
    open.computeIfPresent(user, (u, n) -> n <= 1 ? null : n - 1);
    sync(user);
  }

  /** Writes this node's count of {@code user}'s open streams into the shared state. */
  private void sync(String user) {
    long now = clock.getAsLong();
    state.<Void>update(MAP, user, old -> {
      JsonObject s = old == null ? new JsonObject() : new JsonObject(old);
      JsonObject slots = liveSlots(s.getJsonObject("n", new JsonObject()));
      int mine = open.getOrDefault(user, 0);
      if (mine == 0) {
        slots.remove(state.nodeId());
      } else {
        slots.put(state.nodeId(), mine);
      }
      return new ClusterState.Step<>(encode(slots, expire(s.getJsonArray("r", new JsonArray()), now),
          expire(s.getJsonArray("t", new JsonArray()), now)), null);
    }).onFailure(e -> unsynced.add(user));
  }

  @Override
  public void recordTokens(String userId, long tokens) {
    if (tokens <= 0 || !tokenLimited.contains(userId)) {
      return;
    }
    long now = clock.getAsLong();
    state.<Void>update(MAP, userId, old -> {
      JsonObject s = old == null ? new JsonObject() : new JsonObject(old);
      JsonArray window = expire(s.getJsonArray("t", new JsonArray()), now);
      int last = window.size() - 1;
      if (last >= 0 && now - window.getJsonArray(last).getLong(0) < 1_000) {
        // One bucket a second at most, dated by its latest tokens: the window stays small and never expires early.
        JsonArray bucket = window.getJsonArray(last);
        window.set(last, new JsonArray().add(now).add(bucket.getLong(1) + tokens));
      } else {
        window.add(new JsonArray().add(now).add(tokens));
      }
      return new ClusterState.Step<>(encode(liveSlots(s.getJsonObject("n", new JsonObject())),
          expire(s.getJsonArray("r", new JsonArray()), now), window), null);
    }).onFailure(e -> LOG.log(Level.WARNING, "could not count " + tokens + " tokens of " + userId
        + " against the per-minute limit: " + e));
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(sweep);
    return Future.succeededFuture();
  }

  /** The slots with streams, but those of nodes whose lease this node has seen lapse. */
  private JsonObject liveSlots(JsonObject slots) {
    Set<String> departed = state.departedNodes();
    JsonObject kept = new JsonObject();
    slots.forEach(e -> {
      if (!departed.contains(e.getKey()) && e.getValue() instanceof Number n && n.intValue() > 0) {
        kept.put(e.getKey(), n.intValue());
      }
    });
    return kept;
  }

  private int others(JsonObject slots) {
    int total = 0;
    for (var e : slots) {
      if (!e.getKey().equals(state.nodeId())) {
        total += ((Number) e.getValue()).intValue();
      }
    }
    return total;
  }

  private static String encode(JsonObject slots, JsonArray requests, JsonArray tokens) {
    JsonObject s = new JsonObject();
    if (!slots.isEmpty()) {
      s.put("n", slots);
    }
    if (!requests.isEmpty()) {
      s.put("r", requests);
    }
    if (!tokens.isEmpty()) {
      s.put("t", tokens);
    }
    return s.encode();
  }

  /** The entries of the last minute; an entry is a time or a {@code [time, tokens]} pair. */
  private static JsonArray expire(JsonArray entries, long now) {
    JsonArray kept = new JsonArray();
    for (int i = 0; i < entries.size(); i++) {
      if (at(entries, i) > now - MINUTE_MS) {
        kept.add(entries.getValue(i));
      }
    }
    return kept;
  }

  private static long at(JsonArray entries, int i) {
    Object v = entries.getValue(i);
    return v instanceof JsonArray pair ? pair.getLong(0) : ((Number) v).longValue();
  }

  private static long sum(JsonArray tokens) {
    long total = 0;
    for (int i = 0; i < tokens.size(); i++) {
      total += tokens.getJsonArray(i).getLong(1);
    }
    return total;
  }

  private static long untilBelow(JsonArray tokens, long limit, long now) {
    long remaining = sum(tokens);
    for (int i = 0; i < tokens.size(); i++) {
      remaining -= tokens.getJsonArray(i).getLong(1);
      if (remaining < limit) {
        return tokens.getJsonArray(i).getLong(0) + MINUTE_MS - now;
      }
    }
    return MINUTE_MS;
  }
}
