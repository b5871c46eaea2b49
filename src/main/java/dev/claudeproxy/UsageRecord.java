package dev.claudeproxy;

/**
 * The tokens of one upstream call, as the proxy counted them when the call ended, however it ended.
 *
 * @param streamId the call's id (the access log's {@code request_id} is the HTTP request's)
 * @param userId the caller's user id, or null for a call started without one
 * @param tier the caller's tier, or null
 * @param model the model that answered (or was asked for)
 * @param outcome how the call ended: {@code completed}, {@code cancelled}, {@code upstream_error},
 *     {@code timeout}, ... (as in the access log)
 * @param inputTokens input tokens
 * @param outputTokens output tokens
 * @param cacheCreationInputTokens input tokens written to the prompt cache
 * @param cacheReadInputTokens input tokens read from the prompt cache
 * @param outputTokensEstimated whether {@code outputTokens} is the proxy's estimate from the streamed content,
 *     because the call ended before the upstream's final count (a cancel, a cut, a timeout)
 */
public record UsageRecord(
    String streamId,
    String userId,
    String tier,
    String model,
    String outcome,
    long inputTokens,
    long outputTokens,
    long cacheCreationInputTokens,
    long cacheReadInputTokens,
    boolean outputTokensEstimated) {}
