package dev.claudeproxy.internal.upstream;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;

/**
 * Reads the few fields wanted from a JSON object with a streaming parser, building no tree: for SSE events read
 * once per stream by the proxy ({@link StreamFacts}) or once per delta by the load generator.
 */
public final class JsonFields {
  private static final JsonFactory JSON = new JsonFactory();

  private JsonFields() {
  }

  /** What to do with one field of an object being read: true when it took the value, else it is skipped whole. */
  public interface Field {
    boolean take(JsonParser p, String name, JsonToken value) throws IOException;
  }

  /**
   * Reads {@code data} as one JSON object, handing each of its fields to {@code field}; false when it is not one
   * (null, unreadable, another kind of value, or followed by more), in which case some fields may have been taken.
   */
  public static boolean readObject(String data, Field field) {
    if (data == null) {
      return false;
    }
    try {
      return whole(JSON.createParser(data), field);
    } catch (IOException e) {
      return false;
    }
  }

  /** As {@link #readObject(String, Field)}, from {@code length} bytes of UTF-8 at {@code offset} of {@code data}. */
  public static boolean readObject(byte[] data, int offset, int length, Field field) {
    try {
      return whole(JSON.createParser(data, offset, length), field);
    } catch (IOException e) {
      return false;
    }
  }

  /** Reads what {@code parser} parses as one object, field by field, and closes it. */
  private static boolean whole(JsonParser parser, Field field) throws IOException {
    try (JsonParser p = parser) {
      return p.nextToken() == JsonToken.START_OBJECT && fields(p, field) && p.nextToken() == null;
    }
  }

  /** Reads the fields of the object the parser has just entered, up to its end; true, to chain with {@code &&}. */
  public static boolean fields(JsonParser p, Field field) throws IOException {
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.currentName();
      if (!field.take(p, name, p.nextToken())) {
        p.skipChildren();
      }
    }
    return true;
  }
}
