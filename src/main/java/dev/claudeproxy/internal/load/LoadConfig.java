package dev.claudeproxy.internal.load;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What a load run does.
 *
 * @param targets base URLs of the proxy or the upstream, e.g. {@code http://127.0.0.1:8080}: stream {@code n} starts on
 *     {@code targets[n % size]} (and is resumed on the next one)
 * @param endpoint {@code messages} (Anthropic-compatible SSE) or {@code chat} (the browser chat events)
 * @param key the key sent as {@code x-api-key} (may be null for an open upstream)
 * @param concurrency streams open at once
 * @param total streams in all; 0 means "until the duration is over"
 * @param duration how long to keep starting streams; null means "until {@code total} are done"
 * @param rampUp how long to take to reach {@code concurrency}
 * @param template the request body; {@code {{n}}} in its text is replaced by the stream's number
 * @param headers extra request headers, e.g. the simulator's {@code x-sim-tokens-per-second}
 * @param verifyTokens when above 0, each stream asks the simulator for this many tokens
 *     ({@code x-sim-output-tokens}) and its final text is checked against what the simulator sends
 * @param addresses local source addresses to spread connections over (127.0.0.x on loopback)
 * @param warmup the first streams, checked like the others but kept out of the timing figures (time to first token,
 *     gaps, durations): what a steady state at the concurrency looks like, without the ramp's connection set-up
 * @param cutAndResume each stream asks to be resumable ({@code x-stream-resumable: true}), is cut after a random
 *     number of its events and resumed with {@code GET /v1/streams/{id}?after=N} on the next target; needs
 *     {@code verifyTokens}, since the joined stream is checked against what the simulator sent
 * @param cancel each stream is cut after a random number of its events, as with {@code cutAndResume}, and not resumed:
 *     the client goes away, and what it read is checked against the start of what the simulator sent (needs
 *     {@code verifyTokens}); a stream cancelled as planned, its events matching, counts as completed and verified
 */
public record LoadConfig(
    List<URI> targets,
    String endpoint,
    String key,
    int concurrency,
    long total,
    Duration duration,
    Duration rampUp,
    JsonObject template,
    Map<String, String> headers,
    int verifyTokens,
    int addresses,
    long warmup,
    boolean cutAndResume,
    boolean cancel) {

  public LoadConfig {
    targets = List.copyOf(targets);
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("a load run needs at least one target URL");
    }
    if (cutAndResume && verifyTokens <= 0) {
      throw new IllegalArgumentException("cutting and resuming streams needs verifyTokens, to know what a joined"
          + " stream must be");
    }
    if (cancel && (cutAndResume || verifyTokens <= 0)) {
      throw new IllegalArgumentException("cancelling streams needs verifyTokens, to know where a stream can be cut and"
          + " what its start must be, and cannot go with cutAndResume");
    }
  }

  public boolean chat() {
    return "chat".equals(endpoint);
  }

  /** The path streams are started on at {@code target}. */
  public String path(URI target) {
    return basePath(target) + (chat() ? "/v1/chat" : "/v1/messages");
  }

  /** The path that resumes stream {@code id} at {@code target}. */
  public String streamPath(URI target, String id) {
    return basePath(target) + "/v1/streams/" + URLEncoder.encode(id, StandardCharsets.UTF_8);
  }

  private static String basePath(URI target) {
    return target.getRawPath() == null ? "" : target.getRawPath().replaceAll("/$", "");
  }

  public static int port(URI target) {
    return target.getPort() != -1 ? target.getPort() : "https".equals(target.getScheme()) ? 443 : 80;
  }

  /** The default request: a short streaming question, numbered so every stream has its own reply. */
  public static JsonObject defaultTemplate(String endpoint, String model, int maxTokens) {
    JsonObject message = new JsonObject().put("role", "user").put("content", "Load test stream {{n}}: hello!");
    JsonObject body = new JsonObject().put("model", model).put("max_tokens", maxTokens)
        .put("messages", new io.vertx.core.json.JsonArray().add(message));
    return "chat".equals(endpoint) ? body : body.put("stream", true);
  }
}
