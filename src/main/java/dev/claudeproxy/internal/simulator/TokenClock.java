package dev.claudeproxy.internal.simulator;

import io.vertx.core.Vertx;
import java.util.ArrayList;

/**
 * The timer of one event loop's streams: a timing wheel driven by a single periodic Vert.x timer.
 *
 * <p>A timer per stream (let alone per token) makes the event loop wake up tens of thousands of times a second
 * when many slow streams are open; profiling 20,000 streams at one token per second showed most of the CPU going
 * to those wake-ups. Here the loop wakes once per {@link #TICK_MS} and runs every stream due by then, so the cost
 * per token is the write and little else. Streams keep exact due times in nanoseconds, so the tick only adds up to
 * one tick of latency and no drift.
 *
 * <p>Confined to its event loop: it is created by a verticle and only touched from that verticle's context.
 */
final class TokenClock {
  static final long TICK_MS = 5;
  private static final long TICK_NANOS = TICK_MS * 1_000_000L;
  private static final int SLOTS = 1024;
  private static final int MASK = SLOTS - 1;

  /** What the clock runs. */
  interface Task {
    /** False once the task is finished or cancelled; the clock then drops it. */
    boolean live();

    void fire();
  }

  private final Vertx vertx;
  private final long origin = System.nanoTime();
  @SuppressWarnings("unchecked")
  private final ArrayList<Entry>[] slots = new ArrayList[SLOTS];
  private ArrayList<Entry> running = new ArrayList<>();
  private long current;
  private int scheduled;
  private long timerId = -1;

  private record Entry(Task task, long tick) {
  }

  TokenClock(Vertx vertx) {
    this.vertx = vertx;
    for (int i = 0; i < SLOTS; i++) {
      slots[i] = new ArrayList<>();
    }
    current = tickOf(System.nanoTime());
  }

  private long tickOf(long nanos) {
    return (nanos - origin + TICK_NANOS - 1) / TICK_NANOS;
  }

  /** Runs {@code task} at the first tick at or after {@code dueNanos} ({@link System#nanoTime()} based). */
  void schedule(Task task, long dueNanos) {
    long tick = Math.max(tickOf(dueNanos), current);
    slots[(int) (tick & MASK)].add(new Entry(task, tick));
    scheduled++;
    if (timerId < 0) {
      timerId = vertx.setPeriodic(TICK_MS, id -> advance());
    }
  }

  /** Tasks waiting in the wheel, cancelled ones included until their slot comes round. */
  int scheduled() {
    return scheduled;
  }

  private void advance() {
    long target = tickOf(System.nanoTime()) - 1;
    // After a long stall (GC, debugger) one pass over the wheel is enough: every due entry is found in it.
    long from = Math.max(current, target - SLOTS + 1);
    for (long t = from; t <= target; t++) {
      // Advanced first, so that tasks rescheduled while this slot runs land in a later slot.
      current = t + 1;
      runSlot(t);
    }
    if (scheduled == 0 && timerId >= 0) {
      vertx.cancelTimer(timerId);
      timerId = -1;
    }
  }

  private void runSlot(long tick) {
    int i = (int) (tick & MASK);
    ArrayList<Entry> due = slots[i];
    if (due.isEmpty()) {
      return;
    }
    // Swap in the spare list: the tasks may schedule into this very slot for the next revolution.
    slots[i] = running;
    running = due;
    for (int k = 0; k < due.size(); k++) {
      Entry e = due.get(k);
      scheduled--;
      if (!e.task.live()) {
        continue;
      }
      if (e.tick > tick) {
        // Due in a later revolution of the wheel.
        slots[i].add(e);
        scheduled++;
      } else {
        e.task.fire();
      }
    }
    due.clear();
  }
}
