package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.ThinkingBlock;
import com.anthropic.models.messages.ToolUseBlock;
import com.anthropic.models.models.ModelInfo;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The official Java SDK against the simulator: it must not be able to tell it from the real API. Runs once with
 * SDK 3.12 (2026-10-21, bearer auth) and once with SDK 2.57 (2023-06-01, x-api-key).
 */
@Tag("sdk")
class SdkStreamingTest {
  private static final int LENGTH = 40;
  private static Vertx vertx;
  private static Simulator sim;
  private static AnthropicClient client;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withApiKey(SdkSupport.KEY).withOutputTokens(LENGTH));
    client = SdkSupport.client(sim, 0);
  }

  @AfterAll
  static void tearDown() {
    client.close();
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  /** A streamed message, with the text deltas seen on the way. */
  record Streamed(Message message, String deltaText, int events) {
  }

  static Streamed stream(MessageCreateParams params) {
    MessageAccumulator acc = MessageAccumulator.create();
    StringBuilder text = new StringBuilder();
    int[] events = {0};
    try (StreamResponse<RawMessageStreamEvent> s = client.messages().createStreaming(params)) {
      s.stream().peek(acc::accumulate).peek(e -> events[0]++)
          .flatMap(e -> e.contentBlockDelta().stream())
          .flatMap(d -> d.delta().text().stream())
          .forEach(t -> text.append(t.text()));
    }
    return new Streamed(acc.message(), text.toString(), events[0]);
  }

  static String text(Message m) {
    StringBuilder b = new StringBuilder();
    for (ContentBlock c : m.content()) {
      c.text().ifPresent(t -> b.append(t.text()));
    }
    return b.toString();
  }

  private static MessageCreateParams.Builder params(String prompt, long maxTokens) {
    return MessageCreateParams.builder().model("claude-sonnet-4-5").maxTokens(maxTokens).addUserMessage(prompt);
  }

  @Test
  void textStreamAccumulatesToThePlannedText() {
    MessageCreateParams p = params("Hello from SDK " + SdkSupport.sdkLine(), 1024).build();
    ReplyPlan plan = ReplyPlan.of(SdkSupport.body(p), LENGTH);
    Streamed s = stream(p);
    assertEquals(s.deltaText(), text(s.message()));
    assertEquals(plan.text(), text(s.message()));
    assertFalse(plan.text().isBlank());
    assertEquals(StopReason.END_TURN, s.message().stopReason().orElseThrow());
    assertEquals(LENGTH, s.message().usage().outputTokens());
    assertEquals(plan.inputTokens(), s.message().usage().inputTokens());
    assertTrue(s.message().id().startsWith("msg_"));
    // message_start, block start, 40 deltas, block stop, message_delta, message_stop (ping is skipped by the SDK).
    assertEquals(LENGTH + 5, s.events());
  }

  @Test
  void maxTokensStopsEarlyWithThePrefix() {
    MessageCreateParams full = params("prefix please", 1024).build();
    Streamed s = stream(params("prefix please", 7).build());
    assertEquals(StopReason.MAX_TOKENS, s.message().stopReason().orElseThrow());
    assertEquals(7, s.message().usage().outputTokens());
    assertTrue(ReplyPlan.of(SdkSupport.body(full), LENGTH).text().startsWith(text(s.message())));
    assertEquals(ReplyPlan.of(SdkSupport.body(params("prefix please", 7).build()), LENGTH).text(),
        text(s.message()));
  }

  @Test
  void stopSequenceCutsTheTextBeforeIt() {
    Message first = client.messages().create(params("pick a word", 1024).build());
    String[] words = text(first).trim().split("\\s+");
    String word = words[words.length / 2].replaceAll("[^A-Za-z]", "");
    MessageCreateParams p = params("pick a word", 1024).addStopSequence(word).build();
    Streamed s = stream(p);
    assertEquals(StopReason.STOP_SEQUENCE, s.message().stopReason().orElseThrow());
    assertEquals(word, s.message().stopSequence().orElseThrow());
    assertEquals(text(first).substring(0, text(first).indexOf(word)), text(s.message()));
    assertEquals(ReplyPlan.of(SdkSupport.body(p), LENGTH).text(), text(s.message()));
  }

  @Test
  void toolUseInputParsesAndMatchesTheSchema() {
    MessageCreateParams p = params("What's the weather in Paris?", 1024).addTool(SdkSupport.weatherTool()).build();
    ReplyPlan plan = ReplyPlan.of(SdkSupport.body(p), LENGTH);
    Streamed s = stream(p);
    assertEquals(StopReason.TOOL_USE, s.message().stopReason().orElseThrow());
    List<ContentBlock> content = s.message().content();
    assertEquals(2, content.size());
    assertEquals(plan.text(), content.get(0).asText().text());
    ToolUseBlock tool = content.get(1).asToolUse();
    assertEquals("get_weather", tool.name());
    assertEquals(plan.toolUse().id(), tool.id());
    JsonObject input = new JsonObject(SdkSupport.json(tool._input()));
    assertEquals(plan.toolUse().input(), input);
    SchemaCheck.assertValid(SseFramingTest.weatherTool().getJsonObject("input_schema"), input);
    assertEquals(plan.outputTokens(), s.message().usage().outputTokens());
  }

  @Test
  void thinkingBlockCarriesItsSignature() {
    MessageCreateParams p = params("Think first", 4096).enabledThinking(1024).build();
    ReplyPlan plan = ReplyPlan.of(SdkSupport.body(p), LENGTH);
    Streamed s = stream(p);
    List<ContentBlock> content = s.message().content();
    assertEquals(2, content.size());
    ThinkingBlock thinking = content.get(0).asThinking();
    assertEquals(plan.thinking(), thinking.thinking());
    assertFalse(thinking.signature().isEmpty());
    assertEquals(plan.blocks().get(0).signature(), thinking.signature());
    assertEquals(plan.text(), text(s.message()));
    assertEquals(StopReason.END_TURN, s.message().stopReason().orElseThrow());
    assertEquals(LENGTH / 2 + LENGTH, s.message().usage().outputTokens());
  }

  @Test
  void nonStreamingCreateMatchesTheStream() {
    MessageCreateParams p = params("whole message", 1024).build();
    Message whole = client.messages().create(p);
    assertEquals(text(stream(p).message()), text(whole));
    assertEquals(StopReason.END_TURN, whole.stopReason().orElseThrow());
    assertEquals(LENGTH, whole.usage().outputTokens());
  }

  @Test
  void countTokensAndModels() {
    long tokens = client.messages().countTokens(MessageCountTokensParams.builder().model("claude-sonnet-4-5")
        .addUserMessage("count me").build()).inputTokens();
    assertTrue(tokens >= 1);
    List<ModelInfo> models = client.models().list().data();
    assertEquals(sim.config().models().models().get(0).id(), models.get(0).id());
    assertEquals("Claude Sonnet 4.6", client.models().retrieve("claude-sonnet-4-6").displayName());
  }
}
