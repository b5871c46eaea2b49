package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a Messages (or count_tokens) body the way the real API does, returning the error it would send. Every
 * caller mistake maps to a 4xx here, so no malformed input can reach the reply code and turn into a 500.
 *
 * <p>Liberal where the real API is: new content block types, typed server tools and the fields of current request
 * shapes pass as sent; only unknown top-level fields are refused, as the real API does. Consecutive turns with the
 * same role are merged by the real API, so they are not an error; {@code role: "system"} messages are accepted
 * under the {@value #MID_CONVERSATION_SYSTEM} beta or {@code anthropic-version} {@value #VERSION_2026}.
 */
public final class RequestValidator {
  public static final String VERSION_2023 = "2023-06-01";
  public static final String VERSION_2026 = "2026-10-21";
  public static final String MID_CONVERSATION_SYSTEM = "mid-conversation-system-2026-04-07";
  public static final String INTERLEAVED_THINKING = "interleaved-thinking-2025-05-14";

  private static final Pattern TOOL_NAME = Pattern.compile("^[a-zA-Z0-9_-]{1,128}$");
  private static final int MAX_MESSAGES = 100_000;

  private RequestValidator() {
  }

  /** The error for a missing or unsupported {@code anthropic-version}, or null. */
  public static ApiError checkVersion(String version) {
    if (version == null || version.isBlank()) {
      return ApiError.invalidRequest("anthropic-version: header is required");
    }
    if (!version.equals(VERSION_2023) && !version.equals(VERSION_2026)) {
      return ApiError.invalidRequest("anthropic-version: \"" + version + "\" is not a valid version");
    }
    return null;
  }

  /**
   * The betas a request asks for: every {@code anthropic-beta} header line, each a comma-separated list, trimmed.
   */
  public static Set<String> betas(List<String> headerValues) {
    Set<String> out = new HashSet<>();
    for (String line : headerValues) {
      for (String beta : line.split(",")) {
        if (!beta.isBlank()) {
          out.add(beta.trim());
        }
      }
    }
    return out;
  }

  /** A {@code POST /v1/messages} body; null when valid. */
  public static ApiError checkMessages(JsonObject body, String version, Set<String> betas, SimulatorConfig config) {
    return check(body, version, betas, config, true);
  }

  /** A {@code POST /v1/messages/count_tokens} body; null when valid. */
  public static ApiError checkCountTokens(JsonObject body, String version, Set<String> betas,
      SimulatorConfig config) {
    return check(body, version, betas, config, false);
  }

  /**
   * Top-level fields of a Messages request (the official TypeScript SDK 1.17's request types, beta ones included,
   * the sampling fields of 2023-06-01, and Claude Code 2.1's {@code context_hint}); like the real API, anything else
   * is refused.
   */
  private static final Set<String> MESSAGES_FIELDS = Set.of("model", "max_tokens", "messages", "system", "stream",
      "temperature", "top_p", "top_k", "stop_sequences", "tools", "tool_choice", "thinking", "metadata",
      "service_tier", "container", "output_config", "output_format", "cache_control", "inference_geo", "mcp_servers",
      "context_management", "compaction", "diagnostics", "speed", "billing_policy", "fallbacks",
      "fallback_credit_token", "thread", "context_hint");
  private static final Set<String> COUNT_TOKENS_FIELDS = Set.of("model", "messages", "system", "tools",
      "tool_choice", "thinking", "output_config", "output_format", "cache_control", "mcp_servers",
      "context_management", "compaction", "speed", "billing_policy");

  private static ApiError check(JsonObject body, String version, Set<String> betas, SimulatorConfig config,
      boolean messagesEndpoint) {
    Set<String> known = messagesEndpoint ? MESSAGES_FIELDS : COUNT_TOKENS_FIELDS;
    for (String field : body.fieldNames()) {
      if (!known.contains(field)) {
        return bad(field + ": Extra inputs are not permitted");
      }
    }
    Object model = body.getValue("model");
    if (model == null) {
      return bad("model: Field required");
    }
    if (!(model instanceof String modelId) || modelId.isBlank()) {
      return bad("model: Input should be a valid string");
    }
    ModelCatalog.ModelInfo info = config.models().resolve(modelId, config.strictModels());
    Long maxTokens = null;
    if (messagesEndpoint) {
      Object mt = body.getValue("max_tokens");
      if (mt == null) {
        return bad("max_tokens: Field required");
      }
      maxTokens = wholeNumber(mt);
      if (maxTokens == null) {
        return bad("max_tokens: Input should be a valid integer");
      }
      if (maxTokens < 0) {
        return bad("max_tokens: Input should be greater than or equal to 0");
      }
    }
    boolean systemMessages = betas.contains(MID_CONVERSATION_SYSTEM) || VERSION_2026.equals(version);
    ApiError e = checkMessagesArray(body.getValue("messages"), systemMessages);
    if (e == null) {
      e = checkSystem(body.getValue("system"));
    }
    if (e == null && messagesEndpoint) {
      e = checkSampling(body, version);
    }
    if (e == null && messagesEndpoint) {
      e = checkStops(body);
    }
    if (e == null && messagesEndpoint && body.containsKey("stream") && !(body.getValue("stream") instanceof Boolean)) {
      e = bad("stream: Input should be a valid boolean");
    }
    if (e == null && body.containsKey("metadata") && !(body.getValue("metadata") instanceof JsonObject)) {
      e = bad("metadata: Input should be a valid dictionary");
    }
    Set<String> toolNames = new HashSet<>();
    if (e == null) {
      e = checkTools(body.getValue("tools"), toolNames);
    }
    if (e == null) {
      e = checkToolChoice(body, toolNames);
    }
    if (e == null) {
      // With interleaved thinking the budget spans the whole turn, so it may exceed max_tokens.
      e = checkThinking(body.getValue("thinking"), betas.contains(INTERLEAVED_THINKING) ? null : maxTokens);
    }
    if (e != null) {
      return e;
    }
    // The model is looked up last so that a malformed body is reported as such whatever the model.
    if (info == null) {
      return ApiError.notFound("model: " + modelId);
    }
    if (maxTokens != null && maxTokens > info.maxTokens()) {
      return bad("max_tokens: " + maxTokens + " > " + info.maxTokens()
          + ", which is the maximum allowed number of output tokens for " + modelId);
    }
    if (messagesEndpoint) {
      // The same estimate that usage reports, so a prompt is refused exactly when its input_tokens would not fit.
      int inputTokens = ReplyPlan.estimateInputTokens(body);
      int window = info.contextWindow(betas);
      if (inputTokens > window) {
        return bad("prompt is too long: " + inputTokens + " tokens > " + window + " maximum");
      }
    }
    return null;
  }

  private static ApiError checkMessagesArray(Object value, boolean systemMessages) {
    if (value == null) {
      return bad("messages: Field required");
    }
    if (!(value instanceof JsonArray messages)) {
      return bad("messages: Input should be a valid list");
    }
    if (messages.isEmpty()) {
      return bad("messages: at least one message is required");
    }
    if (messages.size() > MAX_MESSAGES) {
      return bad("messages: too many messages (at most " + MAX_MESSAGES + ")");
    }
    boolean turns = false;
    for (int i = 0; i < messages.size(); i++) {
      String where = "messages." + i;
      if (!(messages.getValue(i) instanceof JsonObject m)) {
        return bad(where + ": Input should be a valid dictionary");
      }
      Object role = m.getValue("role");
      if (role == null) {
        return bad(where + ".role: Field required");
      }
      if ("system".equals(role) && systemMessages) {
        ApiError e = checkSystemMessage(m, where);
        if (e != null) {
          return e;
        }
        continue;
      }
      if (!"user".equals(role) && !"assistant".equals(role)) {
        return bad(where + ".role: Input should be 'user' or 'assistant'"
            + ("system".equals(role) ? " (system messages need the anthropic-beta " + MID_CONVERSATION_SYSTEM + ")"
                : ""));
      }
      if (!turns && !"user".equals(role)) {
        return bad("messages: first message must use the \"user\" role");
      }
      turns = true;
      boolean finalAssistant = i == messages.size() - 1 && "assistant".equals(role);
      ApiError e = checkContent(m.getValue("content"), where, finalAssistant);
      if (e != null) {
        return e;
      }
    }
    if (!turns) {
      return bad("messages: at least one \"user\" message is required");
    }
    return null;
  }

  /** A {@code role: "system"} message: text (or tool list changes), per-turn output_config, or both. */
  private static ApiError checkSystemMessage(JsonObject m, String where) {
    Object content = m.getValue("content");
    Object outputConfig = m.getValue("output_config");
    if (outputConfig != null && !(outputConfig instanceof JsonObject)) {
      return bad(where + ".output_config: Input should be a valid dictionary");
    }
    Object clearAt = m.getValue("clear_at");
    if (clearAt != null && !"never".equals(clearAt) && !"next_user_message".equals(clearAt)) {
      return bad(where + ".clear_at: Input should be 'never' or 'next_user_message'");
    }
    if (content == null) {
      return outputConfig == null ? bad(where + ": a system message needs content or output_config") : null;
    }
    if (content instanceof String text) {
      return text.isEmpty() && outputConfig == null ? bad(where + ".content: system messages must be non-empty")
          : null;
    }
    if (!(content instanceof JsonArray blocks)) {
      return bad(where + ".content: Input should be a valid string or a list of text blocks");
    }
    for (int j = 0; j < blocks.size(); j++) {
      String at = where + ".content." + j;
      if (!(blocks.getValue(j) instanceof JsonObject b) || !(b.getValue("type") instanceof String type)) {
        return bad(at + ": Input should be a content block with a type");
      }
      if (type.equals("text") && (!(b.getValue("text") instanceof String t) || t.isEmpty())) {
        return bad(at + ".text: text content blocks must be non-empty");
      }
    }
    return null;
  }

  private static ApiError checkContent(Object content, String where, boolean mayBeEmpty) {
    if (content == null) {
      return bad(where + ".content: Field required");
    }
    if (content instanceof String s) {
      if (s.isEmpty() && !mayBeEmpty) {
        return bad(where + ": all messages must have non-empty content except for the optional final assistant "
            + "message");
      }
      return null;
    }
    if (!(content instanceof JsonArray blocks)) {
      return bad(where + ".content: Input should be a valid string or a list of content blocks");
    }
    if (blocks.isEmpty() && !mayBeEmpty) {
      return bad(where + ": all messages must have non-empty content except for the optional final assistant "
          + "message");
    }
    for (int j = 0; j < blocks.size(); j++) {
      String at = where + ".content." + j;
      if (!(blocks.getValue(j) instanceof JsonObject b)) {
        return bad(at + ": Input should be a valid dictionary");
      }
      if (!(b.getValue("type") instanceof String type)) {
        return bad(at + ".type: Field required");
      }
      switch (type) {
        case "text" -> {
          if (!(b.getValue("text") instanceof String text)) {
            return bad(at + ".text: Input should be a valid string");
          }
          if (text.isEmpty()) {
            return bad(at + ": text content blocks must be non-empty");
          }
        }
        case "tool_use" -> {
          if (!(b.getValue("id") instanceof String) || !(b.getValue("name") instanceof String)) {
            return bad(at + ": tool_use blocks need a string id and name");
          }
          if (!(b.getValue("input") instanceof JsonObject)) {
            return bad(at + ".input: Input should be a valid dictionary");
          }
        }
        case "tool_result" -> {
          if (!(b.getValue("tool_use_id") instanceof String)) {
            return bad(at + ".tool_use_id: Field required");
          }
        }
        case "image", "document" -> {
          if (!(b.getValue("source") instanceof JsonObject)) {
            return bad(at + ".source: Field required");
          }
        }
        default -> {
          // Other block types (thinking, redacted_thinking, search_result, server tool blocks...) pass as sent.
        }
      }
    }
    return null;
  }

  private static ApiError checkSystem(Object system) {
    if (system == null || system instanceof String) {
      return null;
    }
    if (!(system instanceof JsonArray blocks)) {
      return bad("system: Input should be a valid string or a list of text blocks");
    }
    for (int i = 0; i < blocks.size(); i++) {
      if (!(blocks.getValue(i) instanceof JsonObject b) || !"text".equals(b.getValue("type"))
          || !(b.getValue("text") instanceof String)) {
        return bad("system." + i + ": Input should be a text block {\"type\":\"text\",\"text\":...}");
      }
    }
    return null;
  }

  private static ApiError checkSampling(JsonObject body, String version) {
    for (String key : new String[] {"temperature", "top_p", "top_k"}) {
      if (!body.containsKey(key)) {
        continue;
      }
      if (VERSION_2026.equals(version)) {
        return bad(key + ": is not supported with anthropic-version " + VERSION_2026);
      }
      Object v = body.getValue(key);
      if (v == null) {
        continue;
      }
      if (key.equals("top_k")) {
        Long k = wholeNumber(v);
        if (k == null || k < 0) {
          return bad("top_k: Input should be a non-negative integer");
        }
      } else if (!(v instanceof Number n) || n.doubleValue() < 0 || n.doubleValue() > 1) {
        return bad(key + ": Input should be a number between 0 and 1");
      }
    }
    return null;
  }

  private static ApiError checkStops(JsonObject body) {
    Object v = body.getValue("stop_sequences");
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonArray a)) {
      return bad("stop_sequences: Input should be a valid list");
    }
    for (int i = 0; i < a.size(); i++) {
      if (!(a.getValue(i) instanceof String s)) {
        return bad("stop_sequences." + i + ": Input should be a valid string");
      }
      if (s.isEmpty()) {
        return bad("stop_sequences." + i + ": stop sequences must be non-empty");
      }
    }
    return null;
  }

  private static ApiError checkTools(Object value, Set<String> names) {
    if (value == null) {
      return null;
    }
    if (!(value instanceof JsonArray tools)) {
      return bad("tools: Input should be a valid list");
    }
    for (int i = 0; i < tools.size(); i++) {
      String at = "tools." + i;
      if (!(tools.getValue(i) instanceof JsonObject t)) {
        return bad(at + ": Input should be a valid dictionary");
      }
      Object type = t.getValue("type");
      if (type != null && !(type instanceof String)) {
        return bad(at + ".type: Input should be a valid string");
      }
      boolean custom = type == null || "custom".equals(type);
      Object n = t.getValue("name");
      if (n == null && !custom) {
        // Typed toolsets (mcp_toolset, browser_toolset_..., computer_toolset_...) carry no name.
        continue;
      }
      if (!(n instanceof String name)) {
        return bad(at + ".name: Field required");
      }
      if (custom) {
        if (!TOOL_NAME.matcher(name).matches()) {
          return bad(at + ".name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'");
        }
        if (!(t.getValue("input_schema") instanceof JsonObject schema)) {
          return bad(at + ".input_schema: Field required");
        }
        if (schema.getValue("type") != null && !"object".equals(schema.getValue("type"))) {
          return bad(at + ".input_schema.type: Input should be 'object'");
        }
      }
      if (!names.add(name)) {
        return bad("tools: Tool names must be unique.");
      }
    }
    return null;
  }

  private static ApiError checkToolChoice(JsonObject body, Set<String> toolNames) {
    Object v = body.getValue("tool_choice");
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonObject choice) || !(choice.getValue("type") instanceof String type)) {
      return bad("tool_choice: Input should be an object with a type");
    }
    switch (type) {
      case "auto", "none" -> {
        return null;
      }
      case "any" -> {
        return toolNames.isEmpty() ? bad("tool_choice: may only be specified while providing tools") : null;
      }
      case "tool" -> {
        if (!(choice.getValue("name") instanceof String name)) {
          return bad("tool_choice.name: Field required");
        }
        if (!toolNames.contains(name)) {
          return bad("tool_choice: Tool '" + name + "' not found in provided tools");
        }
        return null;
      }
      default -> {
        return bad("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
      }
    }
  }

  private static ApiError checkThinking(Object v, Long maxTokens) {
    if (v == null) {
      return null;
    }
    if (!(v instanceof JsonObject thinking) || !(thinking.getValue("type") instanceof String type)) {
      return bad("thinking: Input should be an object with a type");
    }
    switch (type) {
      case "disabled", "adaptive", "between_tools" -> {
        return null;
      }
      case "enabled" -> {
        Object b = thinking.getValue("budget_tokens");
        if (b == null) {
          return bad("thinking.enabled.budget_tokens: Field required");
        }
        Long budget = wholeNumber(b);
        if (budget == null) {
          return bad("thinking.enabled.budget_tokens: Input should be a valid integer");
        }
        if (budget < 1024) {
          return bad("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024");
        }
        if (maxTokens != null && budget >= maxTokens) {
          return bad("max_tokens must be greater than thinking.budget_tokens");
        }
        return null;
      }
      default -> {
        return bad("thinking.type: Input should be 'enabled', 'adaptive', 'between_tools' or 'disabled'");
      }
    }
  }

  /** The value as a long when it is a whole JSON number, else null. */
  static Long wholeNumber(Object v) {
    if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
      return ((Number) v).longValue();
    }
    if (v instanceof Number n) {
      double d = n.doubleValue();
      if (d == Math.rint(d) && !Double.isInfinite(d) && Math.abs(d) < 9.0e15) {
        return (long) d;
      }
    }
    return null;
  }

  private static ApiError bad(String message) {
    return ApiError.invalidRequest(message);
  }
}
