package dev.claudeproxy.internal.observe;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * Text lines written by a thread of their own, in batches. A caller (an event loop) only queues the line: no system
 * call and, while the writer is busy or lingering, no wake-up either. The writer takes everything queued, writes it
 * with one flush, then lingers for a few milliseconds so that the next lines arrive as one batch too. Under load that
 * is one write a linger period instead of a write (and a thread wake-up) a line.
 *
 * <p>A bounded writer drops lines once {@code capacity} are waiting and reports the count in the next line it writes;
 * an unbounded one (capacity 0) never drops.
 */
public final class LineWriter implements AutoCloseable {
  private final BlockingQueue<String> queue;
  private final Writer out;
  private final long lingerNanos;
  private final LongFunction<String> droppedLine;
  private final Consumer<IOException> onError;
  private final AtomicLong offered = new AtomicLong();
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final Thread thread;
  private volatile boolean closing;

  /**
   * @param capacity    lines that may wait; 0 for no bound
   * @param lingerMs    how long the writer waits after a batch before taking the next
   * @param droppedLine the line reporting dropped lines (null if the writer is unbounded)
   * @param onError     what to do when writing fails (the lines of that batch are lost)
   */
  public LineWriter(String threadName, OutputStream target, int capacity, long lingerMs,
      LongFunction<String> droppedLine, Consumer<IOException> onError) {
    this.queue = capacity > 0 ? new ArrayBlockingQueue<>(capacity) : new LinkedBlockingQueue<>();
    this.out = new BufferedWriter(new OutputStreamWriter(target, StandardCharsets.UTF_8), 64 * 1024);
    this.lingerNanos = TimeUnit.MILLISECONDS.toNanos(lingerMs);
    this.droppedLine = droppedLine;
    this.onError = onError;
    this.thread = new Thread(this::run, threadName);
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues a line (without its line break); false if it was dropped. */
  public boolean offer(String line) {
    if (queue.offer(line)) {
      offered.incrementAndGet();
      return true;
    }
    dropped.incrementAndGet();
    return false;
  }

  /** Waits up to {@code millis} until every line queued before the call is written and flushed. */
  public boolean awaitWritten(long millis) {
    long target = offered.get();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (written.get() < target) {
      if (System.nanoTime() > deadline || !thread.isAlive()) {
        return false;
      }
      LockSupport.unpark(thread);
      LockSupport.parkNanos(1_000_000);
    }
    return true;
  }

  /** Writes what is queued, stops the thread and closes the target. */
  @Override
  public void close() {
    closing = true;
    thread.interrupt();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    List<String> batch = new ArrayList<>();
    try {
      while (!closing) {
        try {
          batch.add(queue.take());
        } catch (InterruptedException e) {
          if (!closing) {
            continue;
          }
        }
        queue.drainTo(batch);
        write(batch);
        LockSupport.parkNanos(lingerNanos);
      }
      queue.drainTo(batch);
      write(batch);
    } finally {
      try {
        out.close();
      } catch (IOException e) {
        onError.accept(e);
      }
    }
  }

  private void write(List<String> batch) {
    long lost = dropped.getAndSet(0);
    try {
      if (lost > 0 && droppedLine != null) {
        out.write(droppedLine.apply(lost));
        out.write('\n');
      }
      for (String line : batch) {
        out.write(line);
        out.write('\n');
      }
      out.flush();
    } catch (IOException e) {
      onError.accept(e);
    }
    written.addAndGet(batch.size());
    batch.clear();
  }
}
