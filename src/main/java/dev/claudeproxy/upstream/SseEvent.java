package dev.claudeproxy.upstream;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;

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
      long line = onlyDataLine(bytes);
      if (line >= 0) {
        int start = (int) (line >>> 32);
        return JsonFields.readObject(bytes, start, (int) line - start, field);
      }
    }
    return JsonFields.readObject(data(), field);
  }

  /**
   * Where the value of the one {@code data:} line of {@code bytes} starts and ends, packed as {@code start << 32 |
   * end}; -1 when there is none or more than one.
   */
  private static long onlyDataLine(byte[] bytes) {
    long found = -1;
    int i = 0;
    while (i < bytes.length) {
      int end = i;
      while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
        end++;
      }
      if (isData(bytes, i, end)) {
        if (found != -1) {
          return -1;
        }
        int start = i + 5;
        if (start < end && bytes[start] == ' ') {
          start++;
        }
        found = (long) start << 32 | end;
      }
      i = end;
      if (i < bytes.length && bytes[i] == '\r') {
        i++;
      }
      if (i < bytes.length && bytes[i] == '\n') {
        i++;
      }
    }
    return found;
  }

  private static boolean isData(byte[] bytes, int i, int end) {
    return end - i >= 5 && bytes[i] == 'd' && bytes[i + 1] == 'a' && bytes[i + 2] == 't' && bytes[i + 3] == 'a'
        && bytes[i + 4] == ':';
  }

  private String decodeData() {
    byte[] bytes = raw.getBytes();
    // One data line (as every event Claude sends has) is decoded straight from the bytes; more are joined.
    String first = null;
    StringBuilder out = null;
    int i = 0;
    while (i < bytes.length) {
      int end = i;
      while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
        end++;
      }
      if (isData(bytes, i, end)) {
        int start = i + 5;
        if (start < end && bytes[start] == ' ') {
          start++;
        }
        String line = new String(bytes, start, end - start, StandardCharsets.UTF_8);
        if (first == null) {
          first = line;
        } else {
          if (out == null) {
            out = new StringBuilder(first);
          }
          out.append('\n').append(line);
        }
      }
      i = end;
      if (i < bytes.length && bytes[i] == '\r') {
        i++;
      }
      if (i < bytes.length && bytes[i] == '\n') {
        i++;
      }
    }
    return out != null ? out.toString() : first;
  }

  @Override
  public String toString() {
    return "SseEvent[" + name + "]";
  }
}
