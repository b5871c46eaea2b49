package dev.claudeproxy.bench;

import dev.claudeproxy.internal.users.Caller;
import dev.claudeproxy.internal.users.Limiter;
import dev.claudeproxy.internal.users.Limits;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The {@link Limiter}'s sweep of idle users, started by the first admission a minute on and run off the admitting
 * thread. {@code users} users were admitted at time 0 (their streams ended); the measured admission comes later.
 * {@code sweepDrops} and {@code sweepKeeps} run the sweep in place, to measure its work: all users idle, so all are
 * dropped; or each with a stream still in flight, so each is walked and kept. {@code sweepHandedOff}: the admission as
 * the proxy makes it when a sweep is due, which hands the sweep to the JVM's common pool (the sweep itself then runs on
 * another thread, alongside). {@code noSweep}: an admission 30 s on, when no sweep is due, for scale. One operation is
 * one admission; the states are made again before each.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 30)
@Measurement(iterations = 50)
@Fork(2)
public class LimiterSweepBench {
  private static final Limits NONE = Limits.NONE;
  private static final Caller NEWCOMER = new Caller("newcomer", "team", false, NONE, "jwt");

  /** A limiter that admitted {@code users} users at time 0, each with its stream ended or still open. */
  @State(Scope.Thread)
  public abstract static class Users {
    @Param({"10000", "100000"})
    public int users;

    final AtomicLong now = new AtomicLong();
    Limiter limiter;

    void admitAll(boolean keepOpen, long thenMs, Executor sweeper) {
      now.set(0);
      limiter = new Limiter(now::get, user -> 0, sweeper);
      for (int i = 0; i < users; i++) {
        Limiter.Decision decision = limiter.admit(new Caller("user-" + i, "team", false, NONE, "jwt"));
        if (!keepOpen) {
          ((Limiter.Admission) decision).close();
        }
      }
      now.set(thenMs);
    }
  }

  public static class Idle extends Users {
    @Setup(Level.Invocation)
    public void setUp() {
      admitAll(false, 61_000, Runnable::run);
    }
  }

  public static class Busy extends Users {
    @Setup(Level.Invocation)
    public void setUp() {
      admitAll(true, 61_000, Runnable::run);
    }
  }

  public static class Early extends Users {
    @Setup(Level.Invocation)
    public void setUp() {
      admitAll(false, 30_000, Runnable::run);
    }
  }

  public static class Due extends Users {
    @Setup(Level.Invocation)
    public void setUp() {
      admitAll(false, 61_000, ForkJoinPool.commonPool());
    }
  }

  @Benchmark
  public Limiter.Decision sweepHandedOff(Due due) {
    return due.limiter.admit(NEWCOMER);
  }

  @Benchmark
  public Limiter.Decision sweepDrops(Idle idle) {
    return idle.limiter.admit(NEWCOMER);
  }

  @Benchmark
  public Limiter.Decision sweepKeeps(Busy busy) {
    return busy.limiter.admit(NEWCOMER);
  }

  @Benchmark
  public Limiter.Decision noSweep(Early early) {
    return early.limiter.admit(NEWCOMER);
  }
}
