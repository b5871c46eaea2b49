package dev.claudeproxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * One streaming Messages API call for a {@link StreamClient}: the request body as Claude's {@code POST /v1/messages}
 * takes it, who it is for (user id and tier, for the workers' usage accounting, as the proxy's HTTP side sends them),
 * and headers to pass upstream ({@code anthropic-version}, {@code anthropic-beta}, and the simulator's
 * {@code x-sim-*}). The stream always asks for a streamed answer: {@code "stream": true} is set in the body.
 *
 * <p>The host decides what goes upstream: no system prompt, model allow-list or {@code max_tokens} cap of the proxy's
 * HTTP side is applied on this path. The worker adds the upstream key itself; no key is ever sent over the bus.
 */
public final class StreamRequest {
  private final Buffer body;
  private final Map<String, String> headers = new LinkedHashMap<>();
  private String user;
  private String tier;
  private boolean resumable;

  private StreamRequest(Buffer body) {
    this.body = body;
  }

  /**
   * A request with {@code body} (copied, with {@code "stream": true}).
   *
   * @param body the Messages API request body
   * @return the request
   */
  public static StreamRequest of(JsonObject body) {
    return new StreamRequest(body.copy().put("stream", true).toBuffer());
  }

  /**
   * A request with {@code body}, a JSON object, sent byte for byte when it already says {@code "stream": true}.
   *
   * @param body the Messages API request body, a JSON object
   * @return the request
   * @throws IllegalArgumentException when the body is not a JSON object
   */
  public static StreamRequest of(Buffer body) {
    JsonObject json;
    try {
      json = body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw new IllegalArgumentException("the request body is not a JSON object: " + e.getMessage());
    }
    if (json == null) {
      throw new IllegalArgumentException("the request body is not a JSON object");
    }
    return Boolean.TRUE.equals(json.getValue("stream")) ? new StreamRequest(body.copy()) : of(json);
  }

  /**
   * The caller's user id, for usage accounting (never a key); null for none.
   *
   * @param user the user id, or null
   * @return this request
   */
  public StreamRequest setUser(String user) {
    this.user = user;
    return this;
  }

  /**
   * The caller's tier, for usage metrics; null for none.
   *
   * @param tier the tier, or null
   * @return this request
   */
  public StreamRequest setTier(String tier) {
    this.tier = tier;
    return this;
  }

  /**
   * Whether the stream outlives its reader (issue 24, "Resumable and shared streams"): its worker keeps a replay buffer
   * ({@code cp-resumable: true} on the start), and when the stream is let go without an explicit
   * {@link ClaudeStream#cancel()} ({@link ClaudeStream#detach()}, {@link StreamClient#close()}, or the undeploying of
   * the verticle that made the client), it is detached rather than cancelled: the upstream call goes on for the
   * workers' {@code PROXY_RESUME_GRACE_MS}, so that {@link StreamClient#follow(String, Long)} can pick it up again
   * from {@link ClaudeStream#position()}, on this client or another, on any node. With no reader back by then, the
   * upstream call is cancelled and its usage recorded. Off by default: a stream that is let go is cancelled at once.
   *
   * @param resumable whether the stream is resumable
   * @return this request
   */
  public StreamRequest setResumable(boolean resumable) {
    this.resumable = resumable;
    return this;
  }

  /**
   * Adds a header to send upstream, such as {@code anthropic-beta}; a name given twice keeps the last value.
   * Names are lower-cased. Only {@code anthropic-*} and {@code x-*} headers can be passed, never a key.
   *
   * @param name the header's name
   * @param value its value
   * @return this request
   * @throws IllegalArgumentException for any other name, or {@code x-api-key}
   */
  public StreamRequest putHeader(String name, String value) {
    String n = name.toLowerCase(Locale.ROOT);
    if (!(n.startsWith("anthropic-") || n.startsWith("x-")) || n.equals("x-api-key")) {
      throw new IllegalArgumentException("only anthropic-* and x-* headers (never x-api-key) go upstream: " + name);
    }
    headers.put(n, value);
    return this;
  }

  /**
   * The body as it is sent upstream.
   *
   * @return the body
   */
  public Buffer body() {
    return body;
  }

  /**
   * The user id, or null.
   *
   * @return the user id, or null
   */
  public String user() {
    return user;
  }

  /**
   * The tier, or null.
   *
   * @return the tier, or null
   */
  public String tier() {
    return tier;
  }

  /**
   * Whether the stream is resumable ({@link #setResumable}).
   *
   * @return whether the stream is resumable
   */
  public boolean resumable() {
    return resumable;
  }

  /**
   * The headers to send upstream, by lower-case name.
   *
   * @return the headers (unmodifiable)
   */
  public Map<String, String> headers() {
    return Collections.unmodifiableMap(headers);
  }
}
