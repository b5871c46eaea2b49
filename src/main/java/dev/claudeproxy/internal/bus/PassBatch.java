package dev.claudeproxy.internal.bus;

import dev.claudeproxy.internal.VertxInternals;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A stream's bytes gathered over one pass of its event loop, on either side of the bus. One socket read often brings
 * a stream many small pieces (an HTTP/1.1 chunk or HTTP/2 frame per delta, or several bus messages), each handed over
 * on its own; gathered, they leave as one bus message or one client write when the pass ends. A single piece goes on
 * as it is; several go on as one composite buffer over the pieces, with no copy ({@link VertxInternals#join}). The
 * socket copies what it is given into a direct buffer anyway (the pieces are on the heap), and that copy gathers a
 * composite's pieces as cheaply as it copies one array; joining them here first would copy every byte once more, on
 * each side of the bus.
 *
 * <p>All the batches of one context that are due at the end of a pass end in one task of that context, in the order
 * they became due, rather than in a task each.
 */
public final class PassBatch {
  private static final String PASS_END_KEY = PassBatch.class.getName();
  private final PassEnd passEnd;
  private final Runnable onPassEnd;
  private Buffer bytes;
  /** When a pass brings more than one piece: all of them, and their length together. */
  private List<Buffer> pieces;
  private int length;
  private int events;
  private boolean scheduled;

  /** {@code onPassEnd} runs on {@code context} once the pass in which something was added or scheduled ends. */
  public PassBatch(Context context, Runnable onPassEnd) {
    PassEnd shared = context.get(PASS_END_KEY);
    if (shared == null) {
      shared = new PassEnd(context);
      context.put(PASS_END_KEY, shared);
    }
    this.passEnd = shared;
    this.onPassEnd = onPassEnd;
  }

  /** Adds {@code more}, holding {@code events} client-visible events, and schedules the end of the pass. */
  public void add(Buffer more, int events) {
    if (bytes == null) {
      bytes = more;
      length = more.length();
    } else {
      if (pieces == null) {
        pieces = new ArrayList<>();
        pieces.add(bytes);
      }
      pieces.add(more);
      length += more.length();
    }
    this.events += events;
    schedule();
  }

  /** Makes sure {@code onPassEnd} runs when this pass ends, bytes or not. */
  public void schedule() {
    if (!scheduled) {
      scheduled = true;
      passEnd.add(this);
    }
  }

  public boolean isEmpty() {
    return bytes == null;
  }

  /** Client-visible events in the bytes gathered so far. */
  public int events() {
    return events;
  }

  /** The bytes gathered so far (null if none); the batch is empty afterwards. */
  public Buffer take() {
    Buffer out = bytes;
    if (pieces != null) {
      out = VertxInternals.join(pieces, length);
    }
    bytes = null;
    pieces = null;
    events = 0;
    return out;
  }

  /** The batches of one context due at the end of the current pass, and the one task that ends them. */
  private static final class PassEnd {
    private final Context context;
    private final Handler<Void> task = v -> endPass();
    private List<PassBatch> due = new ArrayList<>();

    PassEnd(Context context) {
      this.context = context;
    }

    void add(PassBatch batch) {
      if (due.isEmpty()) {
        context.runOnContext(task);
      }
      due.add(batch);
    }

    /**
     * Ends every batch due. One that becomes due while they end (a bus message sent by one of them, to another on
     * this context) waits for the next task, as it would have waited for its own. One batch failing does not keep
     * the others from ending; the first failure is thrown after them, for the context to report.
     */
    private void endPass() {
      List<PassBatch> ending = due;
      due = new ArrayList<>();
      RuntimeException failed = null;
      for (int i = 0; i < ending.size(); i++) {
        PassBatch batch = ending.get(i);
        batch.scheduled = false;
        try {
          batch.onPassEnd.run();
        } catch (RuntimeException e) {
          if (failed == null) {
            failed = e;
          } else {
            failed.addSuppressed(e);
          }
        }
      }
      if (failed != null) {
        throw failed;
      }
    }
  }
}
