package dev.claudeproxy.internal.observe;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.time.Instant;

/**
 * One flat JSON object written straight into text, for the lines written once per request (access and usage lines):
 * the same characters {@code JsonObject.encode()} gives for the same fields in the same order, without building a
 * map and walking it with a data-binding serializer. Strings are escaped by Jackson's own encoder, as its generator
 * escapes them.
 */
public final class JsonLine {
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
