package dev.claudeproxy.upstream;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * An incremental server-sent-events parser that keeps every byte.
 *
 * <p>Feed it the upstream body in chunks split anywhere: inside a line, inside a UTF-8 character, between
 * {@code \r} and {@code \n}. It reports each event once the blank line ending it has arrived, with the event's exact
 * bytes, so a proxy can forward what it received unchanged and parse only what it must. Lines end with {@code \n},
 * {@code \r\n} or {@code \r}. Bytes are decoded only for the {@code event:} field, and only when an event is
 * complete, so a multi-byte character split across chunks is never torn.
 */
public final class SseParser {
  private Buffer pending = Buffer.buffer();
  /** Where scanning resumes in {@link #pending}. */
  private int scan;
  /** Start of the line being scanned. */
  private int lineStart;
  /** Whether the last line terminator seen was a lone {@code \r}, so a {@code \n} right after it belongs to it. */
  private boolean afterCr;
  /** Whether the current event has any line that is not blank. */
  private boolean eventHasContent;
  private String eventName;

  /** Feeds one chunk; {@code onEvent} is called for each event the chunk completes, in order. */
  public void feed(Buffer chunk, Consumer<SseEvent> onEvent) {
    if (chunk.length() == 0) {
      return;
    }
    pending = pending.length() == 0 ? chunk : pending.appendBuffer(chunk);
    int eventStart = 0;
    int length = pending.length();
    for (int i = scan; i < length; i++) {
      byte b = pending.getByte(i);
      if (b == '\n' && afterCr && i == lineStart) {
        // The second half of a "\r\n" whose "\r" already ended the line.
        afterCr = false;
        lineStart = i + 1;
        continue;
      }
      if (b != '\n' && b != '\r') {
        continue;
      }
      afterCr = b == '\r';
      int lineEnd = i;
      int next = i + 1;
      if (afterCr && next < length && pending.getByte(next) == '\n') {
        afterCr = false;
        next++;
        i++;
      }
      if (lineEnd == lineStart) {
        if (eventHasContent) {
          onEvent.accept(new SseEvent(eventName, pending.getBuffer(eventStart, next)));
          eventStart = next;
          eventHasContent = false;
          eventName = null;
        }
      } else {
        eventHasContent = true;
        readField(lineStart, lineEnd);
      }
      lineStart = next;
    }
    // Keep only the unfinished event; blank lines before it stay with it, so no byte is lost.
    if (eventStart > 0) {
      pending = pending.getBuffer(eventStart, length);
      lineStart -= eventStart;
    }
    scan = pending.length();
  }

  /**
   * Bytes received but not yet part of a reported event. At the end of a stream they are either a cut-short event
   * ({@link #hasPartialEvent()}) or the {@code \n} of a final {@code \r\n} that arrived after its {@code \r}.
   */
  public Buffer remainder() {
    return pending.copy();
  }

  /** Whether bytes of an unfinished event are waiting: at the end of a stream this means it was cut short. */
  public boolean hasPartialEvent() {
    return eventHasContent || lineStart < pending.length();
  }

  private void readField(int start, int end) {
    // Only the event name is decoded here; data stays bytes until someone asks for it.
    if (end - start >= 6 && pending.getByte(start) == 'e' && pending.getByte(start + 1) == 'v'
        && pending.getByte(start + 2) == 'e' && pending.getByte(start + 3) == 'n'
        && pending.getByte(start + 4) == 't' && pending.getByte(start + 5) == ':') {
      int from = start + 6;
      if (from < end && pending.getByte(from) == ' ') {
        from++;
      }
      eventName = new String(pending.getBytes(from, end), StandardCharsets.UTF_8);
    }
  }
}
