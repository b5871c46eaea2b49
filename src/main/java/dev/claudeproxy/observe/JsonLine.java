package dev.claudeproxy.observe;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * One flat JSON object written straight into text, for the lines written once per request (access and usage lines):
 * the same characters {@code JsonObject.encode()} gives for the same fields in the same order, without building a
 * map and walking it with a data-binding serializer. Strings are escaped by Jackson's own encoder, as its generator
 * escapes them.
 */
public final class JsonLine {
  private static final JsonStringEncoder ESCAPE = JsonStringEncoder.getInstance();

  private final StringBuilder text = new StringBuilder(256).append('{');
  private boolean first = true;

  /** A string; null is written as JSON's null. */
  public JsonLine field(String name, String value) {
    if (value == null) {
      name(name).append("null");
      return this;
    }
    name(name).append('"');
    ESCAPE.quoteAsString(value, text);
    text.append('"');
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
    if (value == null) {
      return field(name, (String) null);
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
    ESCAPE.quoteAsString(name, text);
    return text.append("\":");
  }

  @Override
  public String toString() {
    return text + "}";
  }
}
