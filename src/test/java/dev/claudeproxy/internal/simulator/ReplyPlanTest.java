package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reply plan on its own: determinism, budgets, stop sequences, tools and thinking, without a network. */
class ReplyPlanTest {

  private static JsonObject req(int maxTokens, String text) {
    return SimTestSupport.request("claude-sonnet-4-5", maxTokens, text);
  }

  @Test
  void sameRequestSameTextAndDifferentMessagesDifferentText() {
    ReplyPlan a = ReplyPlan.of(req(1000, "hello there"), 50);
    ReplyPlan b = ReplyPlan.of(req(1000, "hello there"), 50);
    ReplyPlan c = ReplyPlan.of(req(1000, "hello there!"), 50);
    ReplyPlan d = ReplyPlan.of(req(1000, "hello there").put("system", "be brief"), 50);
    ReplyPlan e = ReplyPlan.of(req(1000, "hello there").put("model", "claude-opus-4-6"), 50);
    assertEquals(a.text(), b.text());
    assertNotEquals(a.text(), c.text());
    assertNotEquals(a.text(), d.text());
    assertNotEquals(a.text(), e.text());
    assertFalse(a.text().isBlank());
    assertEquals(a.seed(), ReplyPlan.of(req(3, "hello there").put("stream", true)
        .put("stop_sequences", new JsonArray().add("zzz")), 50).seed(), "budget, stops and stream do not seed");
  }

  @Test
  void maxTokensCutsTheSameTextShort() {
    ReplyPlan full = ReplyPlan.of(req(1000, "prefix test"), 60);
    ReplyPlan cut = ReplyPlan.of(req(25, "prefix test"), 60);
    assertEquals("end_turn", full.stopReason());
    assertEquals(60, full.outputTokens());
    assertEquals("max_tokens", cut.stopReason());
    assertEquals(25, cut.outputTokens());
    assertTrue(full.text().startsWith(cut.text()));
    assertTrue(cut.text().length() < full.text().length());
    assertEquals("end_turn", ReplyPlan.of(req(60, "prefix test"), 60).stopReason(), "exactly enough is a turn end");
  }

  @Test
  void stopSequenceCutsBeforeTheSequence() {
    ReplyPlan full = ReplyPlan.of(req(1000, "stop test"), 60);
    String[] words = full.text().trim().split("\\s+");
    String word = words[words.length / 2].replaceAll("[^A-Za-z]", "");
    int at = full.text().indexOf(word);
    ReplyPlan stopped = ReplyPlan.of(req(1000, "stop test")
        .put("stop_sequences", new JsonArray().add("never-appears-xyz").add(word)), 60);
    assertEquals("stop_sequence", stopped.stopReason());
    assertEquals(word, stopped.stopSequence());
    assertEquals(full.text().substring(0, at), stopped.text());
    assertTrue(stopped.outputTokens() <= 60);
    // A stop sequence inside a token (part of a word) cuts mid-token.
    String inner = word.length() > 2 ? word.substring(1) : word;
    ReplyPlan mid = ReplyPlan.of(req(1000, "stop test").put("stop_sequences", new JsonArray().add(inner)), 60);
    assertEquals(full.text().substring(0, full.text().indexOf(inner)), mid.text());
  }

  @Test
  void noStopWhenTheSequenceLiesBeyondTheBudget() {
    ReplyPlan full = ReplyPlan.of(req(1000, "late stop"), 60);
    ReplyPlan shortPlan = ReplyPlan.of(req(5, "late stop"), 60);
    String beyond = null;
    for (String w : full.text().substring(shortPlan.text().length()).trim().split("\\s+")) {
      String word = w.replaceAll("[^A-Za-z]", "");
      if (!word.isEmpty() && !shortPlan.text().contains(word)) {
        beyond = word;
        break;
      }
    }
    assertNotNull(beyond, "some word of the full reply is missing from its first five tokens");
    assertTrue(full.text().contains(beyond));
    ReplyPlan p = ReplyPlan.of(req(5, "late stop").put("stop_sequences", new JsonArray().add(beyond)), 60);
    assertEquals("max_tokens", p.stopReason());
    assertNull(p.stopSequence());
    assertEquals(shortPlan.text(), p.text());
  }

  @Test
  void toolUseFollowsTheSchemaAndToolChoice() {
    JsonObject weather = SseFramingTest.weatherTool();
    JsonObject other = new JsonObject().put("name", "lookup").put("input_schema", new JsonObject()
        .put("type", "object").put("properties", new JsonObject().put("q", new JsonObject().put("type", "string")))
        .put("required", new JsonArray().add("q")));
    JsonObject r = req(1000, "use a tool").put("tools", new JsonArray().add(weather).add(other))
        .put("tool_choice", new JsonObject().put("type", "tool").put("name", "lookup"));
    ReplyPlan p = ReplyPlan.of(r, 60);
    assertEquals("tool_use", p.stopReason());
    assertEquals(1, p.blocks().size(), "a forced tool comes without preamble");
    ReplyPlan.Block tool = p.toolUse();
    assertEquals("lookup", tool.name());
    assertTrue(tool.id().startsWith("toolu_"));
    SchemaCheck.assertValid(other.getJsonObject("input_schema"), tool.input());

    for (int i = 0; i < 20; i++) {
      ReplyPlan auto = ReplyPlan.of(req(1000, "auto " + i).put("tools", new JsonArray().add(weather)), 60);
      assertEquals(List.of("text", "tool_use"), auto.blocks().stream().map(ReplyPlan.Block::type).toList());
      SchemaCheck.assertValid(weather.getJsonObject("input_schema"), auto.toolUse().input());
      assertEquals(auto.outputTokens(), auto.deltaCount());
    }
  }

  @Test
  void noToolUseWhenNoneOrAfterAToolResult() {
    JsonArray tools = new JsonArray().add(SseFramingTest.weatherTool());
    ReplyPlan none = ReplyPlan.of(req(1000, "no tools").put("tools", tools)
        .put("tool_choice", new JsonObject().put("type", "none")), 20);
    assertNull(none.toolUse());
    assertEquals("end_turn", none.stopReason());
    JsonObject afterResult = new JsonObject().put("model", "claude-sonnet-4-5").put("max_tokens", 500)
        .put("tools", tools)
        .put("messages", new JsonArray()
            .add(new JsonObject().put("role", "user").put("content", "weather?"))
            .add(new JsonObject().put("role", "assistant").put("content", new JsonArray().add(new JsonObject()
                .put("type", "tool_use").put("id", "toolu_1").put("name", "get_weather")
                .put("input", new JsonObject()))))
            .add(new JsonObject().put("role", "user").put("content", new JsonArray().add(new JsonObject()
                .put("type", "tool_result").put("tool_use_id", "toolu_1").put("content", "sunny")))));
    ReplyPlan p = ReplyPlan.of(afterResult, 20);
    assertNull(p.toolUse());
    assertEquals("end_turn", p.stopReason());
    assertEquals(20, p.outputTokens());
  }

  @Test
  void toolInputThatDoesNotFitStopsAtMaxTokens() {
    JsonObject r = req(9, "tight").put("tools", new JsonArray().add(SseFramingTest.weatherTool()));
    ReplyPlan p = ReplyPlan.of(r, 60);
    assertEquals("max_tokens", p.stopReason());
    assertNull(p.toolUse());
    assertTrue(p.outputTokens() <= 9);
  }

  @Test
  void thinkingComesFirstWithASignatureAndUsesTheBudget() {
    JsonObject r = req(2000, "think").put("thinking", new JsonObject().put("type", "enabled")
        .put("budget_tokens", 1024));
    ReplyPlan p = ReplyPlan.of(r, 30);
    assertEquals("thinking", p.blocks().get(0).type());
    assertNotNull(p.blocks().get(0).signature());
    assertFalse(p.thinking().isEmpty());
    assertEquals(15 + 30, p.outputTokens());
    ReplyPlan adaptive = ReplyPlan.of(req(2000, "think").put("thinking", new JsonObject().put("type", "adaptive")),
        30);
    assertEquals(p.thinking(), adaptive.thinking());
    ReplyPlan tight = ReplyPlan.of(req(10, "think").put("thinking", new JsonObject().put("type", "adaptive")), 30);
    assertEquals(List.of("thinking"), tight.blocks().stream().map(ReplyPlan.Block::type).toList());
    assertEquals("max_tokens", tight.stopReason());
    assertEquals(10, tight.outputTokens());
  }

  @Test
  void zeroBudgetAndZeroLength() {
    ReplyPlan zero = ReplyPlan.of(req(0, "nothing"), 60);
    assertTrue(zero.blocks().isEmpty());
    assertEquals("max_tokens", zero.stopReason());
    assertEquals(0, zero.outputTokens());
    ReplyPlan empty = ReplyPlan.of(req(100, "nothing"), 0);
    assertEquals(1, empty.blocks().size());
    assertEquals("", empty.text());
    assertEquals("end_turn", empty.stopReason());
  }

  @Test
  void cursorWritesExactlyThePlannedEvents() {
    JsonObject r = req(3000, "cursor").put("thinking", new JsonObject().put("type", "enabled")
        .put("budget_tokens", 1024)).put("tools", new JsonArray().add(SseFramingTest.weatherTool()));
    ReplyPlan p = ReplyPlan.of(r, 40);
    Buffer out = Buffer.buffer();
    p.appendMessageStart(out, "msg_test");
    ReplyPlan.Cursor c = p.cursor();
    int steps = 0;
    while (c.step(out)) {
      steps++;
    }
    p.appendEnd(out);
    assertEquals(p.deltaCount(), steps, "one step per token");
    SseTranscript t = SseTranscript.check(out.toString(), true);
    assertEquals(p.text(), t.text());
    assertEquals(p.thinking(), t.blocks.get(0).text.toString());
    assertEquals(p.toolUse().input(), new JsonObject(t.blocks.get(2).json.toString()));
    assertEquals(p.toMessage("msg_x").getJsonArray("content").size(), t.blocks.size());
  }

  @Test
  void inputTokensGrowWithTheRequest() {
    int small = ReplyPlan.estimateInputTokens(req(10, "hi"));
    int large = ReplyPlan.estimateInputTokens(req(10, "hi ".repeat(1000)));
    assertTrue(small >= 1);
    assertTrue(large > small + 500);
  }
}
