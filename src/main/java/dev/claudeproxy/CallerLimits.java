package dev.claudeproxy;

import java.util.List;

/**
 * What a caller may do: the same limits a tier of the users file sets. A null field means "no limit".
 *
 * @param models the models the caller may use (null: any)
 * @param maxTokens the largest {@code max_tokens}; larger requests are capped to it
 * @param requestsPerMinute requests started per rolling minute
 * @param tokensPerMinute input plus output tokens per rolling minute
 * @param concurrentStreams requests in flight at once
 * @param dailyTokens input plus output tokens per UTC day
 * @param system a system prompt placed before the caller's own
 */
public record CallerLimits(
    List<String> models,
    Integer maxTokens,
    Integer requestsPerMinute,
    Long tokensPerMinute,
    Integer concurrentStreams,
    Long dailyTokens,
    String system) {

  /** No limits at all. */
  public static final CallerLimits NONE = new CallerLimits(null, null, null, null, null, null, null);

  /**
   * Copies {@code models}, so that the limits cannot change afterwards.
   *
   * @param models the models the caller may use (null: any)
   * @param maxTokens the largest {@code max_tokens}, or null
   * @param requestsPerMinute requests started per rolling minute, or null
   * @param tokensPerMinute input plus output tokens per rolling minute, or null
   * @param concurrentStreams requests in flight at once, or null
   * @param dailyTokens input plus output tokens per UTC day, or null
   * @param system a system prompt placed before the caller's own, or null
   */
  public CallerLimits {
    models = models == null ? null : List.copyOf(models);
  }
}
