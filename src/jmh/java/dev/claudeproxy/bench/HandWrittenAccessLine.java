package dev.claudeproxy.bench;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * The access-log line as it was written before {@code AccessLog} moved to Jackson: the hand-written JSON writer
 * ({@code JsonLine}, with its cached timestamp text) and the entry's open-addressing field index, copied here unchanged
 * as the baseline of {@link AccessLogBench}. Not used by the proxy.
 */
final class HandWrittenAccessLine {
  private static final String[] TOKEN_KINDS = {"input_tokens", "output_tokens", "cache_creation_input_tokens",
      "cache_read_input_tokens"};

  private HandWrittenAccessLine() {}

  /** One request's line, filled in as the request goes. */
  static final class Entry {
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
      for (String counter : TOKEN_KINDS) {
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
    public String encode() {
      JsonLine line = new JsonLine().field("time", time);
      for (int i = 0; i < size; i++) {
        line.field(names[i], values[i]);
      }
      return line.toString();
    }
  }


  static final class JsonLine {
    private static final JsonStringEncoder ESCAPE = JsonStringEncoder.getInstance();
    /** Shared by all threads: an immutable value, so a stale or lost update only costs a recomputation. */
    private static volatile Second lastSecond = new Second(0);

    private final StringBuilder text = new StringBuilder(256).append('{');
    private boolean first = true;

    /** A string; null is written as JSON's null. */
    public JsonLine field(String name, String value) {
      if (value == null) {
        name(name).append("null");
        return this;
      }
      name(name).append('"');
      string(value);
      text.append('"');
      return this;
    }

    /** An instant as {@code Instant.toString()} writes it (ISO-8601 in UTC, fraction digits in groups of three). */
    public JsonLine field(String name, Instant value) {
      name(name).append('"');
      Second second = lastSecond;
      if (second.epochSecond != value.getEpochSecond()) {
        second = new Second(value.getEpochSecond());
        lastSecond = second;
      }
      text.append(second.text);
      int nano = value.getNano();
      if (nano != 0) {
        int digits = nano % 1_000_000 == 0 ? 3 : nano % 1_000 == 0 ? 6 : 9;
        int fraction = digits == 3 ? nano / 1_000_000 : digits == 6 ? nano / 1_000 : nano;
        text.append('.');
        String figures = Integer.toString(fraction);
        for (int pad = digits - figures.length(); pad > 0; pad--) {
          text.append('0');
        }
        text.append(figures);
      }
      text.append("Z\"");
      return this;
    }

    public JsonLine field(String name, long value) {
      name(name).append(value);
      return this;
    }

    public JsonLine field(String name, boolean value) {
      name(name).append(value);
      return this;
    }

    /** A string, a whole number or a boolean, as its type says; anything else as its text (null as null). */
    public JsonLine field(String name, Object value) {
      if (value == null || value instanceof String) {
        return field(name, (String) value);
      }
      if (value instanceof Long || value instanceof Integer || value instanceof Short || value instanceof Byte) {
        return field(name, ((Number) value).longValue());
      }
      if (value instanceof Boolean b) {
        return field(name, b.booleanValue());
      }
      return field(name, String.valueOf(value));
    }

    private StringBuilder name(String name) {
      if (!first) {
        text.append(',');
      }
      first = false;
      text.append('"');
      string(name);
      return text.append("\":");
    }

    /**
     * Appends {@code s} escaped as Jackson's generator escapes it. Most names and values need no escape at all (ids,
     * model names, field names); those are appended whole rather than a character at a time.
     */
    private void string(String s) {
      for (int i = 0, n = s.length(); i < n; i++) {
        char c = s.charAt(i);
        if (c < 0x20 || c == '"' || c == '\\') {
          ESCAPE.quoteAsString(s, text);
          return;
        }
      }
      text.append(s);
    }

    /** The text of one whole second, up to its fraction: instants of the same second share it. */
    private static final class Second {
      final long epochSecond;
      final String text;

      Second(long epochSecond) {
        this.epochSecond = epochSecond;
        String whole = Instant.ofEpochSecond(epochSecond).toString();
        this.text = whole.substring(0, whole.length() - 1); // without its "Z"
      }
    }

    @Override
    public String toString() {
      return text + "}";
    }
  }
}
