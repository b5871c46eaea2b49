package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests shaped as today's clients send them (Claude Code 2.1, the Vercel AI SDK, the TypeScript SDK's request
 * types) are taken, and answered with exactly the planned reply.
 */
public class RealClientShapesTest {
  public static final String CLAUDE_CODE_BETAS = "claude-code-20250219,interleaved-thinking-2025-05-14,"
      + "context-management-2025-06-27,context-hint-2026-04-09,mid-conversation-system-2026-04-07";
  private static final int LENGTH = 12;
  private static Vertx vertx;
  private static Simulator sim;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withOutputTokens(LENGTH));
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  /**
   * What Claude Code 2.1 sends with its default model: a system message inside {@code messages}, cache_control on
   * blocks, thinking blocks with signatures, a tool_result with nested content, custom and server tools,
   * context_management, adaptive thinking and output_config.
   */
  public static JsonObject claudeCodeRequest() {
    JsonObject bash = new JsonObject().put("name", "Bash").put("description", "Run a command")
        .put("input_schema", new JsonObject().put("type", "object")
            .put("properties", new JsonObject().put("command", new JsonObject().put("type", "string")))
            .put("required", new JsonArray().add("command")).put("additionalProperties", false)
            .put("$schema", "http://json-schema.org/draft-07/schema#"));
    JsonArray messages = new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "<system-reminder>context</system-reminder>"))
            .add(new JsonObject().put("type", "text").put("text", "List the files")
                .put("cache_control", new JsonObject().put("type", "ephemeral")))))
        .add(new JsonObject().put("role", "assistant").put("content", new JsonArray()
            .add(new JsonObject().put("type", "thinking").put("thinking", "I should run ls.")
                .put("signature", "EqQBCkYIBRgCKkBsig=="))
            .add(new JsonObject().put("type", "redacted_thinking").put("data", "EmwKAhgBEgy3va3pzix"))
            .add(new JsonObject().put("type", "tool_use").put("id", "toolu_01A").put("name", "Bash")
                .put("input", new JsonObject().put("command", "ls")))))
        .add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "tool_result").put("tool_use_id", "toolu_01A")
                .put("content", new JsonArray().add(new JsonObject().put("type", "text").put("text", "a.txt"))))))
        .add(new JsonObject().put("role", "assistant").put("content", "There is one file, a.txt."))
        .add(new JsonObject().put("role", "system").put("content", "The user's working directory changed."))
        .add(new JsonObject().put("role", "user").put("content", "Now count its lines"));
    return new JsonObject()
        .put("model", "claude-opus-4-8")
        .put("max_tokens", 64000)
        .put("stream", true)
        .put("system", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "You are Claude Code.")
                .put("cache_control", new JsonObject().put("type", "ephemeral").put("ttl", "1h"))))
        .put("messages", messages)
        .put("tools", new JsonArray().add(bash)
            .add(new JsonObject().put("type", "web_search_20250305").put("name", "web_search").put("max_uses", 5)))
        .put("thinking", new JsonObject().put("type", "adaptive"))
        .put("output_config", new JsonObject().put("effort", "high"))
        .put("context_management", new JsonObject().put("edits", new JsonArray()
            .add(new JsonObject().put("type", "clear_thinking_20251015").put("keep", "all"))))
        .put("context_hint", new JsonObject().put("enabled", true))
        .put("metadata", new JsonObject().put("user_id", "user_abc_account__session_1"));
  }

  @Test
  void claudeCodeShapedRequestStreamsThePlannedReply() {
    JsonObject req = claudeCodeRequest();
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", req.encode(), "anthropic-beta",
        CLAUDE_CODE_BETAS);
    assertEquals(200, r.statusCode(), r.body());
    SseTranscript t = SseTranscript.check(r.body(), true);
    ReplyPlan plan = ReplyPlan.of(req, LENGTH);
    assertEquals(List.of("thinking", "text", "tool_use"), t.blocks.stream().map(b -> b.type).toList());
    assertEquals(plan.thinking(), t.blocks.get(0).text.toString());
    assertEquals(plan.text(), t.text());
    assertEquals("Bash", t.blocks.get(2).start.getString("name"), "the custom tool is called, not the server tool");
    assertEquals(plan.toolUse().input(), new JsonObject(t.blocks.get(2).json.toString()));
    assertEquals("tool_use", t.stopReason());
    assertEquals(plan.outputTokens(), t.outputTokens());
    assertEquals(plan.inputTokens(), t.messageStart.getJsonObject("usage").getInteger("input_tokens"));
  }

  @Test
  void systemMessagesNeedTheBetaUnlessTheNewVersion() {
    String body = claudeCodeRequest().encode();
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body), 400, "invalid_request_error",
        "messages.4.role");
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body, "anthropic-beta",
        "interleaved-thinking-2025-05-14"), 400, "invalid_request_error", "mid-conversation-system-2026-04-07");
    // The beta among others, in one comma-separated line or on a line of its own.
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "anthropic-beta",
        "interleaved-thinking-2025-05-14 , mid-conversation-system-2026-04-07").statusCode());
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "anthropic-beta",
        "interleaved-thinking-2025-05-14", "anthropic-beta", "mid-conversation-system-2026-04-07").statusCode());
    // 2026-10-21 has them without a beta.
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "anthropic-version", "2026-10-21")
        .statusCode());
  }

  @Test
  void systemMessagesAreChecked() {
    for (String[] bad : new String[][] {
        {"{\"role\":\"system\"}", "content or output_config"},
        {"{\"role\":\"system\",\"content\":\"\"}", "non-empty"},
        {"{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"\"}]}", "non-empty"},
        {"{\"role\":\"system\",\"content\":\"x\",\"clear_at\":\"tomorrow\"}", "clear_at"},
        {"{\"role\":\"system\",\"content\":7}", "content"}}) {
      String body = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":"
          + "\"hi\"}," + bad[0] + "]}";
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body, "anthropic-beta",
          RequestValidator.MID_CONVERSATION_SYSTEM), 400, "invalid_request_error", bad[1]);
    }
    String onlyEffort = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"},{\"role\":\"system\",\"output_config\":{\"effort\":\"low\"},"
        + "\"clear_at\":\"next_user_message\"}]}";
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", onlyEffort, "anthropic-beta",
        RequestValidator.MID_CONVERSATION_SYSTEM).statusCode());
    String onlySystem = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":10,\"messages\":[{\"role\":\"system\","
        + "\"content\":\"x\"}]}";
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", onlySystem, "anthropic-beta",
        RequestValidator.MID_CONVERSATION_SYSTEM), 400, "invalid_request_error", "user");
  }

  @Test
  void interleavedThinkingLetsTheBudgetExceedMaxTokens() {
    String body = "{\"model\":\"claude-opus-4-8\",\"max_tokens\":2000,\"thinking\":{\"type\":\"enabled\","
        + "\"budget_tokens\":4000},\"messages\":[{\"role\":\"user\",\"content\":\"think\"}]}";
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body), 400, "invalid_request_error",
        "budget_tokens");
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", body, "anthropic-beta",
        RequestValidator.INTERLEAVED_THINKING);
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void consecutiveTurnsOfOneRoleAreMergedNotRefused() {
    // The real API combines them into one turn (TypeScript SDK 1.17's documentation of `messages`).
    String body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},{\"role\":\"assistant\",\"content\":\"c\"},"
        + "{\"role\":\"assistant\",\"content\":\"d\"}]}";
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", body);
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void aiSdkDefaultMaxTokensForSonnet46Streams() {
    // @ai-sdk/anthropic sends the model's whole output limit as max_tokens when the caller sets none.
    JsonObject req = new JsonObject()
        .put("model", "claude-sonnet-4-6")
        .put("max_tokens", 128000)
        .put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "Write a haiku about streams")))));
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", req.encode());
    assertEquals(200, r.statusCode(), r.body());
    SseTranscript t = SseTranscript.check(r.body(), true);
    ReplyPlan plan = ReplyPlan.of(req, LENGTH);
    assertEquals(plan.text(), t.text());
    assertEquals("end_turn", t.stopReason());
    assertEquals(LENGTH, t.outputTokens());
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", req.put("max_tokens", 128001).encode()),
        400, "invalid_request_error",
        "max_tokens: 128001 > 128000, which is the maximum allowed number of output tokens for claude-sonnet-4-6");
  }

  @Test
  void newContentBlocksServerToolsAndTopLevelFieldsAreAccepted() {
    JsonObject doc = new JsonObject().put("type", "document").put("source", new JsonObject().put("type", "text")
        .put("media_type", "text/plain").put("data", "Plain text")).put("title", "t")
        .put("citations", new JsonObject().put("enabled", true));
    JsonObject search = new JsonObject().put("type", "search_result").put("source", "https://example.com")
        .put("title", "Example").put("content", new JsonArray()
            .add(new JsonObject().put("type", "text").put("text", "result text")));
    JsonArray assistant = new JsonArray()
        .add(new JsonObject().put("type", "server_tool_use").put("id", "srvtoolu_01").put("name", "web_search")
            .put("input", new JsonObject().put("query", "q")))
        .add(new JsonObject().put("type", "web_search_tool_result").put("tool_use_id", "srvtoolu_01")
            .put("content", new JsonArray().add(new JsonObject().put("type", "web_search_result")
                .put("url", "https://example.com").put("title", "E").put("encrypted_content", "abc"))))
        .add(new JsonObject().put("type", "web_fetch_tool_result").put("tool_use_id", "srvtoolu_02")
            .put("content", new JsonObject().put("type", "web_fetch_tool_result_error")
                .put("error_code", "url_not_allowed")))
        .add(new JsonObject().put("type", "code_execution_tool_result").put("tool_use_id", "srvtoolu_03")
            .put("content", new JsonObject().put("type", "code_execution_result").put("stdout", "1")
                .put("stderr", "").put("return_code", 0).put("content", new JsonArray())))
        .add(new JsonObject().put("type", "mcp_tool_use").put("id", "mcptoolu_01").put("name", "echo")
            .put("server_name", "srv").put("input", new JsonObject()))
        .add(new JsonObject().put("type", "mcp_tool_result").put("tool_use_id", "mcptoolu_01")
            .put("is_error", false).put("content", "echoed"))
        .add(new JsonObject().put("type", "text").put("text", "Done."));
    JsonArray messages = new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", new JsonArray().add(doc).add(search)
            .add(new JsonObject().put("type", "container_upload").put("file_id", "file_01"))
            .add(new JsonObject().put("type", "text").put("text", "Search, fetch and run"))))
        .add(new JsonObject().put("role", "assistant").put("content", assistant))
        .add(new JsonObject().put("role", "user").put("content", "Thanks, and again"));
    JsonArray tools = new JsonArray()
        .add(new JsonObject().put("type", "web_search_20250305").put("name", "web_search"))
        .add(new JsonObject().put("type", "web_fetch_20250910").put("name", "web_fetch").put("max_uses", 2))
        .add(new JsonObject().put("type", "code_execution_20250825").put("name", "code_execution"))
        .add(new JsonObject().put("type", "bash_20250124").put("name", "bash"))
        .add(new JsonObject().put("type", "text_editor_20250728").put("name", "str_replace_based_edit_tool"))
        .add(new JsonObject().put("type", "memory_20250818").put("name", "memory"))
        .add(new JsonObject().put("type", "mcp_toolset").put("mcp_server_name", "srv"));
    JsonObject req = new JsonObject()
        .put("model", "claude-sonnet-5")
        .put("max_tokens", 2000)
        .put("messages", messages)
        .put("tools", tools)
        .put("tool_choice", new JsonObject().put("type", "auto").put("disable_parallel_tool_use", true))
        .put("container", "container_01")
        .put("mcp_servers", new JsonArray().add(new JsonObject().put("type", "url").put("url", "https://mcp.example")
            .put("name", "srv")))
        .put("service_tier", "auto")
        .put("speed", "standard")
        .put("output_config", new JsonObject().put("effort", "medium"))
        .put("thinking", new JsonObject().put("type", "between_tools"))
        .put("context_management", new JsonObject().put("edits", new JsonArray()
            .add(new JsonObject().put("type", "clear_tool_uses_20250919"))));
    HttpResponse<String> r = SimTestSupport.post(sim, "/v1/messages", req.encode(), "anthropic-beta",
        "mcp-client-2025-11-20,code-execution-2025-08-25,context-management-2025-06-27");
    assertEquals(200, r.statusCode(), r.body());
    JsonObject message = new JsonObject(r.body());
    // Only server tools: the simulator runs none of them, so it answers in text.
    ReplyPlan plan = ReplyPlan.of(req, LENGTH);
    assertNull(plan.toolUse());
    assertEquals("end_turn", message.getString("stop_reason"));
    assertEquals(plan.text(), message.getJsonArray("content").getJsonObject(0).getString("text"));
    assertEquals(plan.inputTokens(), message.getJsonObject("usage").getInteger("input_tokens"));
  }

  @Test
  void unknownClaudeModelsAreAcceptedUnlessStrict() {
    String body = "{\"model\":\"claude-opus-9-9\",\"max_tokens\":128000,\"messages\":[{\"role\":\"user\","
        + "\"content\":\"hi\"}]}";
    HttpResponse<String> ok = SimTestSupport.post(sim, "/v1/messages", body);
    assertEquals(200, ok.statusCode(), ok.body());
    assertEquals("claude-opus-9-9", new JsonObject(ok.body()).getString("model"));
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body.replace("128000", "128001")), 400,
        "invalid_request_error", "128000");
    InvalidRequestTest.assertError(SimTestSupport.get(sim, "/v1/models/claude-opus-9-9", "anthropic-version",
        "2023-06-01"), 404, "not_found_error", "claude-opus-9-9");
    Simulator strict = SimTestSupport.start(vertx, SimTestSupport.fast().withStrictModels(true));
    try {
      InvalidRequestTest.assertError(SimTestSupport.post(strict, "/v1/messages", body), 404, "not_found_error",
          "claude-opus-9-9");
      assertEquals(200, SimTestSupport.post(strict, "/v1/messages", body.replace("claude-opus-9-9",
          "claude-opus-4-8")).statusCode());
    } finally {
      SimTestSupport.await(strict.close());
    }
  }

  @Test
  void theWarningForAnUnknownModelIsLoggedOncePerId() {
    List<String> warnings = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Logger log = java.util.logging.Logger.getLogger(ModelCatalog.class.getName());
    java.util.logging.Handler h = new java.util.logging.Handler() {
      @Override
      public void publish(java.util.logging.LogRecord r) {
        warnings.add(r.getMessage());
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    log.addHandler(h);
    try {
      for (String model : new String[] {"claude-warn-once-1", "claude-warn-once-1", "claude-warn-once-2"}) {
        assertEquals(200, SimTestSupport.post(sim, "/v1/messages", "{\"model\":\"" + model
            + "\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode());
      }
    } finally {
      log.removeHandler(h);
    }
    assertEquals(1, warnings.stream().filter(w -> w.contains("\"claude-warn-once-1\"")).count(), warnings.toString());
    assertEquals(1, warnings.stream().filter(w -> w.contains("\"claude-warn-once-2\"")).count(), warnings.toString());
    assertFalse(warnings.isEmpty());
    assertTrue(warnings.get(0).contains("SIM_STRICT_MODELS"), warnings.get(0));
  }
}
