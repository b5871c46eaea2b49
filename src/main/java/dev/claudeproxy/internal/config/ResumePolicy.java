package dev.claudeproxy.internal.config;

/**
 * How long and how much of a stream a worker keeps for readers who come back (issue 24, "Resumable streams").
 *
 * @param graceMs how long a resumable stream whose client went away goes on without a reader before it is cancelled
 *     ({@code PROXY_RESUME_GRACE_MS})
 * @param bufferBytes the most of a resumable stream's events kept for replay ({@code PROXY_RESUME_BUFFER_BYTES}); a
 *     stream with no reader whose buffer is full pauses its upstream
 * @param ttlMs how long a resumable stream stays readable after it ended ({@code PROXY_RESUME_TTL_MS})
 */
public record ResumePolicy(long graceMs, long bufferBytes, long ttlMs) {
  public static ResumePolicy from(Settings s) {
    return new ResumePolicy(
        s.longInRange("PROXY_RESUME_GRACE_MS", 30_000, 0, 24 * 3_600_000L),
        s.longInRange("PROXY_RESUME_BUFFER_BYTES", 1024 * 1024, 1024, 1L << 30),
        s.longInRange("PROXY_RESUME_TTL_MS", 300_000, 0, 24 * 3_600_000L));
  }
}
