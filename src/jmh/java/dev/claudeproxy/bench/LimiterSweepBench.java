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
 * thread. {@code users} users were admitted at time 0; the measured admission ({@code admit}) comes later, as
 * {@code admission} says. {@code sweepDrops} and {@code sweepKeeps} run the sweep in place, to measure its work: every
 * user idle, so all are dropped; or each with a stream still in flight, so each is walked and kept.
 * {@code sweepHandedOff}: the admission as the proxy makes it when a sweep is due, which hands the sweep to the JVM's
 * common pool (the sweep itself then runs on another thread, alongside). {@code noSweep}: an admission 30 s on, when no
 * sweep is due, for scale. One operation is one admission; the states are made again before each.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 30)
@Measurement(iterations = 50)
@Fork(2)
public class LimiterSweepBench {
  private static final Caller NEWCOMER = new Caller("newcomer", "team", false, Limits.NONE, "jwt");

  @Param({"sweepDrops", "sweepKeeps", "sweepHandedOff", "noSweep"})
  public String admission;

  @Param({"10000", "100000"})
  public int users;

  private final AtomicLong now = new AtomicLong();
  private Limiter limiter;

  @Setup(Level.Invocation)
  public void setUp() {
    boolean keepOpen = "sweepKeeps".equals(admission);
    Executor sweeper = "sweepHandedOff".equals(admission) ? ForkJoinPool.commonPool() : Runnable::run;
    now.set(0);
    limiter = new Limiter(now::get, user -> 0, sweeper);
    for (int i = 0; i < users; i++) {
      Limiter.Decision decision = limiter.admit(new Caller("user-" + i, "team", false, Limits.NONE, "jwt"));
      if (!keepOpen) {
        ((Limiter.Admission) decision).close();
      }
    }
    now.set("noSweep".equals(admission) ? 30_000 : 61_000);
  }

  @Benchmark
  public Limiter.Decision admit() {
    return limiter.admit(NEWCOMER);
  }
}
