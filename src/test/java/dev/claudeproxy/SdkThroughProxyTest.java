package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.AnthropicServiceException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.Tool;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The official Anthropic Java SDK, pointed at the proxy, must get exactly what it gets from the upstream directly.
 * Runs twice in the build: with the 3.x SDK (2026-10-21, Bearer) and the 2.x SDK (2023-06-01, x-api-key).
 */
@Tag("sdk")
class SdkThroughProxyTest {
  private static final String MODEL = "claude-sonnet-4-6";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void streamsTheSameMessageAsTheUpstreamGivesDirectly() {
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(200)
        .system("Be brief.").addUserMessage("Tell me about event loops.").build();
    Streamed direct = stream(stack.direct(0), params);
    Streamed proxied = stream(stack.viaProxy(0), params);
    assertFalse(direct.text.isEmpty());
    assertEquals(direct.text, proxied.text);
    assertEquals(proxied.text, textOf(proxied.message), "accumulated text equals the concatenated deltas");
    assertEquals(summary(direct.message), summary(proxied.message));
    assertEquals(direct.message.usage().outputTokens(), proxied.message.usage().outputTokens());
    assertEquals(direct.message.usage().inputTokens(), proxied.message.usage().inputTokens());
    assertEquals(direct.message.stopReason(), proxied.message.stopReason());
  }

  @Test
  void streamsToolUseWithItsInput() {
    Tool weather = Tool.builder().name("get_weather").description("Weather for a city")
        .inputSchema(Tool.InputSchema.builder()
            .properties(JsonValue.from(Map.of(
                "city", Map.of("type", "string"),
                "unit", Map.of("type", "string", "enum", List.of("celsius", "fahrenheit")))))
            .required(List.of("city", "unit"))
            .build())
        .build();
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(400)
        .addUserMessage("What is the weather in Paris?").addTool(weather).build();
    Message direct = stream(stack.direct(0), params).message;
    Message proxied = stream(stack.viaProxy(0), params).message;
    assertEquals(summary(direct), summary(proxied));
    ContentBlock toolBlock = proxied.content().stream().filter(ContentBlock::isToolUse).findFirst().orElseThrow();
    assertEquals("get_weather", toolBlock.asToolUse().name());
    assertTrue(toolBlock.asToolUse()._input().toString().contains("city"));
    assertEquals("tool_use", proxied.stopReason().orElseThrow().asString());
  }

  @Test
  void streamsThinkingWithItsSignature() {
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(3000)
        .enabledThinking(1024).addUserMessage("Think about primes.").build();
    Message direct = stream(stack.direct(0), params).message;
    Message proxied = stream(stack.viaProxy(0), params).message;
    assertEquals(summary(direct), summary(proxied));
    ContentBlock thinking = proxied.content().get(0);
    assertTrue(thinking.isThinking());
    assertFalse(thinking.asThinking().signature().isEmpty());
  }

  @Test
  void passesNonStreamingRepliesThrough() {
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(100)
        .addUserMessage("Hello there").build();
    Message direct = stack.direct(0).messages().create(params);
    Message proxied = stack.viaProxy(0).messages().create(params);
    assertEquals(summary(direct), summary(proxied));
    assertEquals(direct.usage().outputTokens(), proxied.usage().outputTokens());
  }

  @Test
  void passesCountTokensAndModelsThrough() {
    MessageCountTokensParams count = MessageCountTokensParams.builder().model(MODEL)
        .addUserMessage("How many tokens is this?").build();
    assertEquals(stack.direct(0).messages().countTokens(count).inputTokens(),
        stack.viaProxy(0).messages().countTokens(count).inputTokens());
    List<String> direct = new ArrayList<>();
    stack.direct(0).models().list().autoPager().forEach(m -> direct.add(m.id()));
    List<String> proxied = new ArrayList<>();
    stack.viaProxy(0).models().list().autoPager().forEach(m -> proxied.add(m.id()));
    assertFalse(direct.isEmpty());
    assertEquals(direct, proxied);
  }

  @Test
  void upstreamErrorsBeforeTheStreamReachTheSdkAsTheSameExceptions() {
    for (String scenario : List.of("overloaded", "rate_limited", "server_error")) {
      MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(50)
          .addUserMessage("Hi").putAdditionalHeader("x-sim-scenario", scenario).build();
      AnthropicServiceException direct = assertThrows(AnthropicServiceException.class,
          () -> stream(stack.direct(0), params));
      AnthropicServiceException proxied = assertThrows(AnthropicServiceException.class,
          () -> stream(stack.viaProxy(0), params));
      assertEquals(direct.getClass(), proxied.getClass(), scenario);
      assertEquals(direct.statusCode(), proxied.statusCode(), scenario);
      assertTrue(proxied.headers().names().stream().anyMatch("request-id"::equalsIgnoreCase), scenario);
    }
  }

  @Test
  void midStreamErrorsReachTheSdkAsTheSameException() {
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(200)
        .addUserMessage("Hi").putAdditionalHeader("x-sim-scenario", "midstream_error").build();
    RuntimeException direct = assertThrows(RuntimeException.class, () -> stream(stack.direct(0), params));
    RuntimeException proxied = assertThrows(RuntimeException.class, () -> stream(stack.viaProxy(0), params));
    assertEquals(direct.getClass(), proxied.getClass());
    assertEquals(direct.getMessage(), proxied.getMessage());
  }

  @Test
  void retriesThroughTheProxyLikeAgainstTheUpstream() {
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(60)
        .addUserMessage("Retry me, via the proxy").putAdditionalHeader("x-sim-scenario", "fail_then_succeed:2").build();
    Streamed proxied = stream(stack.viaProxy(2), params);
    assertFalse(proxied.text.isEmpty());
  }

  @Test
  void rejectsAnUnknownCallerKey() {
    AnthropicClient stranger = TestStack.sdk(stack.proxyUrl(), "sk-csp-not-a-real-key", 0);
    MessageCreateParams params = MessageCreateParams.builder().model(MODEL).maxTokens(10).addUserMessage("Hi").build();
    assertThrows(UnauthorizedException.class, () -> stream(stranger, params));
    // And the caller's key means nothing upstream: only the server's key opens it.
    AnthropicClient callerKeyDirect = TestStack.sdk(stack.simulatorUrl(), stack.callerKey, 0);
    assertThrows(UnauthorizedException.class, () -> stream(callerKeyDirect, params));
  }

  private record Streamed(String text, Message message) {}

  private static Streamed stream(AnthropicClient client, MessageCreateParams params) {
    MessageAccumulator acc = MessageAccumulator.create();
    StringBuilder text = new StringBuilder();
    try (StreamResponse<RawMessageStreamEvent> events = client.messages().createStreaming(params)) {
      events.stream().peek(acc::accumulate)
          .flatMap(e -> e.contentBlockDelta().stream())
          .flatMap(d -> d.delta().text().stream())
          .forEach(t -> text.append(t.text()));
    }
    Message message = acc.message();
    assertNotNull(message);
    return new Streamed(text.toString(), message);
  }

  private static String textOf(Message message) {
    StringBuilder text = new StringBuilder();
    message.content().forEach(b -> b.text().ifPresent(t -> text.append(t.text())));
    return text.toString();
  }

  /** The content that must match: block types and payloads, and the stop reason. Ids may differ per call. */
  private static List<String> summary(Message message) {
    List<String> out = new ArrayList<>();
    for (ContentBlock block : message.content()) {
      if (block.isText()) {
        out.add("text:" + block.asText().text());
      } else if (block.isToolUse()) {
        out.add("tool_use:" + block.asToolUse().name() + ":" + block.asToolUse()._input());
      } else if (block.isThinking()) {
        out.add("thinking:" + block.asThinking().thinking() + ":signed=" + !block.asThinking().signature().isEmpty());
      } else {
        out.add("other:" + block);
      }
    }
    out.add("stop:" + message.stopReason().map(Object::toString).orElse("none"));
    out.add("stop_sequence:" + message.stopSequence().orElse(""));
    return out;
  }
}
