package dev.claudeproxy.internal.users;

import java.util.List;

/**
 * What a tier allows, or what a user's override changes; a null field means "not set here".
 *
 * @param models the models that may be used (null: any)
 * @param maxTokens the largest {@code max_tokens}; larger requests are capped to it
 * @param requestsPerMinute requests started per rolling minute
 * @param tokensPerMinute input plus output tokens per rolling minute
 * @param concurrentStreams requests in flight at once
 * @param dailyTokens input plus output tokens per UTC day
 * @param system a system prompt placed before the caller's
 */
public record Limits(
    List<String> models,
    Integer maxTokens,
    Integer requestsPerMinute,
    Long tokensPerMinute,
    Integer concurrentStreams,
    Long dailyTokens,
    String system) {

  public static final Limits NONE = new Limits(null, null, null, null, null, null, null);

  public Limits {
    models = models == null ? null : List.copyOf(models);
  }

  /** These limits with every field that {@code override} sets replaced by its value. */
  public Limits overriddenBy(Limits override) {
    if (override == null) {
      return this;
    }
    return new Limits(
        override.models != null ? override.models : models,
        override.maxTokens != null ? override.maxTokens : maxTokens,
        override.requestsPerMinute != null ? override.requestsPerMinute : requestsPerMinute,
        override.tokensPerMinute != null ? override.tokensPerMinute : tokensPerMinute,
        override.concurrentStreams != null ? override.concurrentStreams : concurrentStreams,
        override.dailyTokens != null ? override.dailyTokens : dailyTokens,
        override.system != null ? override.system : system);
  }

  public boolean allowsModel(String model) {
    return models == null || models.contains(model);
  }
}
