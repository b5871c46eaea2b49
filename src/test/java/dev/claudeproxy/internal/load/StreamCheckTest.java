package dev.claudeproxy.internal.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the load generator's check of a {@code /v1/messages} stream accepts, and what it calls broken. */
class StreamCheckTest {
  private static final String START = event("message_start",
      "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}");
  private static final String STOP = event("message_delta",
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}")
      + event("message_stop", "{\"type\":\"message_stop\"}");

  private static String event(String name, String data) {
    return "event: " + name + "\ndata: " + data + "\n\n";
  }

  private static String blockStart(int index) {
    return event("content_block_start", "{\"type\":\"content_block_start\",\"index\":" + index
        + ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
  }

  private static String text(int index, String text) {
    return event("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" + index
        + ",\"delta\":{\"type\":\"text_delta\",\"text\":\"" + text + "\"}}");
  }

  private static String blockStop(int index) {
    return event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" + index + "}");
  }

  /** Feeds the stream in one piece; returns how many events the check counted as deltas. */
  private static int feed(StreamCheck check, String stream) {
    List<Boolean> deltas = new ArrayList<>();
    new SseParser().feed(Buffer.buffer(stream), event -> deltas.add(check.accept(event)));
    return (int) deltas.stream().filter(d -> d).count();
  }

  @Test
  void aWholeStreamIsCompleteWithItsText() {
    StreamCheck check = new StreamCheck(false);
    String stream = START + blockStart(0) + text(0, "Hello") + text(0, ", \\\"world\\\"\\n")
        + event("ping", "{\"type\":\"ping\"}") + event("content_block_delta",
            "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hm\"}}")
        + blockStop(0) + blockStart(1) + text(1, "!") + blockStop(1) + STOP;
    assertEquals(4, feed(check, stream));
    assertNull(check.violation());
    assertTrue(check.complete());
    assertEquals("Hello, \"world\"\n!", check.text());
    assertEquals(4, check.deltas());
  }

  @Test
  void fieldsInAnyOrderAndUnknownOnesAreRead() {
    StreamCheck check = new StreamCheck(false);
    String delta = event("content_block_delta", "{\"delta\":{\"text\":\"ab\",\"extra\":[1,{\"x\":2}],"
        + "\"type\":\"text_delta\"},\"more\":{\"index\":5},\"index\":0,\"type\":\"content_block_delta\"}");
    feed(check, START + blockStart(0) + delta + blockStop(0) + STOP);
    assertNull(check.violation());
    assertEquals("ab", check.text());
  }

  @Test
  void aDeltaOutsideItsBlockIsAViolation() {
    StreamCheck check = new StreamCheck(false);
    feed(check, START + blockStart(0) + text(1, "x") + blockStop(0) + STOP);
    assertEquals("a delta for block 1 while block 0 is open", check.violation());
    assertFalse(check.complete());
  }

  @Test
  void aDeltaWithoutAnIndexIsAViolation() {
    StreamCheck check = new StreamCheck(false);
    feed(check, START + blockStart(0) + event("content_block_delta",
        "{\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"));
    assertEquals("a delta for block -1 while block 0 is open", check.violation());
  }

  @Test
  void unreadableJsonInADeltaIsAViolation() {
    for (String bad : List.of("{\"type\":\"content_block_delta\",\"index\":0,", "[0]",
        "{\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}} trailing", "")) {
      StreamCheck check = new StreamCheck(false);
      feed(check, START + blockStart(0) + event("content_block_delta", bad));
      assertEquals("unreadable JSON in content_block_delta", check.violation(), bad);
    }
  }

  @Test
  void blocksOutOfOrderAndEventsOutOfPlaceAreViolations() {
    StreamCheck skipped = new StreamCheck(false);
    feed(skipped, START + blockStart(1));
    assertEquals("content_block_start 1 out of order (expected 0)", skipped.violation());

    StreamCheck early = new StreamCheck(false);
    feed(early, blockStart(0));
    assertEquals("content_block_start before message_start", early.violation());

    StreamCheck open = new StreamCheck(false);
    feed(open, START + blockStart(0) + text(0, "x") + event("message_stop", "{\"type\":\"message_stop\"}"));
    assertEquals("message_stop inside block 0", open.violation());

    StreamCheck after = new StreamCheck(false);
    feed(after, START + blockStart(0) + blockStop(0) + STOP + text(0, "late"));
    assertEquals("content_block_delta after message_stop", after.violation());
  }

  @Test
  void anErrorEventEndsTheStreamWithItsType() {
    StreamCheck check = new StreamCheck(false);
    feed(check, START + blockStart(0) + text(0, "x") + event("error",
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"));
    assertNull(check.violation());
    assertEquals("overloaded_error", check.errorType());
    assertFalse(check.complete());
  }
}
