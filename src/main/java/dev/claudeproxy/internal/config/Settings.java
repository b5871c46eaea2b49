package dev.claudeproxy.internal.config;

import io.vertx.core.json.JsonObject;

/**
 * Typed, validated reads from the merged configuration (file, then environment, then system properties).
 *
 * <p>Every setting has one flat name, the same in {@code conf/config.json} and in the environment (for example
 * {@code PROXY_PORT}), so any value in the file can be overridden by an environment variable of the same name.
 * Environment values arrive as strings; the readers here accept both forms and fail with a message naming the
 * setting.
 */
public final class Settings {
  private final JsonObject values;

  public Settings(JsonObject values) {
    this.values = values == null ? new JsonObject() : values;
  }

  public JsonObject json() {
    return values;
  }

  /** Returns a copy with one value replaced; handy in tests and for derived settings. */
  public Settings with(String key, Object value) {
    return new Settings(values.copy().put(key, value));
  }

  public boolean has(String key) {
    Object v = values.getValue(key);
    return v != null && !(v instanceof String s && s.isBlank());
  }

  public String string(String key, String fallback) {
    Object v = values.getValue(key);
    if (v == null) {
      return fallback;
    }
    String s = String.valueOf(v).trim();
    return s.isEmpty() ? fallback : s;
  }

  public int integer(String key, int fallback) {
    long v = longValue(key, fallback);
    if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
      throw new ConfigException(key + " is out of range: " + v);
    }
    return (int) v;
  }

  public long longValue(String key, long fallback) {
    Object v = values.getValue(key);
    if (v == null || v instanceof String s && s.isBlank()) {
      return fallback;
    }
    if (v instanceof Number n) {
      if (n.doubleValue() != Math.rint(n.doubleValue())) {
        throw new ConfigException(key + " must be a whole number, got " + v);
      }
      return n.longValue();
    }
    try {
      return Long.parseLong(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key + " must be a whole number, got \"" + v + "\"");
    }
  }

  public double decimal(String key, double fallback) {
    Object v = values.getValue(key);
    if (v == null || v instanceof String s && s.isBlank()) {
      return fallback;
    }
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    try {
      return Double.parseDouble(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key + " must be a number, got \"" + v + "\"");
    }
  }

  public boolean bool(String key, boolean fallback) {
    Object v = values.getValue(key);
    if (v == null || v instanceof String s && s.isBlank()) {
      return fallback;
    }
    if (v instanceof Boolean b) {
      return b;
    }
    String s = String.valueOf(v).trim().toLowerCase(java.util.Locale.ROOT);
    return switch (s) {
      case "true", "1", "yes", "on" -> true;
      case "false", "0", "no", "off" -> false;
      default -> throw new ConfigException(key + " must be true or false, got \"" + v + "\"");
    };
  }

  /** A value that must lie in [min, max]. */
  public long longInRange(String key, long fallback, long min, long max) {
    long v = longValue(key, fallback);
    if (v < min || v > max) {
      throw new ConfigException(key + " must be between " + min + " and " + max + ", got " + v);
    }
    return v;
  }
}
