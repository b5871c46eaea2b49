package dev.claudeproxy.bus;

import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;

/**
 * A stream's bytes gathered over one pass of its event loop, on either side of the bus. One socket read often brings
 * a stream many small pieces (an HTTP/1.1 chunk or HTTP/2 frame per delta, or several bus messages), each handed over
 * on its own; gathered, they leave as one bus message or one client write when the pass ends. The first piece is kept
 * as it is; a second one starts a buffer of the batch's own.
 */
public final class PassBatch {
  private final Context context;
  private final Runnable onPassEnd;
  private Buffer bytes;
  private boolean owned;
  private int events;
  private boolean scheduled;

  /** {@code onPassEnd} runs on {@code context} once the pass in which something was added or scheduled ends. */
  public PassBatch(Context context, Runnable onPassEnd) {
    this.context = context;
    this.onPassEnd = onPassEnd;
  }

  /** Adds {@code more}, holding {@code events} client-visible events, and schedules the end of the pass. */
  public void add(Buffer more, int events) {
    if (bytes == null) {
      bytes = more;
    } else {
      if (!owned) {
        bytes = Buffer.buffer(2 * (bytes.length() + more.length())).appendBuffer(bytes);
        owned = true;
      }
      bytes.appendBuffer(more);
    }
    this.events += events;
    schedule();
  }

  /** Makes sure {@code onPassEnd} runs when this pass ends, bytes or not. */
  public void schedule() {
    if (!scheduled) {
      scheduled = true;
      context.runOnContext(v -> {
        scheduled = false;
        onPassEnd.run();
      });
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
    bytes = null;
    owned = false;
    events = 0;
    return out;
  }
}
