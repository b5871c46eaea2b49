package dev.claudeproxy.internal.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class StreamFactsTest {

  private static StreamFacts observe(String... events) {
    StreamFacts facts = new StreamFacts();
    StringBuilder stream = new StringBuilder();
    for (int i = 0; i < events.length; i += 2) {
      stream.append("event: ").append(events[i]).append("\ndata: ").append(events[i + 1]).append("\n\n");
    }
    new SseParser().feed(Buffer.buffer(stream.toString()), facts::observe);
    return facts;
  }

  @Test
  void readsTheIdModelUsageAndStopReasonOfAStream() {
    StreamFacts facts = observe(
        "message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
            + "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-6\",\"stop_reason\":null,"
            + "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4,"
            + "\"cache_creation\":{\"ephemeral_5m_input_tokens\":0},\"output_tokens\":1,\"service_tier\":\"standard\"}}}",
        "content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
            + "\"text\":\"{\\\"usage\\\":{\\\"output_tokens\\\":999}}\"}}",
        "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},"
            + "\"usage\":{\"output_tokens\":15,\"server_tool_use\":{\"web_search_requests\":1}}}",
        "message_stop", "{\"type\":\"message_stop\"}");

    assertEquals("msg_1", facts.messageId());
    assertEquals("claude-sonnet-4-6", facts.model());
    assertEquals("end_turn", facts.stopReason());
    assertTrue(facts.sawStop());
    assertFalse(facts.malformed());
    // Counters are cumulative: the later value replaces the earlier; nested objects and strings are not counters.
    assertEquals(new JsonObject().put("input_tokens", 12).put("cache_creation_input_tokens", 0)
        .put("cache_read_input_tokens", 4).put("output_tokens", 15), facts.usage());
  }

  @Test
  void theDataIsReadWhateverItsLinesAndLineEnds() {
    String start = "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_é\",\"model\":\"m😀\","
        + "\"usage\":{\"input_tokens\":3}}}";
    String[] streams = {
        "event: message_start\r\ndata: " + start + "\r\n\r\n",
        "event: message_start\rdata:" + start + "\r\r",
        // Two data lines are one value joined by a line break, which JSON reads as white space.
        "event: message_start\ndata: {\"type\":\"message_start\",\ndata: \"message\":{\"id\":\"msg_é\","
            + "\"model\":\"m😀\",\"usage\":{\"input_tokens\":3}}}\n\n"};
    for (String stream : streams) {
      StreamFacts facts = new StreamFacts();
      new SseParser().feed(Buffer.buffer(stream), facts::observe);
      assertFalse(facts.malformed(), stream);
      assertEquals("msg_é", facts.messageId(), stream);
      assertEquals("m😀", facts.model(), stream);
      assertEquals(3, facts.usage().getInteger("input_tokens"), stream);
    }
  }

  @Test
  void aNullStopReasonLeavesTheKnownOne() {
    StreamFacts facts = observe(
        "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{}}",
        "message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":null},\"usage\":{\"output_tokens\":2}}");

    assertEquals("max_tokens", facts.stopReason());
    assertEquals(2, facts.usage().getInteger("output_tokens"));
  }

  @Test
  void factEventsThatAreNotOneJsonObjectAreMalformed() {
    for (String data : new String[] {"{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}",
        "[1,2]", "{\"usage\":{}} {}", "{\"delta\":{\"stop_reason\":\"end_turn\",}}", "not json"}) {
      assertTrue(observe("message_delta", data).malformed(), data);
      assertTrue(observe("message_start", data).malformed(), data);
    }
  }

  @Test
  void fieldsOfAnUnexpectedShapeAreSkippedWhole() {
    StreamFacts facts = observe("message_start", "{\"message\":{\"id\":{\"model\":\"inner\"},\"model\":[\"a\"],"
        + "\"usage\":7,\"content\":[{\"usage\":{\"output_tokens\":5}}]},\"usage\":{\"output_tokens\":9}}");

    assertFalse(facts.malformed());
    assertNull(facts.messageId());
    assertNull(facts.model());
    // message_start's counters are message.usage; a top-level usage is not one.
    assertTrue(facts.usage().isEmpty());
  }

  @Test
  void deltasAreNotRead() {
    StreamFacts facts = observe("content_block_delta", "not json at all");

    assertFalse(facts.malformed());
    assertTrue(facts.usage().isEmpty());
    assertNull(facts.stopReason());
  }

  @Test
  void anErrorEventKeepsItsErrorObject() {
    StreamFacts facts = observe("error",
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}");

    assertEquals("overloaded_error", facts.upstreamError().getString("type"));
    assertEquals("api_error", observe("error", "{\"type\":\"error\"}").upstreamError().getString("type"));
  }
}
