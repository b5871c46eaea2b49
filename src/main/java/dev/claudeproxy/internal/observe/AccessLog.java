package dev.claudeproxy.internal.observe;

import io.vertx.core.json.JsonObject;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * One JSON line per request on the logger {@value #LOGGER}: request id, user, model, status, time to first token,
 * duration, tokens and outcome. Only fields named here are written: no key, token or prompt text can reach a line.
 */
public final class AccessLog {
  public static final String LOGGER = "claude-proxy.access";
  private static final Logger LOG = Logger.getLogger(LOGGER);

  /** One request's line, filled in as the request goes. */
  public static final class Entry {
    private final long startNanos = System.nanoTime();
    private final Instant time = Instant.now();
    /** The fields after {@code time}, in the order first put; putting a field again replaces its value in place. */
    private String[] names = new String[24];
    private Object[] values = new Object[24];
    private int size;
    /** An open-addressing index of the names: 1 + the field's index, 0 for an empty slot; at most half full. */
    private short[] slots = new short[64];
    private final String requestId;
    private boolean written;

    public Entry(String requestId, String method, String path) {
      this.requestId = requestId;
      put("request_id", requestId).put("method", method).put("path", path);
    }

    public Entry user(String userId, String tier, String via) {
      put("user", userId).put("via", via);
      if (tier != null) {
        put("tier", tier);
      }
      return this;
    }

    /** Sets a field (a string, a whole number or a boolean); a null value leaves the line as it is. */
    public Entry put(String field, Object value) {
      if (value == null) {
        return this;
      }
      int slot = slotOf(field);
      int at = slots[slot] - 1;
      if (at >= 0) {
        values[at] = value;
        return this;
      }
      if (size == names.length) {
        names = java.util.Arrays.copyOf(names, size * 2);
        values = java.util.Arrays.copyOf(values, size * 2);
      }
      names[size] = field;
      values[size++] = value;
      slots[slot] = (short) size;
      if (size * 2 > slots.length) {
        reindex(slots.length * 2);
      }
      return this;
    }

    private int indexOf(String field) {
      return slots[slotOf(field)] - 1;
    }

    /** The slot holding {@code field}, or the empty slot where it would go. */
    private int slotOf(String field) {
      // Names are nearly always literals, whose hash is kept: comparing it first spares most string comparisons.
      int hash = field.hashCode();
      int mask = slots.length - 1;
      for (int slot = (hash ^ hash >>> 16) & mask; ; slot = (slot + 1) & mask) {
        int at = slots[slot] - 1;
        if (at < 0) {
          return slot;
        }
        String name = names[at];
        if (name == field || name.hashCode() == hash && name.equals(field)) {
          return slot;
        }
      }
    }

    private void reindex(int length) {
      slots = new short[length];
      for (int i = 0; i < size; i++) {
        slots[slotOf(names[i])] = (short) (i + 1);
      }
    }

    public String requestId() {
      return requestId;
    }

    public long elapsedMillis() {
      return (System.nanoTime() - startNanos) / 1_000_000;
    }

    public long startNanos() {
      return startNanos;
    }

    /** Adds the token counters of a usage object. */
    public Entry usage(JsonObject usage) {
      for (String counter : ProxyMetrics.TOKEN_KINDS) {
        if (usage.getValue(counter) instanceof Number n) {
          put(counter, n.longValue());
        }
      }
      return this;
    }

    public boolean written() {
      return written;
    }

    /** The line: {@code time} first, then the fields in the order they were first put. */
    String encode() {
      JsonLine line = new JsonLine().field("time", time);
      for (int i = 0; i < size; i++) {
        line.field(names[i], values[i]);
      }
      return line.toString();
    }
  }

  private static volatile LineWriter stdout;

  private AccessLog() {}

  /** Waits (up to {@code millis}) until the lines queued for standard output are written; for a clean stop. */
  public static void awaitWritten(long millis) {
    LineWriter writer = stdout;
    if (writer != null) {
      writer.awaitWritten(millis);
    }
  }

  /** Writes the entry once; later calls do nothing. */
  public static void write(Entry entry) {
    if (entry.written) {
      return;
    }
    entry.written = true;
    if (entry.indexOf("duration_ms") < 0) {
      entry.put("duration_ms", entry.elapsedMillis());
    }
    LineWriter writer = stdout;
    if (writer != null) {
      // Straight to the writer, not through java.util.logging: the JVM resets that (removing every handler) as soon
      // as it begins to stop, and the lines of the streams that end during the drain would be lost.
      writer.offer(entry.encode());
    } else {
      LOG.info(entry.encode());
    }
  }

  /**
   * Sends access lines to standard output, one JSON object a line, instead of the logger {@value #LOGGER}. Lines are
   * written in batches by a thread of their own (see {@link LineWriter}), so an event loop never waits on the
   * terminal or a pipe, nor makes a system call a line; if that thread falls more than 100,000 lines behind, lines
   * are dropped and the drop is counted in the next line written.
   */
  public static synchronized void toStandardOutput() {
    if (stdout != null) {
      return;
    }
    LineWriter writer = new LineWriter("access-log", new FileOutputStream(FileDescriptor.out), 100_000, 20,
        lost -> "{\"access_log_dropped\":" + lost + "}", e -> { });
    stdout = writer;
  }
}
