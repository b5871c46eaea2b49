package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.json.JsonObject;
import java.util.Set;

/**
 * The browser chat request, {@code {messages, system?, model?, max_tokens?, thinking?}}, and the Messages API
 * request it becomes.
 */
final class ChatRequest {
  private static final Set<String> FIELDS = Set.of("messages", "system", "model", "max_tokens", "thinking");

  private ChatRequest() {}

  static JsonObject toMessagesRequest(JsonObject chat, ProxyConfig config) throws RequestChecks.Invalid {
    for (String field : chat.fieldNames()) {
      if (!FIELDS.contains(field)) {
        throw RequestChecks.invalid(field + ": unknown field; /v1/chat takes messages, system, model, max_tokens,"
            + " thinking");
      }
    }
    RequestChecks.messages(chat, "messages", Set.of("user", "assistant"));
    RequestChecks.systemPrompt(chat);
    RequestChecks.optional(chat, "thinking", JsonObject.class, "an object such as {\"type\":\"enabled\","
        + "\"budget_tokens\":1024}");
    String model = chat.containsKey("model") ? RequestChecks.requiredString(chat, "model") : config.chatModel();
    long maxTokens = chat.containsKey("max_tokens") ? RequestChecks.count(chat, "max_tokens", 1)
        : config.chatMaxTokens();
    JsonObject request = new JsonObject()
        .put("model", model)
        .put("max_tokens", maxTokens)
        .put("messages", chat.getJsonArray("messages"))
        .put("stream", true);
    if (chat.getValue("system") != null) {
      request.put("system", chat.getValue("system"));
    }
    if (chat.getValue("thinking") != null) {
      request.put("thinking", chat.getValue("thinking"));
    }
    return request;
  }
}
