package dev.claudeproxy.internal.upstream;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One complete server-sent event: its name and the exact bytes it arrived as, from its first line up to and
 * including the blank line that ended it. The data is decoded only when asked for, so pass-through forwarding never
 * pays for it.
 */
public final class SseEvent {
  private final String name;
  private final Buffer raw;
  private String data;

  SseEvent(String name, Buffer raw) {
    this.name = name;
    this.raw = raw;
  }

  /** The {@code event:} field, or null when the event had none. */
  public String name() {
    return name;
  }

  /** The event's bytes exactly as received. */
  public Buffer raw() {
    return raw;
  }

  /** The {@code data:} lines joined by {@code \n}, as the SSE specification defines; null when there were none. */
  public String data() {
    if (data == null) {
      data = decodeData();
    }
    return data;
  }

  /**
   * Reads the data as one JSON object, handing each field to {@code field} (see {@link JsonFields#readObject}); false
   * when it is not one. One data line (as every event Claude sends has) is parsed straight from its UTF-8 bytes.
   */
  public boolean readDataObject(JsonFields.Field field) {
    if (data == null) {
      byte[] bytes = raw.getBytes();
      int[] lines = dataLines(bytes);
      if (lines.length == 2) {
        return JsonFields.readObject(bytes, lines[0], lines[1] - lines[0], field);
      }
    }
    return JsonFields.readObject(data(), field);
  }

  private String decodeData() {
    byte[] bytes = raw.getBytes();
    int[] lines = dataLines(bytes);
    if (lines.length == 0) {
      return null;
    }
    // One data line (as every event Claude sends has) is decoded straight from the bytes; more are joined.
    String first = new String(bytes, lines[0], lines[1] - lines[0], StandardCharsets.UTF_8);
    if (lines.length == 2) {
      return first;
    }
    StringBuilder out = new StringBuilder(first);
    for (int i = 2; i < lines.length; i += 2) {
      out.append('\n').append(new String(bytes, lines[i], lines[i + 1] - lines[i], StandardCharsets.UTF_8));
    }
    return out.toString();
  }

  /** Where the values of the {@code data:} lines of {@code bytes} start and end, as pairs in order. */
  private static int[] dataLines(byte[] bytes) {
    int[] found = new int[2];
    int count = 0;
    int i = 0;
    while (i < bytes.length) {
      int end = i;
      while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
        end++;
      }
      if (end - i >= 5 && bytes[i] == 'd' && bytes[i + 1] == 'a' && bytes[i + 2] == 't' && bytes[i + 3] == 'a'
          && bytes[i + 4] == ':') {
        int start = i + 5;
        if (start < end && bytes[start] == ' ') {
          start++;
        }
        if (count == found.length) {
          found = Arrays.copyOf(found, count * 2);
        }
        found[count++] = start;
        found[count++] = end;
      }
      i = end;
      if (i < bytes.length && bytes[i] == '\r') {
        i++;
      }
      if (i < bytes.length && bytes[i] == '\n') {
        i++;
      }
    }
    return count == found.length ? found : Arrays.copyOf(found, count);
  }

  @Override
  public String toString() {
    return "SseEvent[" + name + "]";
  }
}
