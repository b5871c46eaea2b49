package dev.claudeproxy.internal.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Locale;
import java.util.Map;

/**
 * Makes a tool input that satisfies the tool's JSON Schema, from a seed: every declared property is filled (so
 * all required ones are present), enums and consts are respected, numbers stay inside their bounds, strings and
 * arrays inside their length limits. Unsupported constructs fall back to something plausible rather than failing:
 * the simulator must answer whatever schema a caller sends.
 */
final class ToolInputGenerator {
  private static final String[] WORDS = {
      "Paris", "London", "Tokyo", "alpha", "beta", "gamma", "delta", "report", "summary", "weather", "celsius",
      "search", "query", "north", "south", "green", "blue", "amber", "draft", "final", "status", "order", "item"
  };
  private static final int MAX_DEPTH = 8;

  private long state;

  ToolInputGenerator(long seed) {
    this.state = seed;
  }

  /** An object for an {@code input_schema}; a schema without properties gives {@code {}}. */
  JsonObject object(JsonObject schema) {
    Object v = value(schema, 0);
    return v instanceof JsonObject o ? o : new JsonObject();
  }

  private Object value(JsonObject schema, int depth) {
    if (schema == null) {
      return words(1, 3);
    }
    if (schema.containsKey("const")) {
      return schema.getValue("const");
    }
    if (schema.getValue("enum") instanceof JsonArray values && !values.isEmpty()) {
      return values.getValue(below(values.size()));
    }
    for (String alt : new String[] {"anyOf", "oneOf", "allOf"}) {
      if (schema.getValue(alt) instanceof JsonArray options && !options.isEmpty()
          && options.getValue(0) instanceof JsonObject first) {
        // The first non-null alternative; allOf's first part is as good a guess as any.
        for (int i = 0; i < options.size(); i++) {
          if (options.getValue(i) instanceof JsonObject o && !"null".equals(o.getValue("type"))) {
            return value(o, depth + 1);
          }
        }
        return value(first, depth + 1);
      }
    }
    String type = type(schema);
    return switch (type) {
      case "object" -> depth >= MAX_DEPTH ? new JsonObject() : object(schema, depth);
      case "array" -> depth >= MAX_DEPTH ? new JsonArray() : array(schema, depth);
      case "integer" -> integer(schema);
      case "number" -> number(schema);
      case "boolean" -> below(2) == 0;
      case "null" -> null;
      default -> string(schema);
    };
  }

  private static String type(JsonObject schema) {
    Object t = schema.getValue("type");
    if (t instanceof String s) {
      return s;
    }
    if (t instanceof JsonArray types) {
      for (int i = 0; i < types.size(); i++) {
        if (types.getValue(i) instanceof String s && !s.equals("null")) {
          return s;
        }
      }
      return "null";
    }
    if (schema.containsKey("properties")) {
      return "object";
    }
    if (schema.containsKey("items")) {
      return "array";
    }
    return "string";
  }

  private JsonObject object(JsonObject schema, int depth) {
    JsonObject out = new JsonObject();
    if (schema.getValue("properties") instanceof JsonObject props) {
      for (Map.Entry<String, Object> e : props) {
        out.put(e.getKey(), value(e.getValue() instanceof JsonObject o ? o : null, depth + 1));
      }
    }
    // A required name without a declared schema still has to be present.
    if (schema.getValue("required") instanceof JsonArray required) {
      for (int i = 0; i < required.size(); i++) {
        if (required.getValue(i) instanceof String name && !out.containsKey(name)) {
          out.put(name, words(1, 2));
        }
      }
    }
    return out;
  }

  private JsonArray array(JsonObject schema, int depth) {
    int min = (int) Math.max(0, Math.min(20, bound(schema, "minItems", 1)));
    int max = (int) Math.max(min, Math.min(min + 3, bound(schema, "maxItems", min + 2)));
    int n = min + below(max - min + 1);
    JsonObject items = schema.getValue("items") instanceof JsonObject o ? o : null;
    JsonArray out = new JsonArray();
    for (int i = 0; i < n; i++) {
      out.add(value(items, depth + 1));
    }
    return out;
  }

  private long integer(JsonObject schema) {
    long min = bound(schema, "minimum", Long.MIN_VALUE);
    long max = bound(schema, "maximum", Long.MAX_VALUE);
    if (schema.getValue("exclusiveMinimum") instanceof Number n) {
      min = (long) Math.floor(n.doubleValue()) + 1;
    }
    if (schema.getValue("exclusiveMaximum") instanceof Number n) {
      max = (long) Math.ceil(n.doubleValue()) - 1;
    }
    if (min == Long.MIN_VALUE && max == Long.MAX_VALUE) {
      min = 0;
      max = 100;
    } else if (min == Long.MIN_VALUE) {
      min = max - 100;
    } else if (max == Long.MAX_VALUE) {
      max = min + 100;
    }
    if (max < min) {
      return min;
    }
    long span = max - min + 1;
    return span <= 0 ? min : min + Long.remainderUnsigned(nextLong(), span);
  }

  private double number(JsonObject schema) {
    double min = schema.getValue("minimum") instanceof Number n ? n.doubleValue() : Double.NaN;
    double max = schema.getValue("maximum") instanceof Number n ? n.doubleValue() : Double.NaN;
    if (schema.getValue("exclusiveMinimum") instanceof Number n) {
      min = n.doubleValue();
    }
    if (schema.getValue("exclusiveMaximum") instanceof Number n) {
      max = n.doubleValue();
    }
    if (Double.isNaN(min) && Double.isNaN(max)) {
      min = 0;
      max = 100;
    } else if (Double.isNaN(min)) {
      min = max - 100;
    } else if (Double.isNaN(max)) {
      max = min + 100;
    }
    if (max <= min) {
      return min;
    }
    // Two decimals, strictly inside the range so exclusive bounds also hold.
    double v = Math.round((min + (max - min) * (0.05 + 0.9 * below(1000) / 1000.0)) * 100) / 100.0;
    return v <= min || v >= max ? (min + max) / 2 : v;
  }

  private String string(JsonObject schema) {
    String format = schema.getValue("format") instanceof String f ? f : "";
    String s = switch (format) {
      case "date-time" -> "2025-0" + (1 + below(9)) + "-1" + below(10) + "T12:00:00Z";
      case "date" -> "2025-0" + (1 + below(9)) + "-1" + below(10);
      case "email" -> WORDS[below(WORDS.length)].toLowerCase(Locale.ROOT) + "@example.com";
      case "uri", "url" -> "https://example.com/" + WORDS[below(WORDS.length)].toLowerCase(Locale.ROOT);
      case "uuid" -> "00000000-0000-4000-8000-" + String.format("%012x", nextLong() & 0xFFFFFFFFFFFFL);
      default -> words(1, 3);
    };
    long minLength = bound(schema, "minLength", 0);
    long maxLength = bound(schema, "maxLength", Long.MAX_VALUE);
    StringBuilder b = new StringBuilder(s);
    while (b.length() < minLength) {
      b.append('x');
    }
    if (b.length() > maxLength) {
      b.setLength((int) Math.max(0, maxLength));
    }
    return b.toString();
  }

  private String words(int min, int max) {
    int n = min + below(max - min + 1);
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      if (i > 0) {
        b.append(' ');
      }
      b.append(WORDS[below(WORDS.length)]);
    }
    return b.toString();
  }

  private static long bound(JsonObject schema, String key, long fallback) {
    return schema.getValue(key) instanceof Number n ? (long) n.doubleValue() : fallback;
  }

  private int below(int n) {
    return (int) Long.remainderUnsigned(nextLong(), n);
  }

  private long nextLong() {
    state = TextGenerator.mix(state, 7);
    return state;
  }
}
