package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.RealClientShapesTest;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shapes today's clients send pass the proxy's own checks and reach the simulator: Claude Code's request (system
 * message in {@code messages}, its betas, server tools, context_management) and the AI SDK's default max_tokens.
 */
class RealClientShapesThroughProxyTest {
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
  void claudeCodeShapedRequestStreamsThroughTheProxy() {
    JsonObject req = RealClientShapesTest.claudeCodeRequest();
    HttpResponse<String> r = stack.post("/v1/messages", req.encode(),
        stack.jsonHeaders(Map.of("anthropic-beta", RealClientShapesTest.CLAUDE_CODE_BETAS)));
    assertEquals(200, r.statusCode(), r.body());
    ReplyPlan plan = ReplyPlan.of(req, stack.simulator.config());
    assertTrue(r.body().contains("\"name\":\"Bash\""), "the custom tool is called");
    assertTrue(r.body().contains("\"output_tokens\":" + plan.outputTokens() + "}"), r.body());
    assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));

    JsonObject count = req.copy();
    count.remove("max_tokens");
    count.remove("stream");
    count.remove("metadata");
    count.remove("context_hint");
    HttpResponse<String> counted = stack.post("/v1/messages/count_tokens", count.encode(),
        stack.jsonHeaders(Map.of("anthropic-beta", RealClientShapesTest.CLAUDE_CODE_BETAS)));
    assertEquals(200, counted.statusCode(), counted.body());
    assertEquals(plan.inputTokens(), new JsonObject(counted.body()).getInteger("input_tokens"));
  }

  @Test
  void aSystemMessageWithOnlyAnOutputConfigPassesTheProxy() {
    String body = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"},{\"role\":\"system\",\"output_config\":{\"effort\":\"low\"}}]}";
    HttpResponse<String> r = stack.post("/v1/messages", body,
        stack.jsonHeaders(Map.of("anthropic-beta", "mid-conversation-system-2026-04-07")));
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void aiSdkDefaultMaxTokensStreamsThroughTheProxy() {
    JsonObject req = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 128000).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "Hello from the AI SDK")))));
    HttpResponse<String> r = stack.post("/v1/messages", req.encode(), stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode(), r.body());
    ReplyPlan plan = ReplyPlan.of(req, stack.simulator.config());
    assertTrue(r.body().contains("\"stop_reason\":\"end_turn\""), r.body());
    assertTrue(r.body().contains("\"output_tokens\":" + plan.outputTokens() + "}"), r.body());
  }
}
