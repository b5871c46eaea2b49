package dev.claudeproxy.internal.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTranslatorTest {
  /** The golden tool-use stream of the protocol page, with the tool input split in three pieces. */
  private static final String TOOL_STREAM = ""
      + "event: message_start\n"
      + "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_019Q1hrJbZG26Fb9BQhrkHEr\",\"type\":\"message\","
      + "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],\"stop_reason\":null,"
      + "\"stop_sequence\":null,\"usage\":{\"input_tokens\":377,\"cache_creation_input_tokens\":0,"
      + "\"cache_read_input_tokens\":0,\"output_tokens\":1,\"service_tier\":\"standard\"}}}\n\n"
      + "event: content_block_start\n"
      + "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      + "event: ping\n"
      + "data: {\"type\": \"ping\"}\n\n"
      + "event: content_block_delta\n"
      + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
      + "\"text\":\"I'll check the current weather in Paris for you.\"}}\n\n"
      + "event: content_block_stop\n"
      + "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      + "event: content_block_start\n"
      + "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\","
      + "\"id\":\"toolu_01NRLabsLyVHZPKxbKvkfSMn\",\"name\":\"get_weather\",\"caller\":{\"type\":\"direct\"},\"input\":{}}}\n\n"
      + "event: content_block_delta\n"
      + "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
      + "event: content_block_delta\n"
      + "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
      + "\"partial_json\":\"{\\\"location\\\": \\\"Pa\"}}\n\n"
      + "event: content_block_delta\n"
      + "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
      + "\"partial_json\":\"ris\\\"}\"}}\n\n"
      + "event: content_block_stop\n"
      + "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      + "event: message_delta\n"
      + "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
      + "\"usage\":{\"output_tokens\":65}}\n\n"
      + "event: message_stop\n"
      + "data: {\"type\":\"message_stop\"}\n\n";

  @Test
  void turnsAToolUseStreamIntoChatEvents() {
    StreamFacts facts = new StreamFacts();
    ChatTranslator chat = new ChatTranslator(facts);
    Buffer out = Buffer.buffer();
    int[] count = {0};
    new SseParser().feed(Buffer.buffer(TOOL_STREAM), e -> {
      facts.observe(e);
      count[0] += chat.translate(e, out);
    });

    List<String> names = new ArrayList<>();
    List<JsonObject> data = new ArrayList<>();
    int id = 1;
    for (String block : out.toString().split("\n\n")) {
      String[] lines = block.split("\n");
      assertEquals("id: " + id++, lines[0]);
      names.add(lines[1].substring("event: ".length()));
      data.add(new JsonObject(lines[2].substring("data: ".length())));
    }
    assertEquals(List.of("usage", "text", "tool_use", "usage", "done"), names);
    assertEquals(names.size(), count[0]);
    assertEquals("I'll check the current weather in Paris for you.", data.get(1).getString("text"));
    JsonObject tool = data.get(2);
    assertEquals("toolu_01NRLabsLyVHZPKxbKvkfSMn", tool.getString("id"));
    assertEquals("get_weather", tool.getString("name"));
    assertEquals(new JsonObject().put("location", "Paris"), tool.getJsonObject("input"));
    assertEquals(377, data.get(0).getInteger("input_tokens"));
    assertEquals("tool_use", data.get(4).getString("stop_reason"));
    assertEquals(65, data.get(4).getJsonObject("usage").getInteger("output_tokens"));
    assertEquals(377, data.get(4).getJsonObject("usage").getInteger("input_tokens"), "counters are overwritten, kept");
  }
}
