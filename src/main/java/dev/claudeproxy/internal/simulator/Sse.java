package dev.claudeproxy.internal.simulator;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;

/**
 * Builds the bytes of Claude's SSE events directly into a {@link Buffer}.
 *
 * <p>Streams write hundreds of thousands of deltas per second, so delta events are assembled from constant byte
 * prefixes and pre-escaped text rather than serialised through Jackson: the only per-event work is a few array
 * copies. Every event is {@code event: <name>\n}, one {@code data: <one-line JSON>\n} line and a blank line, LF
 * only, as the protocol page prescribes.
 */
final class Sse {
  private static final JsonStringEncoder ENCODER = JsonStringEncoder.getInstance();

  private static final byte[] DELTA_PREFIX =
      ascii("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":");
  private static final byte[] TEXT_DELTA = ascii(",\"delta\":{\"type\":\"text_delta\",\"text\":\"");
  private static final byte[] THINKING_DELTA = ascii(",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"");
  private static final byte[] JSON_DELTA = ascii(",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"");
  private static final byte[] SIGNATURE_DELTA = ascii(",\"delta\":{\"type\":\"signature_delta\",\"signature\":\"");
  private static final byte[] DELTA_SUFFIX = ascii("\"}}\n\n");

  private static final byte[] START_PREFIX =
      ascii("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":");
  private static final byte[] START_TEXT = ascii(",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
  private static final byte[] START_THINKING =
      ascii(",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n");
  private static final byte[] START_TOOL_ID = ascii(",\"content_block\":{\"type\":\"tool_use\",\"id\":\"");
  private static final byte[] START_TOOL_NAME = ascii("\",\"name\":\"");
  private static final byte[] START_TOOL_END = ascii("\",\"input\":{}}}\n\n");

  private static final byte[] STOP_PREFIX =
      ascii("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":");
  private static final byte[] OBJECT_END = ascii("}\n\n");

  static final byte[] PING = ascii("event: ping\ndata: {\"type\": \"ping\"}\n\n");
  static final byte[] MESSAGE_STOP = ascii("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");

  private static final byte[][] INDEX = new byte[64][];

  static {
    for (int i = 0; i < INDEX.length; i++) {
      INDEX[i] = ascii(Integer.toString(i));
    }
  }

  private Sse() {
  }

  static byte[] ascii(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  /** JSON string content for {@code s}: escaped, UTF-8, without the quotes. */
  static byte[] escape(String s) {
    return ENCODER.quoteAsUTF8(s);
  }

  private static Buffer index(Buffer out, int index) {
    return index < INDEX.length ? out.appendBytes(INDEX[index]) : out.appendString(Integer.toString(index));
  }

  static void textDelta(Buffer out, int index, byte[] escapedText) {
    index(out.appendBytes(DELTA_PREFIX), index).appendBytes(TEXT_DELTA).appendBytes(escapedText)
        .appendBytes(DELTA_SUFFIX);
  }

  static void thinkingDelta(Buffer out, int index, byte[] escapedText) {
    index(out.appendBytes(DELTA_PREFIX), index).appendBytes(THINKING_DELTA).appendBytes(escapedText)
        .appendBytes(DELTA_SUFFIX);
  }

  static void inputJsonDelta(Buffer out, int index, byte[] escapedJson) {
    index(out.appendBytes(DELTA_PREFIX), index).appendBytes(JSON_DELTA).appendBytes(escapedJson)
        .appendBytes(DELTA_SUFFIX);
  }

  static void signatureDelta(Buffer out, int index, byte[] escapedSignature) {
    index(out.appendBytes(DELTA_PREFIX), index).appendBytes(SIGNATURE_DELTA).appendBytes(escapedSignature)
        .appendBytes(DELTA_SUFFIX);
  }

  static void startText(Buffer out, int index) {
    index(out.appendBytes(START_PREFIX), index).appendBytes(START_TEXT);
  }

  static void startThinking(Buffer out, int index) {
    index(out.appendBytes(START_PREFIX), index).appendBytes(START_THINKING);
  }

  static void startToolUse(Buffer out, int index, String id, String name) {
    index(out.appendBytes(START_PREFIX), index).appendBytes(START_TOOL_ID).appendBytes(escape(id))
        .appendBytes(START_TOOL_NAME).appendBytes(escape(name)).appendBytes(START_TOOL_END);
  }

  static void stop(Buffer out, int index) {
    index(out.appendBytes(STOP_PREFIX), index).appendBytes(OBJECT_END);
  }

  /**
   * Where the event starting at {@code from} ends: just past its blank line, or at the end of {@code b} when no
   * blank line follows. Every event's data is one line of JSON (a newline in a string is escaped), so the first
   * {@code \n\n} after {@code from} is the event's own end.
   */
  static int eventEnd(Buffer b, int from) {
    int n = b.length();
    for (int i = from + 1; i < n; i++) {
      if (b.getByte(i) == '\n' && b.getByte(i - 1) == '\n') {
        return i + 1;
      }
    }
    return n;
  }

  /** Any other event, from a JSON object; used for the once-per-stream events where speed does not matter. */
  static void event(Buffer out, String name, JsonObject data) {
    out.appendString("event: ").appendString(name).appendString("\ndata: ").appendString(data.encode())
        .appendString("\n\n");
  }
}
