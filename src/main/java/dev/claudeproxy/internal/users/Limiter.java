package dev.claudeproxy.internal.users;

import dev.claudeproxy.internal.api.ApiError;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.ToLongFunction;

/**
 * Per-user limits on one node: requests and tokens per rolling minute, streams in flight, tokens per UTC day.
 * Shared by all HTTP verticle instances of the node, so each user's state is guarded by its own lock.
 *
 * <p>Time comes from a clock the caller gives, so the windows can be tested without waiting.
 *
 * <p>A user's state is dropped once it has been idle for a minute (no stream in flight, nothing left in its windows),
 * checked at most once a minute, started by an admission and run off its thread: users come and go (one per end user
 * behind a JWT login), and a state kept for every user ever seen would grow the heap without bound. The sweep walks
 * every user kept (about 17 ms at 100,000 users, {@code LimiterSweepBench}), too long a pause for an event loop.
 */
public final class Limiter implements Admissions {
  private static final long MINUTE_MS = 60_000;

  private final LongSupplier clock;
  private final ToLongFunction<String> tokensToday;
  private final Map<String, UserState> states = new ConcurrentHashMap<>();
  private final Executor sweeper;
  private final AtomicLong lastSweep;

  /** What {@link #admit} decided. */
  public sealed interface Decision permits Admission, Refusal {}

  /** Why a request was refused: the error to send and the limit's name, for metrics. */
  public record Refusal(ApiError error, String limit, long retryAfterSeconds) implements Decision {}

  /**
   * @param clock milliseconds since the epoch
   * @param tokensToday input plus output tokens a user has used today (UTC), from the usage ledger
   */
  public Limiter(LongSupplier clock, ToLongFunction<String> tokensToday) {
    this(clock, tokensToday, ForkJoinPool.commonPool());
  }

  /**
   * @param clock milliseconds since the epoch
   * @param tokensToday input plus output tokens a user has used today (UTC), from the usage ledger
   * @param sweeper runs the sweep of idle users' states (the JVM's common pool unless a test runs it in place)
   */
  public Limiter(LongSupplier clock, ToLongFunction<String> tokensToday, Executor sweeper) {
    this.clock = clock;
    this.tokensToday = tokensToday;
    this.sweeper = sweeper;
    this.lastSweep = new AtomicLong(clock.getAsLong());
  }

  /** A stream that holds a place in its user's concurrency limit until {@link #close()}. */
  public static final class Admission implements Decision, AutoCloseable {
    private final Runnable release;
    private boolean closed;

    /** @param release gives the place back; run once, by the first close */
    public Admission(Runnable release) {
      this.release = release;
    }

    @Override
    public void close() {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
      }
      release.run();
    }
  }

  @Override
  public io.vertx.core.Future<Decision> decide(Caller caller) {
    return io.vertx.core.Future.succeededFuture(admit(caller));
  }

  /** Admits a request for {@code caller}, or says which limit refuses it. */
  public Decision admit(Caller caller) {
    Limits limits = caller.limits();
    long now = clock.getAsLong();
    long swept = lastSweep.get();
    if (now - swept >= MINUTE_MS && lastSweep.compareAndSet(swept, now)) {
      sweeper.execute(() -> sweep(now));
    }
    while (true) {
      UserState state = states.computeIfAbsent(caller.userId(), id -> new UserState());
      synchronized (state) {
        // Dropped by a sweep between the lookup and the lock: look again, for the state that replaces it.
        if (!state.dropped) {
          return admit(caller, limits, state, now);
        }
      }
    }
  }

  /** Drops the states idle for a minute. */
  private void sweep(long now) {
    states.forEach((user, state) -> {
      synchronized (state) {
        state.expire(now);
        if (state.inFlight == 0 && state.requests.isEmpty() && state.tokens.isEmpty()
            && now - state.lastUsed >= MINUTE_MS) {
          state.dropped = true;
          states.remove(user, state);
        }
      }
    });
  }

  /** The number of users whose state is kept. */
  int usersKept() {
    return states.size();
  }

  /** Under the state's lock. */
  private Decision admit(Caller caller, Limits limits, UserState state, long now) {
    state.expire(now);
    state.lastUsed = now;
    if (limits.concurrentStreams() != null && state.inFlight >= limits.concurrentStreams()) {
      return refuse("concurrent_streams", 1, "too many requests in flight: the limit is "
          + limits.concurrentStreams() + " at once");
    }
    if (limits.requestsPerMinute() != null && state.requests.size() >= limits.requestsPerMinute()) {
      long wait = state.requests.peekFirst() + MINUTE_MS - now;
      return refuse("requests_per_minute", wait, "rate limit: " + limits.requestsPerMinute()
          + " requests per minute");
    }
    if (limits.tokensPerMinute() != null && state.tokensInWindow >= limits.tokensPerMinute()) {
      long wait = state.untilTokensBelow(limits.tokensPerMinute(), now);
      return refuse("tokens_per_minute", wait, "rate limit: " + limits.tokensPerMinute()
          + " input and output tokens per minute");
    }
    if (limits.dailyTokens() != null && tokensToday.applyAsLong(caller.userId()) >= limits.dailyTokens()) {
      long midnight = LocalDate.ofInstant(Instant.ofEpochMilli(now), ZoneOffset.UTC).plusDays(1)
          .atStartOfDay(ZoneOffset.UTC).toInstant().toEpochMilli();
      return refuse("daily_tokens", midnight - now, "daily token budget of " + limits.dailyTokens()
          + " is spent; it renews at 00:00 UTC");
    }
    // A window is kept only for a limit that reads it (as ClusterLimits does): without one, a minute of requests
    // and token counts was held for nothing, about 60 bytes a stream, 13 MB of heap at 3,500 streams a second.
    if (limits.requestsPerMinute() != null) {
      state.requests.addLast(now);
    }
    state.tokenLimited = limits.tokensPerMinute() != null;
    state.inFlight++;
    return new Admission(() -> {
      synchronized (state) {
        state.inFlight--;
        state.lastUsed = clock.getAsLong();
      }
    });
  }

  /**
   * Counts a finished call's tokens against its user's per-minute window, when the user has a tokens-per-minute limit
   * (as of the user's last admission).
   */
  @Override
  public void recordTokens(String userId, long tokens) {
    if (tokens <= 0) {
      return;
    }
    UserState state = states.get(userId);
    if (state == null) {
      return;
    }
    synchronized (state) {
      if (!state.tokenLimited) {
        return;
      }
      state.lastUsed = clock.getAsLong();
      state.tokens.addLast(new long[] {state.lastUsed, tokens});
      state.tokensInWindow += tokens;
    }
  }

  static Refusal refuse(String limit, long waitMs, String message) {
    long seconds = Math.max(1, (waitMs + 999) / 1000);
    return new Refusal(ApiError.rateLimited(message), limit, seconds);
  }

  private static final class UserState {
    final ArrayDeque<Long> requests = new ArrayDeque<>();
    final ArrayDeque<long[]> tokens = new ArrayDeque<>();
    long tokensInWindow;
    int inFlight;
    /** Whether the user's last admission had a tokens-per-minute limit: only then are tokens counted. */
    boolean tokenLimited;
    /** When a stream of the user was last admitted or ended, or its tokens counted. */
    long lastUsed;
    /** Removed from the map by a sweep: an admission that finds it looks again. */
    boolean dropped;

    void expire(long now) {
      while (!requests.isEmpty() && requests.peekFirst() <= now - MINUTE_MS) {
        requests.removeFirst();
      }
      while (!tokens.isEmpty() && tokens.peekFirst()[0] <= now - MINUTE_MS) {
        tokensInWindow -= tokens.removeFirst()[1];
      }
    }

    long untilTokensBelow(long limit, long now) {
      long remaining = tokensInWindow;
      for (long[] entry : tokens) {
        remaining -= entry[1];
        if (remaining < limit) {
          return entry[0] + MINUTE_MS - now;
        }
      }
      return MINUTE_MS;
    }
  }
}
