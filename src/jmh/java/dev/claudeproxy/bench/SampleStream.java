package dev.claudeproxy.bench;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * A Messages API stream as the upstream sends it (see /work/shared/anthropic-streaming.md): message_start, a text
 * block with a ping after its start, {@code n} text deltas of 10 to 40 characters, then the stop events. The texts are
 * seeded, so every run measures the same bytes.
 */
final class SampleStream {
  // English prose with the odd escape and non-ASCII character, so the JSON and UTF-8 are what a real answer carries.
  private static final String[] WORDS = {
    "the", "stream", "proxy", "sends", "each", "event", "as", "it", "arrives", "from", "upstream", "and", "never",
    "rewrites", "bytes", "Vert.x", "event", "loop", "buffer", "token", "latency", "\"quoted\"", "naïve", "café",
    "über", "—", "…", "line\n", "tab\t", "path\\to", "50%", "{json}", "[1, 2]", "é", "日本語", "🙂", "a", "of", "to"
  };

  private static final String MESSAGE_START = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
      + "{\"model\":\"claude-sonnet-4-5\",\"id\":\"msg_bench_0001\",\"type\":\"message\",\"role\":\"assistant\","
      + "\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":377,"
      + "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"output_tokens\":1,"
      + "\"service_tier\":\"standard\"}}}\n\n";
  private static final String BLOCK_START = "event: content_block_start\ndata: {\"type\":\"content_block_start\","
      + "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n";
  private static final String PING = "event: ping\ndata: {\"type\": \"ping\"}\n\n";
  private static final String BLOCK_STOP = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
      + "\"index\":0}\n\n";
  private static final String MESSAGE_DELTA = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
      + "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":%d}}\n\n";
  private static final String MESSAGE_STOP = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

  /** Events in a stream besides its deltas. */
  static final int NON_DELTA_EVENTS = 6;

  private SampleStream() {}

  /** {@code n} delta texts, each 10 to 40 characters long. */
  static String[] texts(int n, long seed) {
    Random random = new Random(seed);
    String[] texts = new String[n];
    for (int i = 0; i < n; i++) {
      int target = 10 + random.nextInt(31);
      StringBuilder text = new StringBuilder(target + 8);
      while (text.length() < target) {
        text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
      }
      int end = Math.min(text.length(), 40);
      if (Character.isHighSurrogate(text.charAt(end - 1))) {
        end--; // never cut an emoji in half: it would be encoded as '?'
      }
      texts[i] = text.substring(0, end);
    }
    return texts;
  }

  /** One {@code content_block_delta} event, encoded as the API does: one-line JSON, LF line ends. */
  static byte[] delta(String text) {
    JsonObject data = new JsonObject().put("type", "content_block_delta").put("index", 0)
        .put("delta", new JsonObject().put("type", "text_delta").put("text", text));
    return ("event: content_block_delta\ndata: " + data.encode() + "\n\n").getBytes(StandardCharsets.UTF_8);
  }

  /** The whole stream with {@code n} deltas. */
  static byte[] stream(int n, long seed) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(n * 140 + 1024);
    out.writeBytes(utf8(MESSAGE_START));
    out.writeBytes(utf8(BLOCK_START));
    out.writeBytes(utf8(PING));
    for (String text : texts(n, seed)) {
      out.writeBytes(delta(text));
    }
    out.writeBytes(utf8(BLOCK_STOP));
    out.writeBytes(utf8(String.format(MESSAGE_DELTA, n)));
    out.writeBytes(utf8(MESSAGE_STOP));
    return out.toByteArray();
  }

  /** {@code bytes} cut every {@code size} bytes, wherever that falls: inside a line, an event or a character. */
  static byte[][] chunks(byte[] bytes, int size) {
    int count = (bytes.length + size - 1) / size;
    byte[][] chunks = new byte[count][];
    for (int i = 0; i < count; i++) {
      chunks[i] = Arrays.copyOfRange(bytes, i * size, Math.min(bytes.length, (i + 1) * size));
    }
    return chunks;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
