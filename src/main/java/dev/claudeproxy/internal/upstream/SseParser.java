package dev.claudeproxy.internal.upstream;

import io.vertx.core.buffer.Buffer;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.function.Predicate;

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
  private static final byte[] NONE = new byte[0];
  /**
   * Bytes received but not yet part of a reported event, in {@code held[0, heldLength)}. Empty between chunks unless
   * an event is unfinished: a slow stream, idle most of the time, holds no scratch array.
   */
  private byte[] held = NONE;
  private int heldLength;
  /** Where scanning resumes in {@link #held}. */
  private int scan;
  /** Start of the line being scanned. */
  private int lineStart;
  /** Whether the last line terminator seen was a lone {@code \r}, so a {@code \n} right after it belongs to it. */
  private boolean afterCr;
  /** Whether the current event has any line that is not blank. */
  private boolean eventHasContent;
  /** The current event's {@code event:} value, as offsets into the bytes scanned; -1 when it has none yet. */
  private int nameStart = -1;
  private int nameEnd;

  // One scan's view: the array being scanned ({@link #held}) and where complete events end.
  private byte[] bytes;
  private int length;
  private int eventStart;
  private boolean stopped;
  private int forwardedEvents;
  // One forward's arguments and where its last forwarded event ends, in fields rather than captured by a lambda made
  // for each chunk: forward runs for every read of every stream.
  private byte[][] forwardNames;
  private Predicate<SseEvent> forwardOnEvent;
  private int forwardCut;
  private final Sink forwardSink = this::forwardEvent;
  /** Where {@link #forward} reports each {@code content_block_delta}'s bytes; null when nobody counts them. */
  private OutputEstimate content;
  private static final byte[] CONTENT_DELTA = "content_block_delta".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PING = "ping".getBytes(StandardCharsets.US_ASCII);
  /** How many of the events the last {@link #forward} returned are {@code ping}s. */
  private int forwardedPings;
  /**
   * While not null: where each event the last {@link #forward} returned ends, in its bytes, negated for a
   * {@code ping} (see {@link #splitEvents}); {@code eventEnds[0, forwardedEvents)} are valid.
   */
  private int[] eventEnds;

  /** What a scan does with each complete event; false stops the scan (the rest of the chunk is dropped). */
  private interface Sink {
    boolean event(int start, int end, int nameStart, int nameEnd);
  }

  /** The names of interest for {@link #forward}, as bytes. */
  public static byte[][] names(String... names) {
    byte[][] out = new byte[names.length][];
    for (int i = 0; i < names.length; i++) {
      out[i] = names[i].getBytes(StandardCharsets.UTF_8);
    }
    return out;
  }

  /** Feeds one chunk; {@code onEvent} is called for each event the chunk completes, in order. */
  public void feed(Buffer chunk, Consumer<SseEvent> onEvent) {
    scan(chunk, (start, end, nStart, nEnd) -> {
      onEvent.accept(eventAt(start, end, nStart, nEnd));
      return true;
    });
    compact();
  }

  /**
   * Feeds one chunk for forwarding unchanged: returns the bytes of the events it completes as one buffer (the chunk
   * itself, or a slice of it, when no bytes were held over from earlier chunks; else a copy), or null when it
   * completes none. Only the events named in {@code names} are built and given to {@code onEvent}; the rest are only
   * scanned. If {@code onEvent} returns false, that event and the rest of the chunk are not returned: the caller is
   * giving up on the stream. {@link #forwardedEvents()} tells how many events the returned bytes hold.
   */
  public Buffer forward(Buffer chunk, byte[][] names, Predicate<SseEvent> onEvent) {
    boolean whole = heldLength == 0;
    forwardNames = names;
    forwardOnEvent = onEvent;
    forwardCut = -1;
    forwardedEvents = 0;
    forwardedPings = 0;
    scan(chunk, forwardSink);
    Buffer out;
    if (forwardedEvents == 0) {
      out = null;
    } else if (whole) {
      // Nothing was held over, so the events are the start of the chunk: share it.
      out = forwardCut == length ? chunk : chunk.slice(0, forwardCut);
    } else {
      // Bytes held over from earlier chunks come first: one array for them and the chunk's part. (A composite buffer
      // would spare this copy but cost two at the socket, where Netty flattens it into a heap buffer first.)
      out = copy(bytes, 0, forwardCut);
    }
    compact();
    return out;
  }

  /**
   * Has {@link #forward} hand the bytes of each {@code content_block_delta} to {@code estimate}, in place, without
   * building the event: the output of a stream that ends without its count is estimated from them.
   */
  void countContent(OutputEstimate estimate) {
    this.content = estimate;
  }

  private boolean forwardEvent(int start, int end, int nStart, int nEnd) {
    boolean ping = false;
    if (nStart >= 0) {
      if (nEnd - nStart == PING.length && Arrays.equals(bytes, nStart, nEnd, PING, 0, PING.length)) {
        ping = true;
        forwardedPings++;
      }
      if (content != null && nEnd - nStart == CONTENT_DELTA.length
          && Arrays.equals(bytes, nStart, nEnd, CONTENT_DELTA, 0, CONTENT_DELTA.length)) {
        content.delta(bytes, start, end);
      }
      if (named(forwardNames, nStart, nEnd) && !forwardOnEvent.test(eventAt(start, end, nStart, nEnd))) {
        return false;
      }
    }
    if (eventEnds != null) {
      if (forwardedEvents == eventEnds.length) {
        eventEnds = Arrays.copyOf(eventEnds, eventEnds.length * 2);
      }
      eventEnds[forwardedEvents] = ping ? -end : end;
    }
    forwardedEvents++;
    forwardCut = end;
    return true;
  }

  /** How many of the events the last {@link #forward} returned are {@code ping}s. */
  public int forwardedPings() {
    return forwardedPings;
  }

  /** Has {@link #forward} note where each event it returns ends, for {@link #splitEvents}: for replay buffers. */
  void recordEventEnds() {
    if (eventEnds == null) {
      eventEnds = new int[16];
    }
  }

  /**
   * Hands each event of {@code forwarded}, the bytes the last {@link #forward} returned, to {@code onEvent} as a slice,
   * with whether it is a {@code ping}. Needs {@link #recordEventEnds} before that forward.
   */
  void splitEvents(Buffer forwarded, java.util.function.ObjIntConsumer<Buffer> onEvent) {
    int from = 0;
    for (int i = 0; i < forwardedEvents; i++) {
      int end = Math.abs(eventEnds[i]);
      onEvent.accept(forwarded.slice(from, end), eventEnds[i] < 0 ? 0 : 1);
      from = end;
    }
  }

  /** How many events the last {@link #forward} returned. */
  public int forwardedEvents() {
    return forwardedEvents;
  }

  /** The complete event at {@code bytes[start, end)}, its name at {@code [nameStart, nameEnd)} (-1: none), copied. */
  private SseEvent eventAt(int start, int end, int nameStart, int nameEnd) {
    String name = nameStart < 0 ? null : new String(bytes, nameStart, nameEnd - nameStart, StandardCharsets.UTF_8);
    return new SseEvent(name, copy(bytes, start, end));
  }

  /**
   * {@code from[start, end)} in a buffer of their own: one allocation and one copy, where {@code Buffer.buffer(byte[])}
   * would copy the array it is given a second time.
   */
  private static Buffer copy(byte[] from, int start, int end) {
    return Buffer.buffer(end - start).appendBytes(from, start, end - start);
  }

  private boolean named(byte[][] names, int start, int end) {
    int n = end - start;
    for (byte[] name : names) {
      if (name.length == n && Arrays.equals(bytes, start, end, name, 0, n)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Scans a chunk, reporting complete events as offsets into {@link #bytes} ({@link #held}, the chunk appended to
   * what was held over); whatever it leaves unfinished stays in {@link #held}. Scanning the chunk's own array instead
   * (when nothing is held over) would spare the append's copy, but needs Vert.x's internal buffer API, and an A/B of
   * {@code SseParserBench.parseObserveBatch} showed no gain (bench/analysis.md, item 33).
   */
  private void scan(Buffer chunk, Sink sink) {
    int chunkLength = chunk.length();
    stopped = false;
    if (chunkLength == 0) {
      bytes = null;
      return;
    }
    ensure(heldLength + chunkLength);
    chunk.getBytes(0, chunkLength, held, heldLength);
    heldLength += chunkLength;
    bytes = held;
    length = heldLength;
    int from = scan;
    eventStart = 0;
    byte[] b = bytes;
    int end = length;
    boolean go = true;
    for (int i = nextBreak(b, from, end); i < end && go; i = nextBreak(b, i + 1, end)) {
      byte c = b[i];
      if (c == '\n' && afterCr && i == lineStart) {
        // The second half of a "\r\n" whose "\r" already ended the line.
        afterCr = false;
        lineStart = i + 1;
        continue;
      }
      afterCr = c == '\r';
      int lineEnd = i;
      int next = i + 1;
      if (afterCr && next < end && b[next] == '\n') {
        afterCr = false;
        next++;
        i++;
      }
      if (lineEnd == lineStart) {
        if (eventHasContent) {
          go = sink.event(eventStart, next, nameStart, nameEnd);
          eventStart = next;
          eventHasContent = false;
          nameStart = -1;
        }
      } else {
        eventHasContent = true;
        readField(lineStart, lineEnd);
      }
      lineStart = next;
    }
    stopped = !go;
  }

  /** After a scan (and after its caller took what it needed from {@link #bytes}): keeps only what is unfinished. */
  private void compact() {
    if (stopped) {
      // The caller gave up on the stream: forget the rest.
      heldLength = 0;
      scan = 0;
      lineStart = 0;
      eventHasContent = false;
      nameStart = -1;
      bytes = null;
      held = NONE;
      return;
    }
    if (bytes == null) {
      return;
    }
    int end = length;
    // Keep only the unfinished event; blank lines before it stay with it, so no byte is lost.
    int keep = end - eventStart;
    if (eventStart > 0) {
      System.arraycopy(held, eventStart, held, 0, keep);
    }
    lineStart -= eventStart;
    if (nameStart >= 0) {
      nameStart -= eventStart;
      nameEnd -= eventStart;
    }
    heldLength = keep;
    scan = keep;
    bytes = null;
    if (keep == 0) {
      held = NONE;
    }
  }

  private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  /** Eight bytes of {@code 0x0E}: one more than {@code \r}, the larger of the two line breaks. */
  private static final long BELOW_BREAKS = 0x0E0E0E0E0E0E0E0EL;
  private static final long HIGHS = 0x8080808080808080L;

  /**
   * The index of the first {@code \n} or {@code \r} in {@code b[from, end)}, or {@code end}. Eight bytes at a time:
   * {@code (w - BELOW_BREAKS) & ~w & HIGHS} marks the bytes below {@code 0x0E}, which {@code \n} (0x0A) and
   * {@code \r} (0x0D) are, in three operations. The lowest mark is always exact and a higher one may be a byte just
   * above one that was marked, so each marked byte is read to tell a line break from another control character
   * (which JSON does not allow unescaped, so in practice the first mark is the break). No byte that is a break goes
   * unmarked: a borrow from the byte below only lowers the difference.
   */
  static int nextBreak(byte[] b, int from, int end) {
    int i = from;
    for (; i + 8 <= end; i += 8) {
      long w = (long) LONGS.get(b, i);
      long marks = (w - BELOW_BREAKS) & ~w & HIGHS;
      while (marks != 0) {
        int at = i + (Long.numberOfTrailingZeros(marks) >>> 3);
        byte c = b[at];
        if (c == '\n' || c == '\r') {
          return at;
        }
        marks &= marks - 1;
      }
    }
    while (i < end && b[i] != '\n' && b[i] != '\r') {
      i++;
    }
    return i;
  }

  private void ensure(int capacity) {
    if (held.length < capacity) {
      held = Arrays.copyOf(held, Math.max(capacity, Math.max(256, held.length * 2)));
    }
  }

  /**
   * Bytes received but not yet part of a reported event. At the end of a stream they are either a cut-short event
   * ({@link #hasPartialEvent()}) or the {@code \n} of a final {@code \r\n} that arrived after its {@code \r}.
   */
  public Buffer remainder() {
    return copy(held, 0, heldLength);
  }

  /** Whether bytes of an unfinished event are waiting: at the end of a stream this means it was cut short. */
  public boolean hasPartialEvent() {
    return eventHasContent || lineStart < heldLength;
  }

  private void readField(int start, int end) {
    // Only where the event name lies is noted here; nothing is decoded until someone asks for it.
    byte[] b = bytes;
    if (end - start >= 6 && b[start] == 'e' && b[start + 1] == 'v' && b[start + 2] == 'e' && b[start + 3] == 'n'
        && b[start + 4] == 't' && b[start + 5] == ':') {
      int from = start + 6;
      if (from < end && b[from] == ' ') {
        from++;
      }
      nameStart = from;
      nameEnd = end;
    }
  }
}
