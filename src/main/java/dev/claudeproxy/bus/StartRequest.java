package dev.claudeproxy.bus;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A request to start one upstream call, sent to {@link BusAddresses#start()}. The body is the upstream request
 * body, byte for byte; everything else travels in headers. To the worker on the sender's own event loop it goes as
 * this object instead, inside a node-local start (not part of the contract), and that worker answers
 * by calling back with its control address.
 *
 * @param streamId unique id of the stream, carried by every later message about it
 * @param replyTo the inbox address the events go to
 * @param endpoint the shape the events should have
 * @param method upstream HTTP method
 * @param path upstream path, such as {@code /v1/messages}
 * @param streaming whether the upstream answer is an SSE stream
 * @param credits bytes the worker may send before it must wait for a credit grant
 * @param forward caller headers to pass upstream unchanged ({@code anthropic-version}, {@code anthropic-beta})
 * @param body the upstream request body
 * @param user the caller's user id, for usage accounting (never a key)
 * @param tier the caller's tier, or null
 * @param resumable whether the stream keeps a replay buffer, and its client's disconnect detaches it rather than
 *     cancelling it
 */
public record StartRequest(
    String streamId,
    String replyTo,
    Endpoint endpoint,
    String method,
    String path,
    boolean streaming,
    long credits,
    Map<String, String> forward,
    Buffer body,
    String user,
    String tier,
    boolean resumable) {

  /**
   * A stream that is not resumable: a disconnect cancels it.
   *
   * @param streamId the stream's id
   * @param replyTo the inbox its events go to
   * @param endpoint the HTTP endpoint it serves
   * @param method the upstream request's method
   * @param path the upstream request's path
   * @param streaming whether the upstream answer is an SSE stream
   * @param credits the initial flow-control window in bytes
   * @param forward the headers forwarded upstream
   * @param body the upstream request's body
   * @param user the caller's user id, for usage accounting (never a key)
   * @param tier the caller's tier, or null
   */
  public StartRequest(String streamId, String replyTo, Endpoint endpoint, String method, String path,
      boolean streaming, long credits, Map<String, String> forward, Buffer body, String user, String tier) {
    this(streamId, replyTo, endpoint, method, path, streaming, credits, forward, body, user, tier, false);
  }

  /**
   * The headers of this request in the contract's form; the message body is {@link #body}.
   *
   * @return delivery options to send with the body to the start address ({@link BusAddresses#start()})
   */
  public DeliveryOptions deliveryOptions() {
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, StreamBus.OP_START)
        .addHeader(StreamBus.H_STREAM, streamId)
        .addHeader(StreamBus.H_REPLY_TO, replyTo)
        .addHeader(StreamBus.H_ENDPOINT, endpoint.wire())
        .addHeader(StreamBus.H_METHOD, method)
        .addHeader(StreamBus.H_PATH, path)
        .addHeader(StreamBus.H_STREAMING, Boolean.toString(streaming))
        .addHeader(StreamBus.H_CREDITS, Long.toString(credits));
    forward.forEach((name, value) -> options.addHeader(StreamBus.H_FORWARD_PREFIX + name, value));
    if (user != null) {
      options.addHeader(StreamBus.H_USER, user);
    }
    if (tier != null) {
      options.addHeader(StreamBus.H_TIER, tier);
    }
    if (resumable) {
      options.addHeader(StreamBus.H_RESUMABLE, "true");
    }
    return options;
  }

  /**
   * Decodes a start message.
   *
   * @param message a message sent to the start address ({@link BusAddresses#start()})
   * @return the request it carries
   * @throws IllegalArgumentException naming what is missing or malformed
   */
  public static StartRequest from(Message<?> message) {
    MultiMap h = message.headers();
    Map<String, String> forward = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : h) {
      String name = e.getKey().toLowerCase(java.util.Locale.ROOT);
      if (name.startsWith(StreamBus.H_FORWARD_PREFIX)) {
        forward.put(name.substring(StreamBus.H_FORWARD_PREFIX.length()), e.getValue());
      }
    }
    String credits = required(h, StreamBus.H_CREDITS);
    long creditBytes;
    try {
      creditBytes = Long.parseLong(credits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(StreamBus.H_CREDITS + " is not a number: " + credits);
    }
    Buffer body = message.body() instanceof Buffer buffer ? buffer : Buffer.buffer();
    return new StartRequest(
        required(h, StreamBus.H_STREAM),
        required(h, StreamBus.H_REPLY_TO),
        Endpoint.fromWire(required(h, StreamBus.H_ENDPOINT)),
        required(h, StreamBus.H_METHOD),
        required(h, StreamBus.H_PATH),
        Boolean.parseBoolean(required(h, StreamBus.H_STREAMING)),
        creditBytes,
        forward,
        body,
        h.get(StreamBus.H_USER),
        h.get(StreamBus.H_TIER),
        Boolean.parseBoolean(h.get(StreamBus.H_RESUMABLE)));
  }

  private static String required(MultiMap headers, String name) {
    String value = headers.get(name);
    if (value == null) {
      throw new IllegalArgumentException("missing header " + name);
    }
    return value;
  }
}
