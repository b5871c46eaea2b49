package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.config.ConfigException;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * The simulator's model list: what {@code /v1/models} returns and what {@code model} is checked against. It is data:
 * the built-in list is the resource {@value #RESOURCE}, and {@code SIM_MODELS} names a file of the same shape that
 * replaces it. Newest first, as the real endpoint orders them.
 *
 * <p>The file: {@code {"unknown_model": {"max_input_tokens": N, "max_tokens": N}, "models": [{"id", "display_name",
 * "created_at" (RFC 3339), "max_input_tokens", "max_tokens", "aliases"?: [...], "context_1m_beta"?: bool}]}}. With
 * {@code context_1m_beta} the context window is one million tokens when the request's {@code anthropic-beta} names
 * {@value #CONTEXT_1M_BETA}.
 */
public final class ModelCatalog {
  public static final String RESOURCE = "dev/claudeproxy/internal/simulator/models.json";
  public static final String CONTEXT_1M_BETA = "context-1m-2025-08-07";
  static final int CONTEXT_1M = 1_000_000;
  private static final Logger LOG = Logger.getLogger(ModelCatalog.class.getName());

  /** One model as {@code /v1/models} describes it. */
  public record ModelInfo(String id, String displayName, String createdAt, int maxInputTokens, int maxTokens,
      boolean context1mBeta) {
    public JsonObject toJson() {
      return new JsonObject()
          .put("type", "model")
          .put("id", id)
          .put("display_name", displayName)
          .put("created_at", createdAt)
          .put("max_input_tokens", maxInputTokens)
          .put("max_tokens", maxTokens);
    }

    /** The context window for a request carrying these betas. */
    public int contextWindow(Set<String> betas) {
      return context1mBeta && betas.contains(CONTEXT_1M_BETA) ? Math.max(maxInputTokens, CONTEXT_1M) : maxInputTokens;
    }
  }

  private final List<ModelInfo> models;
  private final Map<String, ModelInfo> byName;
  private final int unknownMaxInputTokens;
  private final int unknownMaxTokens;
  /** Unknown ids already warned about: one line per id, not one per request of a load test. */
  private final Set<String> warned = ConcurrentHashMap.newKeySet();

  private ModelCatalog(List<ModelInfo> models, Map<String, ModelInfo> byName, int unknownMaxInputTokens,
      int unknownMaxTokens) {
    this.models = List.copyOf(models);
    this.byName = Map.copyOf(byName);
    this.unknownMaxInputTokens = unknownMaxInputTokens;
    this.unknownMaxTokens = unknownMaxTokens;
  }

  /** The list that ships with the simulator. */
  public static ModelCatalog builtIn() {
    try (InputStream in = ModelCatalog.class.getClassLoader().getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is missing from the class path");
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), RESOURCE);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + RESOURCE, e);
    }
  }

  /** A list from a file ({@code SIM_MODELS}); a file that cannot be read or is malformed stops the start-up. */
  public static ModelCatalog fromFile(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ConfigException("SIM_MODELS: cannot read " + file + ": " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  static ModelCatalog parse(String text, String source) {
    JsonObject root;
    try {
      root = new JsonObject(text);
    } catch (DecodeException | ClassCastException e) {
      throw new ConfigException(source + ": not a JSON object");
    }
    JsonObject unknown = root.getValue("unknown_model") instanceof JsonObject u ? u : new JsonObject();
    int unknownInput = positive(unknown, "max_input_tokens", 200_000, source + ": unknown_model");
    int unknownOutput = positive(unknown, "max_tokens", 128_000, source + ": unknown_model");
    if (!(root.getValue("models") instanceof JsonArray list) || list.isEmpty()) {
      throw new ConfigException(source + ": \"models\" must be a non-empty list");
    }
    List<ModelInfo> models = new ArrayList<>();
    Map<String, ModelInfo> byName = new HashMap<>();
    for (int i = 0; i < list.size(); i++) {
      String at = source + ": models[" + i + "]";
      if (!(list.getValue(i) instanceof JsonObject m)) {
        throw new ConfigException(at + " must be an object");
      }
      String id = text(m, "id", at);
      String createdAt = text(m, "created_at", at);
      try {
        Instant.parse(createdAt);
      } catch (DateTimeParseException e) {
        throw new ConfigException(at + ".created_at must be an RFC 3339 time such as 2026-05-28T00:00:00Z");
      }
      ModelInfo info = new ModelInfo(id, text(m, "display_name", at), createdAt,
          positive(m, "max_input_tokens", null, at), positive(m, "max_tokens", null, at),
          Boolean.TRUE.equals(m.getValue("context_1m_beta")));
      models.add(info);
      name(byName, id, info, at);
      if (m.getValue("aliases") instanceof JsonArray aliases) {
        for (int j = 0; j < aliases.size(); j++) {
          if (!(aliases.getValue(j) instanceof String alias) || alias.isBlank()) {
            throw new ConfigException(at + ".aliases must be strings");
          }
          name(byName, alias, info, at);
        }
      } else if (m.containsKey("aliases")) {
        throw new ConfigException(at + ".aliases must be a list of strings");
      }
    }
    return new ModelCatalog(models, byName, unknownInput, unknownOutput);
  }

  private static void name(Map<String, ModelInfo> byName, String name, ModelInfo info, String at) {
    if (byName.putIfAbsent(name, info) != null) {
      throw new ConfigException(at + ": \"" + name + "\" is named twice");
    }
  }

  private static String text(JsonObject m, String key, String at) {
    if (!(m.getValue(key) instanceof String s) || s.isBlank()) {
      throw new ConfigException(at + "." + key + " must be a non-empty string");
    }
    return s;
  }

  private static int positive(JsonObject m, String key, Integer fallback, String at) {
    Object v = m.getValue(key);
    if (v == null && fallback != null) {
      return fallback;
    }
    Long n = RequestValidator.wholeNumber(v);
    if (n == null || n < 1 || n > Integer.MAX_VALUE) {
      throw new ConfigException(at + "." + key + " must be a positive integer");
    }
    return n.intValue();
  }

  public List<ModelInfo> models() {
    return models;
  }

  /** The listed model for an id or alias, or null. */
  public ModelInfo find(String id) {
    return id == null ? null : byName.get(id);
  }

  /**
   * The model a request may use: a listed one, else (unless {@code strict}) any other {@code claude-*} id, with the
   * unknown-model limits and a warning the first time that id is seen. Null means 404, as the real API answers.
   */
  public ModelInfo resolve(String id, boolean strict) {
    ModelInfo known = find(id);
    if (known != null || strict || id == null || !id.startsWith("claude-")) {
      return known;
    }
    if (warned.add(id)) {
      LOG.warning("simulator: unknown model \"" + id + "\" accepted with a " + unknownMaxInputTokens
          + "-token context window and " + unknownMaxTokens + " output tokens at most (SIM_STRICT_MODELS=true "
          + "answers 404 instead; SIM_MODELS adds models)");
    }
    return new ModelInfo(id, id, "1970-01-01T00:00:00Z", unknownMaxInputTokens, unknownMaxTokens, false);
  }

  /**
   * One page of the list, with the cursor semantics of the real endpoint: {@code afterId} starts just after that
   * id, {@code beforeId} ends just before it (the page nearest to it). Unknown cursor ids give an empty page.
   */
  public JsonObject page(int limit, String afterId, String beforeId) {
    int from = 0;
    int to = models.size();
    if (afterId != null) {
      int i = indexOf(afterId);
      from = i < 0 ? models.size() : i + 1;
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
      data.add(models.get(i).toJson());
    }
    boolean hasMore = beforeId != null && afterId == null ? from > 0 : end < to;
    return new JsonObject()
        .put("data", data)
        .put("has_more", hasMore)
        .put("first_id", data.isEmpty() ? null : models.get(from).id)
        .put("last_id", data.isEmpty() ? null : models.get(end - 1).id);
  }

  private int indexOf(String id) {
    for (int i = 0; i < models.size(); i++) {
      if (models.get(i).id.equals(id)) {
        return i;
      }
    }
    return -1;
  }
}
