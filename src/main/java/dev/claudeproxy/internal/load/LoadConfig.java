package dev.claudeproxy.internal.load;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * What a load run does.
 *
 * @param target base URL of the proxy or the upstream, e.g. {@code http://127.0.0.1:8080}
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
 */
public record LoadConfig(
    URI target,
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
    long warmup) {

  public boolean chat() {
    return "chat".equals(endpoint);
  }

  public String path() {
    String base = target.getRawPath() == null ? "" : target.getRawPath().replaceAll("/$", "");
    return base + (chat() ? "/v1/chat" : "/v1/messages");
  }

  public int port() {
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
