package dev.claudeproxy.bus;

import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A stream's bytes gathered over one pass of its event loop, on either side of the bus. One socket read often brings
 * a stream many small pieces (an HTTP/1.1 chunk or HTTP/2 frame per delta, or several bus messages), each handed over
 * on its own; gathered, they leave as one bus message or one client write when the pass ends. A single piece goes on
 * as it is; several are copied once, at the end of the pass, into one buffer of their exact size. (Handing on a
 * composite buffer would cost more: Netty flattens one into a new heap buffer before copying it to the socket.)
 */
public final class PassBatch {
  private final Context context;
  private final Runnable onPassEnd;
  private Buffer bytes;
  /** When a pass brings more than one piece: all of them, and their length together. */
  private List<Buffer> pieces;
  private int length;
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
    if (pieces != null) {
      out = Buffer.buffer(length);
      for (Buffer piece : pieces) {
        out.appendBuffer(piece);
      }
    }
    bytes = null;
    pieces = null;
    events = 0;
    return out;
  }
}
