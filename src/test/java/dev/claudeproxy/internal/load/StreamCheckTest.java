package dev.claudeproxy.internal.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.upstream.SseParser;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Iterator;
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

  /** A plan with every kind of block: thinking (with its signature), a sentence of text, then a tool call. */
  private static ReplyPlan planWithEveryBlock() {
    return ReplyPlan.of(planWithEveryBlockRequest(), 12);
  }

  private static JsonObject planWithEveryBlockRequest() {
    JsonObject tool = new JsonObject().put("name", "get_weather").put("description", "Weather")
        .put("input_schema", new JsonObject().put("type", "object").put("properties",
            new JsonObject().put("city", new JsonObject().put("type", "string"))));
    return new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 1024)
        .put("thinking", new JsonObject().put("type", "enabled").put("budget_tokens", 1024))
        .put("tools", new JsonArray().add(tool))
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Weather?")));
  }

  /** The simulator's stream for the plan, as the events a reader counts (pings left out). */
  private static List<Buffer> simulatorEvents(ReplyPlan plan) {
    Buffer all = Buffer.buffer();
    for (Iterator<Buffer> pieces = plan.pieces("msg_01test"); pieces.hasNext(); ) {
      all.appendBuffer(pieces.next());
    }
    List<Buffer> events = new ArrayList<>();
    new SseParser().feed(all, event -> {
      if (!"ping".equals(event.name())) {
        events.add(event.raw());
      }
    });
    return events;
  }

  /** Feeds the events to one check as a stream cut after {@code cut} events and resumed with a new parser. */
  private static StreamCheck joined(ReplyPlan plan, List<Buffer> first, List<Buffer> second) {
    StreamCheck check = new StreamCheck(false, plan);
    for (List<Buffer> part : List.of(first, second)) {
      SseParser parser = new SseParser();
      part.forEach(event -> parser.feed(event, check::accept));
    }
    return check;
  }

  @Test
  void aStreamJoinedAtAnyPositionIsTheSimulatorsByteForByte() {
    ReplyPlan plan = planWithEveryBlock();
    List<Buffer> events = simulatorEvents(plan);
    assertEquals(plan.eventCount(), events.size());
    assertTrue(plan.blocks().size() == 3 && plan.toolUse() != null, "every kind of block is in the plan");
    for (int cut = 0; cut <= events.size(); cut++) {
      StreamCheck check = joined(plan, events.subList(0, cut), events.subList(cut, events.size()));
      assertNull(check.violation(), "cut after " + cut);
      assertTrue(check.complete());
      assertEquals(events.size(), check.position());
      assertEquals(plan.text(), check.text());
    }
  }

  @Test
  void everyShapeOfReplyIsCountedAndMatchedWhole() {
    JsonObject base = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 1024)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hi")));
    JsonObject withTools = planWithEveryBlockRequest();
    List<JsonObject> requests = List.of(base, base.copy().put("max_tokens", 0), base.copy().put("max_tokens", 3),
        base.copy().put("stop_sequences", new JsonArray().add("e")), withTools,
        withTools.copy().put("tool_choice", new JsonObject().put("type", "any")).put("thinking",
            new JsonObject().put("type", "disabled")));
    for (JsonObject request : requests) {
      ReplyPlan plan = ReplyPlan.of(request, 12);
      List<Buffer> events = simulatorEvents(plan);
      assertEquals(plan.eventCount(), events.size(), request.encode());
      StreamCheck check = joined(plan, events, List.of());
      assertNull(check.violation(), request.encode());
      assertTrue(check.complete(), request.encode());
    }
  }

  @Test
  void aResumeThatLosesRepeatsOrReordersAnEventIsAViolation() {
    ReplyPlan plan = planWithEveryBlock();
    List<Buffer> events = simulatorEvents(plan);
    for (int cut = 1; cut < events.size(); cut++) {
      String where = "cut after " + cut;
      StreamCheck lost = joined(plan, events.subList(0, cut), events.subList(cut + 1, events.size()));
      assertFalse(lost.complete(), where);
      if (cut + 1 < events.size()) {
        assertTrue(lost.violation().startsWith("event " + (cut + 1) + " "), where + ": " + lost.violation());
      }
      StreamCheck repeated = joined(plan, events.subList(0, cut), events.subList(cut - 1, events.size()));
      assertTrue(repeated.violation() != null, where);
      if (cut + 1 < events.size()) {
        List<Buffer> swapped = new ArrayList<>(events.subList(cut, events.size()));
        swapped.set(0, events.get(cut + 1));
        swapped.set(1, events.get(cut));
        assertTrue(joined(plan, events.subList(0, cut), swapped).violation() != null, where);
      }
    }
  }

  @Test
  void anEventThatDiffersFromTheSimulatorsIsAViolationEvenWhenTheGrammarHolds() {
    ReplyPlan plan = planWithEveryBlock();
    List<Buffer> events = new ArrayList<>(simulatorEvents(plan));
    int delta = 0;
    while (!events.get(delta).toString().contains("text_delta")) {
      delta++;
    }
    events.set(delta, Buffer.buffer(events.get(delta).toString().replace("\"text\":\"", "\"text\":\"x")));
    StreamCheck check = joined(plan, events, List.of());
    assertTrue(check.violation().startsWith("event " + (delta + 1) + " (content_block_delta) is not the simulator's"),
        check.violation());
  }

  @Test
  void positionsCountEventsButNotPings() {
    StreamCheck check = new StreamCheck(false);
    feed(check, START + blockStart(0) + event("ping", "{\"type\":\"ping\"}") + text(0, "a"));
    assertEquals(3, check.position());
    StreamCheck chat = new StreamCheck(true);
    new SseParser().feed(Buffer.buffer("id: 1\nevent: usage\ndata: {}\n\n: ping\n\nid: 2\nevent: text\n"
        + "data: {\"text\":\"a\"}\n\n"), chat::accept);
    assertEquals(2, chat.position());
  }
}
