package dev.claudeproxy.simulator;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;

/**
 * The simulator's built-in model list: what {@code /v1/models} returns and what {@code model} is checked against.
 * Newest first, as the real endpoint orders them.
 */
public final class ModelCatalog {

  /** One model as {@code /v1/models} describes it. */
  public record ModelInfo(String id, String displayName, String createdAt, int maxInputTokens, int maxTokens) {
    public JsonObject toJson() {
      return new JsonObject()
          .put("type", "model")
          .put("id", id)
          .put("display_name", displayName)
          .put("created_at", createdAt)
          .put("max_input_tokens", maxInputTokens)
          .put("max_tokens", maxTokens);
    }
  }

  public static final List<ModelInfo> MODELS = List.of(
      new ModelInfo("claude-opus-4-6", "Claude Opus 4.6", "2026-02-05T00:00:00Z", 200_000, 128_000),
      new ModelInfo("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-17T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-opus-4-5", "Claude Opus 4.5", "2025-11-24T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z", 200_000, 32_000),
      new ModelInfo("claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-24T00:00:00Z", 200_000, 64_000),
      new ModelInfo("claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z", 200_000, 8_192),
      new ModelInfo("claude-3-haiku-20240307", "Claude Haiku 3", "2024-03-07T00:00:00Z", 200_000, 4_096));

  /** Aliases the real API accepts besides the ids it lists. */
  private static final List<String[]> ALIASES = List.of(
      new String[] {"claude-sonnet-4-0", "claude-sonnet-4-20250514"},
      new String[] {"claude-3-7-sonnet-latest", "claude-3-7-sonnet-20250219"},
      new String[] {"claude-3-5-haiku-latest", "claude-3-5-haiku-20241022"},
      new String[] {"claude-haiku-4-5-20251001", "claude-haiku-4-5"},
      new String[] {"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
      new String[] {"claude-opus-4-5-20251101", "claude-opus-4-5"},
      new String[] {"claude-opus-4-1-20250805", "claude-opus-4-1"});

  private ModelCatalog() {
  }

  /** The model for an id or alias, or null. */
  public static ModelInfo find(String id) {
    if (id == null) {
      return null;
    }
    for (ModelInfo m : MODELS) {
      if (m.id.equals(id)) {
        return m;
      }
    }
    for (String[] alias : ALIASES) {
      if (alias[0].equals(id)) {
        return find(alias[1]);
      }
    }
    return null;
  }

  /**
   * One page of the list, with the cursor semantics of the real endpoint: {@code afterId} starts just after that
   * id, {@code beforeId} ends just before it (the page nearest to it). Unknown cursor ids give an empty page.
   */
  public static JsonObject page(int limit, String afterId, String beforeId) {
    int from = 0;
    int to = MODELS.size();
    if (afterId != null) {
      int i = indexOf(afterId);
      from = i < 0 ? MODELS.size() : i + 1;
    }
    if (beforeId != null) {
      int i = indexOf(beforeId);
      to = i < 0 ? 0 : i;
      if (afterId == null) {
        from = Math.max(0, to - limit);
      }
    }
    from = Math.min(from, to);
    int end = Math.min(to, from + limit);
    JsonArray data = new JsonArray();
    for (int i = from; i < end; i++) {
      data.add(MODELS.get(i).toJson());
    }
    boolean hasMore = beforeId != null && afterId == null ? from > 0 : end < to;
    return new JsonObject()
        .put("data", data)
        .put("has_more", hasMore)
        .put("first_id", data.isEmpty() ? null : MODELS.get(from).id)
        .put("last_id", data.isEmpty() ? null : MODELS.get(end - 1).id);
  }

  private static int indexOf(String id) {
    for (int i = 0; i < MODELS.size(); i++) {
      if (MODELS.get(i).id.equals(id)) {
        return i;
      }
    }
    return -1;
  }
}
