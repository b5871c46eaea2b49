package dev.claudeproxy.internal.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {
  private static final String STREAM = ""
      + "event: message_start\n"
      + "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n"
      + "\n"
      + "event: content_block_start\n"
      + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n"
      + "\n"
      + "event: ping\n"
      + "data: {\"type\": \"ping\"}\n"
      + "\n"
      + "event: content_block_delta\n"
      + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"h\u00e9llo \u4e16\u754c \ud83d\ude00\"}}\n"
      + "\n"
      + ": a comment line\n"
      + "event: content_block_stop\n"
      + "data: {\"type\":\"content_block_stop\",\"index\":0  }\n"
      + "\n"
      + "event: message_stop\n"
      + "data: {\"type\":\"message_stop\"}\n"
      + "\n";

  private static final List<String> NAMES = List.of(
      "message_start", "content_block_start", "ping", "content_block_delta", "content_block_stop", "message_stop");

  @Test
  void reportsEveryEventWithItsExactBytesWhateverTheChunking() {
    for (String eol : List.of("\n", "\r\n", "\r")) {
      byte[] bytes = STREAM.replace("\n", eol).getBytes(StandardCharsets.UTF_8);
      for (int split = 0; split <= bytes.length; split++) {
        SseParser parser = new SseParser();
        List<SseEvent> events = parse(parser, bytes, split, bytes.length);
        assertEquals(NAMES, events.stream().map(SseEvent::name).toList(), "eol=" + escape(eol) + " split=" + split);
        assertEquals(STREAM.replace("\n", eol), joined(events) + parser.remainder().toString(StandardCharsets.UTF_8),
            "bytes kept, eol=" + escape(eol) + " split=" + split);
        assertTrue(events.get(3).data().endsWith("\"text\":\"h\u00e9llo \u4e16\u754c \ud83d\ude00\"}}"));
      }
    }
  }

  @Test
  void survivesThreeWaySplitsAtEveryPosition() {
    byte[] bytes = STREAM.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8);
    for (int a = 0; a < bytes.length; a += 3) {
      for (int b = a; b < bytes.length; b += 7) {
        List<SseEvent> events = parse(new SseParser(), bytes, a, b);
        assertEquals(NAMES, events.stream().map(SseEvent::name).toList(), "splits " + a + "," + b);
      }
    }
  }

  @Test
  void feedsOneByteAtATime() {
    byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
    SseParser parser = new SseParser();
    List<SseEvent> events = new ArrayList<>();
    for (byte b : bytes) {
      parser.feed(Buffer.buffer(new byte[] {b}), events::add);
    }
    assertEquals(NAMES, events.stream().map(SseEvent::name).toList());
    assertFalse(parser.hasPartialEvent());
  }

  @Test
  void joinsMultiLineDataAndStripsOneLeadingSpace() {
    SseParser parser = new SseParser();
    List<SseEvent> events = new ArrayList<>();
    parser.feed(Buffer.buffer("event: x\ndata:a\ndata:  b\ndata\n\n"), events::add);
    assertEquals(1, events.size());
    assertEquals("a\n b", events.get(0).data());
  }

  @Test
  void anEventWithoutItsBlankLineIsPartial() {
    SseParser parser = new SseParser();
    List<SseEvent> events = new ArrayList<>();
    parser.feed(Buffer.buffer("event: message_stop\ndata: {\"type\":\"message_stop\"}\n"), events::add);
    assertTrue(events.isEmpty());
    assertTrue(parser.hasPartialEvent());
    parser.feed(Buffer.buffer("\n"), events::add);
    assertEquals(1, events.size());
    assertFalse(parser.hasPartialEvent());
  }

  @Test
  void aHalfLineIsPartial() {
    SseParser parser = new SseParser();
    parser.feed(Buffer.buffer("event: mess"), e -> {});
    assertTrue(parser.hasPartialEvent());
  }

  @Test
  void forwardsWholeEventsOnlyAndNamesOnlyTheOnesAskedFor() {
    byte[][] wanted = SseParser.names("message_start", "message_stop");
    for (String eol : List.of("\n", "\r\n", "\r")) {
      String stream = STREAM.replace("\n", eol);
      byte[] bytes = stream.getBytes(StandardCharsets.UTF_8);
      for (int a = 0; a <= bytes.length; a += 2) {
        for (int b = a; b <= bytes.length; b += 11) {
          SseParser parser = new SseParser();
          List<String> named = new ArrayList<>();
          Buffer out = Buffer.buffer();
          int events = 0;
          for (int[] range : new int[][] {{0, a}, {a, b}, {b, bytes.length}}) {
            // Chunks with a non-zero offset into a larger array, as a slice of a read would have.
            byte[] padded = new byte[range[1] - range[0] + 6];
            System.arraycopy(bytes, range[0], padded, 3, range[1] - range[0]);
            Buffer chunk = Buffer.buffer(padded).slice(3, 3 + range[1] - range[0]);
            Buffer whole = parser.forward(chunk, wanted, e -> named.add(e.name()));
            if (whole != null) {
              out.appendBuffer(whole);
              events += parser.forwardedEvents();
              String text = whole.toString(StandardCharsets.UTF_8);
              assertTrue(text.endsWith(eol + eol) || text.endsWith("\r\r\n") || text.endsWith("\r\n\r"),
                  "ends on an event boundary: " + escape(text));
            }
          }
          String where = "eol=" + escape(eol) + " splits " + a + "," + b;
          assertEquals(List.of("message_start", "message_stop"), named, where);
          assertEquals(6, events, where);
          assertEquals(stream, out.toString(StandardCharsets.UTF_8) + parser.remainder().toString(StandardCharsets.UTF_8),
              where);
          assertFalse(parser.hasPartialEvent(), where);
        }
      }
    }
  }

  @Test
  void forwardingHandsBackTheChunkItselfWhenItHoldsWholeEvents() {
    SseParser parser = new SseParser();
    Buffer chunk = Buffer.buffer("event: ping\ndata: {}\n\nevent: ping\ndata: {}\n\n");
    assertSame(chunk, parser.forward(chunk, SseParser.names("error"), e -> true));
    assertEquals(2, parser.forwardedEvents());
    assertNull(parser.forward(Buffer.buffer("event: pi"), SseParser.names("error"), e -> true));
    assertEquals(0, parser.forwardedEvents());
    assertTrue(parser.hasPartialEvent());
  }

  @Test
  void forwardingStopsBeforeTheEventItsCallerRefuses() {
    SseParser parser = new SseParser();
    Buffer out = parser.forward(Buffer.buffer("event: ping\ndata: {}\n\nevent: error\ndata: {oops\n\nevent: ping\n"),
        SseParser.names("error"), e -> false);
    assertEquals("event: ping\ndata: {}\n\n", out.toString(StandardCharsets.UTF_8));
    assertEquals(1, parser.forwardedEvents());
    assertFalse(parser.hasPartialEvent());
  }

  @Test
  void findsEveryLineBreakWhereverItFallsInAWord() {
    java.util.Random random = new java.util.Random(7);
    for (int round = 0; round < 20_000; round++) {
      byte[] bytes = new byte[random.nextInt(40)];
      for (int i = 0; i < bytes.length; i++) {
        // Line breaks among their neighbours: other control bytes below and just above them (which the eight-byte
        // search marks too, or borrows from), and bytes with the high bit set that end in 0x0a or 0x0d.
        int pick = random.nextInt(16);
        bytes[i] = (byte) switch (pick) {
          case 0 -> '\n';
          case 1 -> '\r';
          case 2 -> 0x8a;
          case 3 -> 0x0b;
          case 4 -> 0x00;
          case 5 -> 0x0e;
          case 6 -> 0x0f;
          case 7 -> 0x8d;
          case 8 -> 0xff;
          case 9 -> 0x09;
          default -> 'a' + pick;
        };
      }
      int from = bytes.length == 0 ? 0 : random.nextInt(bytes.length);
      int expected = from;
      while (expected < bytes.length && bytes[expected] != '\n' && bytes[expected] != '\r') {
        expected++;
      }
      assertEquals(expected, SseParser.nextBreak(bytes, from, bytes.length), java.util.Arrays.toString(bytes));
    }
  }

  private static List<SseEvent> parse(SseParser parser, byte[] bytes, int split1, int split2) {
    List<SseEvent> events = new ArrayList<>();
    parser.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, 0, split1)), events::add);
    parser.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, split1, split2)), events::add);
    parser.feed(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, split2, bytes.length)), events::add);
    assertFalse(parser.hasPartialEvent());
    return events;
  }

  private static String joined(List<SseEvent> events) {
    Buffer all = Buffer.buffer();
    events.forEach(e -> all.appendBuffer(e.raw()));
    return all.toString(StandardCharsets.UTF_8);
  }

  private static String escape(String s) {
    return s.replace("\r", "\\r").replace("\n", "\\n");
  }
}
