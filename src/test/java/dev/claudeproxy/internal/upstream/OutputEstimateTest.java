package dev.claudeproxy.internal.upstream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The output estimate of streams that end without their count: read from the delta events' bytes. */
class OutputEstimateTest {

  private static byte[] event(String deltaType, String key, String value) {
    JsonObject data = new JsonObject().put("type", "content_block_delta").put("index", 0)
        .put("delta", new JsonObject().put("type", deltaType).put(key, value));
    return ("event: content_block_delta\ndata: " + data.encode() + "\n\n").getBytes(StandardCharsets.UTF_8);
  }

  private static long estimate(byte[]... events) {
    OutputEstimate estimate = new OutputEstimate();
    for (byte[] e : events) {
      estimate.delta(e, 0, e.length);
    }
    return estimate.tokens();
  }

  @Test
  void simulatedProseIsWithinTenPercentOfTheSimulatorsCount() {
    for (int tokens : new int[] {60, 500, 3000}) {
      for (int seed = 0; seed < 5; seed++) {
        JsonObject request = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 64000)
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "s" + seed)));
        String text = ReplyPlan.of(request, tokens).text();
        long estimated = estimate(event("text_delta", "text", text));
        assertTrue(Math.abs(estimated - tokens) <= tokens / 10, estimated + " for " + tokens + ": " + text);
      }
    }
  }

  @Test
  void readsTextThinkingAndToolInputButNotSignatures() {
    assertEquals(3, estimate(event("text_delta", "text", "Hello, world")));
    assertEquals(2, estimate(event("thinking_delta", "thinking", " Let me")));
    assertEquals(0, estimate(event("signature_delta", "signature", "EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl")));
    // Part of {"city": "Paris"}: {" city ": " Paris, as a tokenizer of code cuts it.
    assertEquals(5, estimate(event("input_json_delta", "partial_json", "{\"city\": \"Paris")));
    assertEquals(2, estimate(event("text_delta", "text", " 2026")));
  }

  @Test
  void escapesCountAsTheCharactersTheyStandFor() {
    assertEquals(2, estimate(event("text_delta", "text", "\n\nNext")), "a paragraph break is one token");
    assertEquals(3, estimate(event("text_delta", "text", "say \"hi")), "an escaped quote is punctuation");
    assertEquals(3, estimate(event("text_delta", "text", "日本語")), "one a character beyond ASCII");
  }

  @Test
  void findsTheValueWhateverTheFieldOrder() {
    byte[] reordered = ("event: content_block_delta\ndata: {\"delta\":{\"text\":\"one two three\",\"type\":"
        + "\"text_delta\"},\"index\":0,\"type\":\"content_block_delta\"}\n\n").getBytes(StandardCharsets.UTF_8);
    assertEquals(3, estimate(reordered));
  }

  @Test
  void theParserHandsOverEveryDeltaWhereverTheChunksAreCut() {
    StringBuilder stream = new StringBuilder("event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
    for (int i = 0; i < 20; i++) {
      stream.append(new String(event("text_delta", "text", " word"), StandardCharsets.UTF_8));
    }
    byte[] bytes = stream.toString().getBytes(StandardCharsets.UTF_8);
    for (int size = 1; size < 40; size += 7) {
      SseParser parser = new SseParser();
      OutputEstimate estimate = new OutputEstimate();
      parser.countContent(estimate);
      for (int at = 0; at < bytes.length; at += size) {
        Buffer chunk = Buffer.buffer().appendBytes(bytes, at, Math.min(size, bytes.length - at));
        parser.forward(chunk, SseParser.names("message_start"), e -> true);
      }
      assertEquals(20, estimate.tokens(), "chunks of " + size);
      assertEquals(20, estimate.deltas());
    }
  }
}
