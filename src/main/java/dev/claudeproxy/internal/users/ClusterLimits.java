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
import java.util.function.IntUnaryOperator;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Per-user limits held for the whole cluster: streams in flight, requests and tokens per rolling minute, tokens per
 * UTC day, whichever HTTP node a request arrives at.
 *
 * <p>Each user's state is one entry of the cluster-wide map {@code limits}, changed by compare-and-set in batches
 * ({@link ClusterState#batch}): the streams each HTTP node has open for the user, with when the node last wrote them;
 * the times of the requests of the last minute (at most the limit's number); and the tokens of the last minute, in
 * buckets of a second. The day's tokens come from the cluster-wide usage ({@link ClusterUsage}).
 *
 * <p>A node's streams count while its lease is current ({@link ClusterState}); once this node has seen the lease
 * lapse they no longer do, so a node that dies lets go of its streams within seconds. A node this one has not heard of
 * yet (it started since the leases were last read) counts if it wrote in the last {@link #UNKNOWN_NODE_MS}.
 *
 * <p>This node's own count of its open streams is the truth for its slot: a write that failed or may have landed
 * late is corrected by a sweep once a second. When the state cannot be reached within the state timeout, a new stream
 * is refused with 503 and {@code retry-after}, never admitted unchecked.
 */
public final class ClusterLimits implements Admissions {
  private static final Logger LOG = Logger.getLogger(ClusterLimits.class.getName());
  private static final long MINUTE_MS = 60_000;
  private static final String MAP = "limits";
  /** What a caller is told to wait when the state is out of reach. */
  static final long UNREACHABLE_RETRY_SECONDS = 2;
  /** How recently a node with no lease in sight must have written for its streams to count. */
  static final long UNKNOWN_NODE_MS = 2 * ClusterState.LEASE_MS;

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
      return state.batch(MAP, user, true, value -> admit(value, limits, now, counted));
    }).recover(e -> {
      LOG.log(Level.WARNING, "cluster-wide limit state out of reach; refusing a stream of " + user + ": " + e);
      // A write that lands after the timeout may leave this node's slot too high: the sweep writes it again.
      unsynced.add(user);
      return Future.succeededFuture(new Limiter.Refusal(ApiError.unavailable("the proxy cannot check this"
          + " user's limits right now; please retry"), "cluster_state", UNREACHABLE_RETRY_SECONDS));
    }).map(decision -> {
      if (decision instanceof Limiter.Refusal || !counted) {
        return decision;
      }
      open.merge(user, 1, Integer::sum);
      return new Limiter.Admission(() -> release(user));
    });
  }

  /** One admission, applied to the user's state: admits (and counts) the request, or says which limit refuses it. */
  private Limiter.Decision admit(JsonObject value, Limits limits, long now, boolean counted) {
    JsonArray requests = expire(value.getJsonArray("r"), now);
    JsonArray tokens = expire(value.getJsonArray("t"), now);
    JsonObject slots = slots(value, now);
    if (counted && inFlight(slots) >= limits.concurrentStreams()) {
      return Limiter.refuse("concurrent_streams", 1,
          "too many requests in flight: the limit is " + limits.concurrentStreams() + " at once");
    }
    if (limits.requestsPerMinute() != null && requests.size() >= limits.requestsPerMinute()) {
      return Limiter.refuse("requests_per_minute", at(requests, 0) + MINUTE_MS - now,
          "rate limit: " + limits.requestsPerMinute() + " requests per minute");
    }
    if (limits.tokensPerMinute() != null && sum(tokens) >= limits.tokensPerMinute()) {
      return Limiter.refuse("tokens_per_minute", untilBelow(tokens, limits.tokensPerMinute(), now),
          "rate limit: " + limits.tokensPerMinute() + " input and output tokens per minute");
    }
    if (limits.requestsPerMinute() != null) {
      requests.add(now);
    }
    if (counted) {
      setMine(slots, mine(slots) + 1, now);
    }
    store(value, slots, requests, tokens);
    return ADMITTED;
  }

  /** What {@link #admit} returns when the request may go: the caller's admission replaces it. */
  private static final Limiter.Admission ADMITTED = new Limiter.Admission(() -> { });

  /** Gives back one of {@code user}'s places on this node. */
  private void release(String user) {
    open.computeIfPresent(user, (u, n) -> n <= 1 ? null : n - 1);
    writeMine(user, n -> Math.max(0, n - 1));
  }

  /** Writes this node's count of {@code user}'s open streams, as this node knows it, over what the state says. */
  private void sync(String user) {
    writeMine(user, n -> open.getOrDefault(user, 0));
  }

  /** Changes this node's slot of {@code user}'s state; a write that fails is left to the sweep. */
  private void writeMine(String user, IntUnaryOperator change) {
    long now = clock.getAsLong();
    state.batch(MAP, user, true, value -> {
      JsonObject slots = slots(value, now);
      setMine(slots, change.applyAsInt(mine(slots)), now);
      store(value, slots, expire(value.getJsonArray("r"), now), expire(value.getJsonArray("t"), now));
      return null;
    }).onFailure(e -> unsynced.add(user));
  }

  @Override
  public void recordTokens(String userId, long tokens) {
    if (tokens <= 0 || !tokenLimited.contains(userId)) {
      return;
    }
    long now = clock.getAsLong();
    state.batch(MAP, userId, true, value -> {
      JsonArray window = expire(value.getJsonArray("t"), now);
      int last = window.size() - 1;
      if (last >= 0 && now - window.getJsonArray(last).getLong(0) < 1_000) {
        // One bucket a second at most, dated by its latest tokens: the window stays small and never expires early.
        JsonArray bucket = window.getJsonArray(last);
        window.set(last, new JsonArray().add(now).add(bucket.getLong(1) + tokens));
      } else {
        window.add(new JsonArray().add(now).add(tokens));
      }
      store(value, slots(value, now), expire(value.getJsonArray("r"), now), window);
      return null;
    }).onFailure(e -> LOG.log(Level.WARNING, "could not count " + tokens + " tokens of " + userId
        + " against the per-minute limit: " + e));
  }

  @Override
  public Future<Void> close() {
    vertx.cancelTimer(sweep);
    return Future.succeededFuture();
  }

  /**
   * The slots that count, {@code node -> [streams, written at]}: this node's; those of nodes with a current lease;
   * and those of nodes not heard of yet that wrote recently. Slots of nodes seen to leave, and empty ones, are dropped.
   */
  private JsonObject slots(JsonObject value, long now) {
    JsonObject stored = value.getJsonObject("n");
    JsonObject kept = new JsonObject();
    if (stored == null) {
      return kept;
    }
    Set<String> live = state.liveNodes();
    Set<String> departed = state.departedNodes();
    for (String node : stored.fieldNames()) {
      JsonArray slot = stored.getValue(node) instanceof JsonArray a && a.size() == 2 ? a : null;
      if (slot == null || slot.getLong(0) <= 0 || departed.contains(node) && !live.contains(node)) {
        continue;
      }
      if (live.contains(node) || node.equals(state.nodeId()) || now - slot.getLong(1) < UNKNOWN_NODE_MS) {
        kept.put(node, slot);
      }
    }
    return kept;
  }

  private static int inFlight(JsonObject slots) {
    int total = 0;
    for (String node : slots.fieldNames()) {
      total += slots.getJsonArray(node).getInteger(0);
    }
    return total;
  }

  private int mine(JsonObject slots) {
    JsonArray slot = slots.getJsonArray(state.nodeId());
    return slot == null ? 0 : slot.getInteger(0);
  }

  private void setMine(JsonObject slots, int streams, long now) {
    if (streams <= 0) {
      slots.remove(state.nodeId());
    } else {
      slots.put(state.nodeId(), new JsonArray().add(streams).add(now));
    }
  }

  private static void store(JsonObject value, JsonObject slots, JsonArray requests, JsonArray tokens) {
    value.clear();
    if (!slots.isEmpty()) {
      value.put("n", slots);
    }
    if (!requests.isEmpty()) {
      value.put("r", requests);
    }
    if (!tokens.isEmpty()) {
      value.put("t", tokens);
    }
  }

  /** The entries of the last minute; an entry is a time or a {@code [time, tokens]} pair. */
  private static JsonArray expire(JsonArray entries, long now) {
    JsonArray kept = new JsonArray();
    if (entries == null) {
      return kept;
    }
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
