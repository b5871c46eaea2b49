package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;

/** A small JSON Schema checker for the subset the tool input generator supports; enough to fail loudly. */
final class SchemaCheck {
  private SchemaCheck() {
  }

  static void assertValid(JsonObject schema, Object value) {
    check(schema, value, "$");
  }

  private static void check(JsonObject schema, Object value, String path) {
    if (schema.getValue("enum") instanceof JsonArray values) {
      assertTrue(values.contains(value), path + ": " + value + " not in " + values);
      return;
    }
    String type = schema.getString("type", schema.containsKey("properties") ? "object" : "string");
    switch (type) {
      case "object" -> {
        JsonObject o = assertInstanceOf(JsonObject.class, value, path);
        JsonArray required = schema.getJsonArray("required", new JsonArray());
        for (Object r : required) {
          assertTrue(o.containsKey((String) r), path + ": required " + r + " missing");
        }
        JsonObject props = schema.getJsonObject("properties", new JsonObject());
        for (Map.Entry<String, Object> e : o) {
          assertTrue(props.containsKey(e.getKey()), path + ": undeclared property " + e.getKey());
          check(props.getJsonObject(e.getKey()), e.getValue(), path + "." + e.getKey());
        }
      }
      case "array" -> {
        JsonArray a = assertInstanceOf(JsonArray.class, value, path);
        assertTrue(a.size() >= schema.getInteger("minItems", 0), path + ": too few items");
        assertTrue(a.size() <= schema.getInteger("maxItems", Integer.MAX_VALUE), path + ": too many items");
        for (int i = 0; i < a.size(); i++) {
          check(schema.getJsonObject("items", new JsonObject()), a.getValue(i), path + "[" + i + "]");
        }
      }
      case "integer" -> {
        Number n = assertInstanceOf(Number.class, value, path);
        assertEquals(Math.rint(n.doubleValue()), n.doubleValue(), path + ": not an integer");
        checkRange(schema, n.doubleValue(), path);
      }
      case "number" -> checkRange(schema, assertInstanceOf(Number.class, value, path).doubleValue(), path);
      case "boolean" -> assertInstanceOf(Boolean.class, value, path);
      default -> {
        String s = assertInstanceOf(String.class, value, path);
        assertTrue(s.length() >= schema.getInteger("minLength", 0), path + ": too short");
        assertTrue(s.length() <= schema.getInteger("maxLength", Integer.MAX_VALUE), path + ": too long");
      }
    }
  }

  private static void checkRange(JsonObject schema, double v, String path) {
    if (schema.getValue("minimum") instanceof Number min) {
      assertTrue(v >= min.doubleValue(), path + ": " + v + " < minimum " + min);
    }
    if (schema.getValue("maximum") instanceof Number max) {
      assertTrue(v <= max.doubleValue(), path + ": " + v + " > maximum " + max);
    }
  }
}
