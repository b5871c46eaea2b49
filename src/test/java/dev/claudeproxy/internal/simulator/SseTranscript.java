package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;

/**
 * A raw SSE body checked against the protocol page, byte by byte: framing ({@code event: X\ndata: <one-line
 * JSON>\n\n}, LF only, a blank line after every event including the last, no other fields), the event grammar,
 * block indices, delta types per block, the thinking signature rule, the empty first JSON piece and cumulative
 * usage. The accumulated blocks are kept for the caller's own assertions.
 */
final class SseTranscript {

  /** One accumulated content block. */
  static final class Block {
    final String type;
    final JsonObject start;
    final StringBuilder text = new StringBuilder();
    final StringBuilder json = new StringBuilder();
    final List<String> jsonPieces = new ArrayList<>();
    String signature;
    int deltas;
    boolean stopped;

    Block(String type, JsonObject start) {
      this.type = type;
      this.start = start;
    }
  }

  final List<String> names = new ArrayList<>();
  final List<JsonObject> data = new ArrayList<>();
  final List<Block> blocks = new ArrayList<>();
  JsonObject messageStart;
  JsonObject messageDelta;
  JsonObject error;
  boolean stopped;
  int pings;

  /**
   * Parses and checks; {@code complete} demands a full stream ending in message_stop, otherwise the body may stop
   * after any whole event or end in an error event.
   */
  static SseTranscript check(String body, boolean complete) {
    SseTranscript t = new SseTranscript();
    assertFalse(body.contains("\r"), "LF line endings only");
    assertTrue(body.isEmpty() || body.endsWith("\n\n"), "every event, the last included, ends with a blank line");
    int pos = 0;
    while (pos < body.length()) {
      int end = body.indexOf("\n\n", pos);
      assertTrue(end > 0, "unterminated event at " + pos);
      String event = body.substring(pos, end);
      pos = end + 2;
      String[] lines = event.split("\n", -1);
      assertEquals(2, lines.length, "an event is exactly an event: line and a data: line, got: " + event);
      assertTrue(lines[0].startsWith("event: "), "event line first: " + event);
      assertTrue(lines[1].startsWith("data: "), "data line second: " + event);
      String name = lines[0].substring("event: ".length());
      String json = lines[1].substring("data: ".length());
      JsonObject d = new JsonObject(json);
      assertEquals(name, d.getString("type"), "event name matches the data type");
      if (name.equals("ping")) {
        assertEquals("{\"type\": \"ping\"}", json, "ping is sent exactly as the API sends it");
      }
      t.accept(name, d);
    }
    if (complete) {
      assertNull(t.error, "no error event in a complete stream");
      assertTrue(t.stopped, "the stream ends with message_stop");
      assertEquals("message_stop", t.names.get(t.names.size() - 1));
    }
    return t;
  }

  private void accept(String name, JsonObject d) {
    assertFalse(stopped, "nothing after message_stop, got " + name);
    assertNull(error, "nothing after an error event, got " + name);
    names.add(name);
    data.add(d);
    if (name.equals("ping")) {
      pings++;
      return;
    }
    if (name.equals("error")) {
      error = d.getJsonObject("error");
      assertNotNull(error.getString("type"));
      assertNotNull(error.getString("message"));
      return;
    }
    if (messageStart == null) {
      assertEquals("message_start", name, "message_start comes first");
      messageStart = d.getJsonObject("message");
      assertTrue(messageStart.getString("id").startsWith("msg_"));
      assertEquals("message", messageStart.getString("type"));
      assertEquals("assistant", messageStart.getString("role"));
      assertTrue(messageStart.getJsonArray("content").isEmpty());
      assertTrue(messageStart.containsKey("stop_reason") && messageStart.getValue("stop_reason") == null);
      JsonObject usage = messageStart.getJsonObject("usage");
      assertNotNull(usage, "message_start carries usage");
      assertTrue(usage.getInteger("input_tokens") >= 1);
      assertEquals(0, usage.getInteger("cache_creation_input_tokens"));
      assertEquals(0, usage.getInteger("cache_read_input_tokens"));
      assertEquals("standard", usage.getString("service_tier"));
      return;
    }
    Block open = blocks.isEmpty() ? null : blocks.get(blocks.size() - 1);
    switch (name) {
      case "message_start" -> fail("second message_start");
      case "content_block_start" -> {
        assertNull(messageDelta, "no block after message_delta");
        assertTrue(open == null || open.stopped, "blocks do not overlap");
        assertEquals(blocks.size(), d.getInteger("index"), "indices run 0..n-1 in order");
        JsonObject cb = d.getJsonObject("content_block");
        String type = cb.getString("type");
        switch (type) {
          case "text" -> assertEquals("", cb.getString("text"));
          case "thinking" -> {
            assertEquals("", cb.getString("thinking"));
            assertEquals("", cb.getString("signature"));
          }
          case "tool_use" -> {
            assertTrue(cb.getString("id").startsWith("toolu_"));
            assertNotNull(cb.getString("name"));
            assertEquals(new JsonObject(), cb.getJsonObject("input"));
          }
          default -> fail("unexpected block type " + type);
        }
        blocks.add(new Block(type, cb));
      }
      case "content_block_delta" -> {
        assertNotNull(open, "delta without a block");
        assertFalse(open.stopped, "delta after block stop");
        assertEquals(blocks.size() - 1, d.getInteger("index"), "delta for the open block");
        JsonObject delta = d.getJsonObject("delta");
        String type = delta.getString("type");
        switch (open.type) {
          case "text" -> {
            assertEquals("text_delta", type);
            open.text.append(delta.getString("text"));
          }
          case "thinking" -> {
            assertNull(open.signature, "the signature delta is the last delta of a thinking block");
            if (type.equals("signature_delta")) {
              open.signature = delta.getString("signature");
              assertFalse(open.signature.isEmpty());
            } else {
              assertEquals("thinking_delta", type);
              open.text.append(delta.getString("thinking"));
            }
          }
          default -> {
            assertEquals("input_json_delta", type);
            String piece = delta.getString("partial_json");
            if (open.jsonPieces.isEmpty()) {
              assertEquals("", piece, "the first input_json_delta is empty");
            }
            open.jsonPieces.add(piece);
            open.json.append(piece);
          }
        }
        open.deltas++;
      }
      case "content_block_stop" -> {
        assertNotNull(open, "stop without a block");
        assertFalse(open.stopped, "block stopped twice");
        assertEquals(blocks.size() - 1, d.getInteger("index"));
        if (open.type.equals("thinking")) {
          assertNotNull(open.signature, "exactly one signature_delta right before a thinking block's stop");
        }
        if (open.type.equals("tool_use")) {
          assertFalse(open.jsonPieces.isEmpty(), "a tool_use block gets at least one input_json_delta");
          new JsonObject(open.json.toString());
        }
        open.stopped = true;
      }
      case "message_delta" -> {
        assertTrue(open == null || open.stopped, "message_delta after the last block stop");
        JsonObject usage = d.getJsonObject("usage");
        assertNotNull(usage, "message_delta carries usage");
        int out = usage.getInteger("output_tokens");
        int previous = messageDelta == null
            ? messageStart.getJsonObject("usage").getInteger("output_tokens")
            : messageDelta.getJsonObject("usage").getInteger("output_tokens");
        assertTrue(out >= previous, "output_tokens is cumulative and never decreases");
        JsonObject delta = d.getJsonObject("delta");
        assertTrue(delta.containsKey("stop_reason") && delta.containsKey("stop_sequence"));
        if (!"stop_sequence".equals(delta.getString("stop_reason"))) {
          assertNull(delta.getValue("stop_sequence"));
        }
        messageDelta = d;
      }
      case "message_stop" -> {
        assertNotNull(messageDelta, "message_delta before message_stop");
        stopped = true;
      }
      default -> fail("unexpected event " + name);
    }
  }

  String text() {
    StringBuilder b = new StringBuilder();
    for (Block block : blocks) {
      if (block.type.equals("text")) {
        b.append(block.text);
      }
    }
    return b.toString();
  }

  String stopReason() {
    return messageDelta == null ? null : messageDelta.getJsonObject("delta").getString("stop_reason");
  }

  int outputTokens() {
    return messageDelta.getJsonObject("usage").getInteger("output_tokens");
  }

  long count(String name) {
    return names.stream().filter(name::equals).count();
  }
}
