package dev.claudeproxy.bus;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;

/**
 * One worker → inbox event: what a v1 message says in its headers and body, as one value.
 *
 * <p>Between a worker and an inbox in the same JVM the proxy sends the event as this object itself: no headers to
 * build and copy, no body to copy, and the JSON of {@code head}, {@code end}, {@code error} and {@code usage} as the
 * object it was built as, never encoded or parsed. Any other inbox gets the contract's form, headers and a
 * {@code Buffer}. An inbox reads both with {@link #of}.
 *
 * @param op the kind: {@link StreamBus#EV_HEAD}, {@code data}, {@code end}, {@code error} or {@code usage}
 * @param seq the sequence number; -1 when there is none (usage) or it is unreadable
 * @param events on {@code data}: the client-visible SSE events in {@code body}; else -1
 * @param body the bytes of a {@code data} event, or the encoded JSON of another kind that came in the contract's form
 * @param decoded the JSON of a kind other than {@code data} that came as an object (then {@code body} is null)
 */
public record StreamEvent(String op, String stream, long seq, int events, Buffer body, JsonObject decoded) {

  /**
   * The body as JSON.
   *
   * @return the object it was sent as, or its bytes decoded (which may fail)
   */
  public JsonObject json() {
    return decoded != null ? decoded : body.toJsonObject();
  }

  /**
   * The event a message carries, in either form.
   *
   * @param message a message that arrived at an inbox
   * @return its event
   */
  public static StreamEvent of(Message<?> message) {
    if (message.body() instanceof StreamEvent event) {
      return event;
    }
    MultiMap headers = message.headers();
    Object body = message.body();
    return new StreamEvent(headers.get(StreamBus.H_OP), headers.get(StreamBus.H_STREAM),
        number(headers.get(StreamBus.H_SEQ)), (int) number(headers.get(StreamBus.H_EVENTS)),
        body instanceof Buffer buffer ? buffer : Buffer.buffer(), null);
  }

  private static long number(String value) {
    try {
      return value == null ? -1 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
