package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.bus.StreamErrors;
import dev.claudeproxy.internal.bus.StreamEventSender;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A stream's events as its readers are sent them, on its worker: the head, each event with its position, and the
 * end. A stream has one once it is resumable or has more than one reader; every reader, the stream's own client
 * among them, then reads from here at its own pace, with its own credits.
 *
 * <p>A position counts the events before it, {@code ping}s not counted: a reader asks to start after one. Pings are
 * kept in order for the stream's own client (whose bytes stay exactly the upstream's) and never sent to another
 * reader.
 *
 * <p>What is kept is bounded by {@code limitBytes}. A resumable log keeps every event until it is over that bound and
 * every reader has the oldest; a log that is not resumable drops each event as soon as every reader has it. When
 * more than the bound is held for a reader that has not taken it (or, on a resumable stream, for none at all), the
 * log is {@link #full()}, and the stream's upstream waits; a reader other than the own client that is that far behind
 * while another reader is ahead is let go instead ({@link #letGoLaggards}): a slow reader holds back only itself, and
 * the upstream only by the bound.
 *
 * <p>Used on the worker's event loop only.
 */
final class StreamLog {
  /** One event's bytes, after {@code after} counted events; {@code count} is 1, or 0 for a ping. */
  private record Entry(long after, int count, Buffer bytes) {}

  /** One reader: where its events go, how far it has got and the bytes it may still be sent. */
  static final class Reader {
    final String id;
    final StreamEventSender sender;
    /** The client that started the stream: it gets the pings too. */
    final boolean own;
    private long next;
    private long credits;
    private boolean headSent;
    private boolean ended;
    /** The position it started after. */
    private long after;

    Reader(String id, StreamEventSender sender, boolean own, long credits) {
      this.id = id;
      this.sender = sender;
      this.own = own;
      this.credits = credits;
    }
  }

  private final long limitBytes;
  private final boolean resumable;
  private final Supplier<String> progress;
  private final String endpoint;
  private final ArrayList<Entry> entries = new ArrayList<>();
  /** How many entries were dropped from the front: the index of {@code entries.get(0)} since the start. */
  private long dropped;
  /** The counted events before the oldest one kept. */
  private long base;
  /** The counted events so far. */
  private long end;
  private long bytes;
  private JsonObject head;
  private String lastKind;
  private JsonObject last;
  private final Map<String, Reader> readers = new LinkedHashMap<>();
  /** Where the latest reader other than the own client reads, even once it has left. */
  private StreamEventSender latestFollower;

  /**
   * @param position the counted events the stream had before this log began (0 unless it began mid-stream)
   * @param progress the usage so far, for the own client's data when it is on another node ({@code cp-usage})
   */
  StreamLog(String endpoint, long limitBytes, boolean resumable, long position, Supplier<String> progress) {
    this.endpoint = endpoint;
    this.limitBytes = limitBytes;
    this.resumable = resumable;
    this.base = position;
    this.end = position;
    this.progress = progress;
  }

  boolean resumable() {
    return resumable;
  }

  /** The upstream's status and passed headers, as the {@code head} event carries them. */
  void head(JsonObject head) {
    this.head = head;
  }

  /** Appends one event ({@code count} 1) or ping ({@code count} 0). */
  void append(Buffer event, int count) {
    entries.add(new Entry(end, count, event));
    end += count;
    bytes += event.length();
  }

  /** The stream ended: {@code kind} is {@code end} or {@code error}, with its JSON. */
  void end(String kind, JsonObject json) {
    lastKind = kind;
    last = json;
  }

  boolean ended() {
    return lastKind != null;
  }

  /** Whether the upstream must wait: more than the bound is held that cannot be dropped. */
  boolean full() {
    return bytes >= limitBytes;
  }

  int readers() {
    return readers.size();
  }

  Reader reader(String id) {
    return readers.get(id);
  }

  Iterable<Reader> allReaders() {
    return new ArrayList<>(readers.values());
  }

  /**
   * Where a reader starting after {@code after} starts: the index of its first entry, or {@link StreamBus#POSITION_AHEAD}
   * / {@link StreamBus#POSITION_GONE} negated. Without a position: the oldest event kept.
   */
  long startAfter(Long after) {
    if (after == null) {
      return dropped;
    }
    if (after > end) {
      return -StreamBus.POSITION_AHEAD;
    }
    if (after < base) {
      return -StreamBus.POSITION_GONE;
    }
    long i = dropped;
    for (Entry e : entries) {
      if (e.after >= after && e.count > 0) {
        return i;
      }
      i++;
    }
    return dropped + entries.size();
  }

  /** The position a reader starting at entry {@code index} starts after. */
  long positionAt(long index) {
    return index < dropped + entries.size() ? entries.get((int) (index - dropped)).after : end;
  }

  /** The counted events so far. */
  long position() {
    return end;
  }

  /**
   * Adds a reader starting at entry {@code index} (see {@link #startAfter}).
   *
   * @param headSent whether the reader has had the head already (the own client when the log begins mid-stream)
   */
  Reader add(Reader reader, long index, boolean headSent) {
    reader.next = index;
    reader.after = positionAt(index);
    reader.headSent = headSent;
    if (!reader.own) {
      latestFollower = reader.sender;
    }
    readers.put(reader.id, reader);
    return reader;
  }

  /** The sender of the latest reader other than the own client, or null. */
  StreamEventSender latestFollower() {
    return latestFollower;
  }

  Reader remove(String id) {
    Reader gone = readers.remove(id);
    trim();
    return gone;
  }

  void grant(Reader reader, long credits) {
    reader.credits += credits;
    send(reader);
    trim();
  }

  /** Sends every reader what it can take, then drops what no one needs. */
  void sendAll() {
    for (Reader reader : allReaders()) {
      send(reader);
    }
    trim();
  }

  /** Sends {@code reader} its next events, as far as its credits go, as one message; then the end once it has all. */
  private void send(Reader reader) {
    if (reader.ended) {
      return;
    }
    if (!reader.headSent) {
      if (head == null) {
        if (lastKind != null) {
          finish(reader);
        }
        return;
      }
      reader.headSent = true;
      if (reader.own) {
        reader.sender.head(head.getInteger("status"), head.getJsonObject("headers"));
      } else {
        // Another reader learns from its head what it reads, and where it starts.
        reader.sender.head(head.copy().put("endpoint", endpoint).put("after", reader.after));
      }
    }
    long limit = dropped + entries.size();
    Buffer batch = null;
    Buffer single = null;
    int events = 0;
    while (reader.credits > 0 && reader.next < limit) {
      Entry e = entries.get((int) (reader.next++ - dropped));
      if (e.count == 0 && !reader.own) {
        continue;
      }
      events++;
      reader.credits -= e.bytes.length();
      if (single == null) {
        single = e.bytes;
      } else {
        if (batch == null) {
          batch = Buffer.buffer(single.length() * 4).appendBuffer(single);
        }
        batch.appendBuffer(e.bytes);
      }
    }
    Buffer out = batch != null ? batch : single;
    if (out != null) {
      if (reader.own && reader.sender.remote()) {
        reader.sender.data(out, events, progress.get());
      } else {
        reader.sender.data(out, events);
      }
    }
    if (reader.next == limit && lastKind != null) {
      finish(reader);
    }
  }

  private void finish(Reader reader) {
    end(reader, lastKind, last);
  }

  /** Sends {@code reader} its last event, {@code kind} with {@code json}, and forgets it. */
  private void end(Reader reader, String kind, JsonObject json) {
    reader.ended = true;
    reader.sender.last(kind, json);
    readers.remove(reader.id);
  }

  /**
   * Drops from the front what every reader has had, once over the bound (at once when not resumable); then, if that
   * leaves the log full because of readers that lag behind another, lets them go and drops again.
   */
  private void trim() {
    dropFront();
    if (full() && letGoLaggards()) {
      dropFront();
    }
  }

  /**
   * Ends, with an {@code error} event, the readers other than the own client that hold the oldest event kept while the
   * log is full and another reader is ahead of them: a slow reader holds back only itself, not the others and not the
   * upstream. Such a reader may resume from where it got (410 once those events are dropped), never with a silent
   * gap. The own client's credits hold the upstream, as on any stream; readers that are all as far behind (or alone)
   * make the upstream wait.
   *
   * @return whether a reader was let go
   */
  private boolean letGoLaggards() {
    boolean ahead = false;
    ArrayList<Reader> laggards = new ArrayList<>();
    for (Reader reader : readers.values()) {
      if (reader.next > dropped) {
        ahead = true;
      } else if (reader.own) {
        return false;
      } else {
        laggards.add(reader);
      }
    }
    if (!ahead || laggards.isEmpty()) {
      return false;
    }
    for (Reader reader : laggards) {
      end(reader, StreamBus.EV_ERROR, StreamErrors.encode(ApiError.api("this reader fell more than the "
          + "stream's replay buffer (" + limitBytes + " bytes) behind the others and was let go; the events after "
          + "position " + positionAt(reader.next) + " may be asked for again while they are kept")));
    }
    return true;
  }

  private void dropFront() {
    long needed = dropped + entries.size();
    for (Reader reader : readers.values()) {
      needed = Math.min(needed, reader.next);
    }
    if (readers.isEmpty() && resumable) {
      // Detached: what is held is for the reader who comes back.
      return;
    }
    int drop = 0;
    long left = bytes;
    while (drop < entries.size() && dropped + drop < needed && (left >= limitBytes || !resumable)) {
      left -= entries.get(drop).bytes.length();
      drop++;
    }
    if (drop > 0) {
      entries.subList(0, drop).clear();
      dropped += drop;
      bytes = left;
      base = entries.isEmpty() ? end : entries.get(0).after;
    }
  }
}
