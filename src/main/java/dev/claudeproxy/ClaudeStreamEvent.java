package dev.claudeproxy;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * One server-sent event of a {@link ClaudeStream}, exactly as the upstream sent it: {@code message_start},
 * {@code content_block_delta}, {@code ping}, {@code message_stop}, {@code error} ... Its data is decoded only when
 * asked for, so passing events on as they are ({@link #raw()}) costs no parsing.
 */
public interface ClaudeStreamEvent {
  /**
   * The event's name (its {@code event:} field), or null when it has none.
   *
   * @return the name, or null
   */
  String name();

  /**
   * The event's data (its {@code data:} lines), or an empty buffer when it has none.
   *
   * @return the data
   */
  Buffer data();

  /**
   * The data as a JSON object, parsed on first use.
   *
   * @return the data as JSON
   */
  JsonObject json();

  /**
   * The whole event as the upstream sent it, blank line included: ready to write to an SSE client.
   *
   * @return the raw event
   */
  Buffer raw();

  /**
   * The event's number in its {@link ClaudeStream}: 0, 1, 2 ... over every event it received, pings included (on a
   * followed stream, from the first event after the position it was followed from). For the stream's own numbering,
   * which does not count pings, see {@link ClaudeStream#position()}.
   *
   * @return the sequence number
   */
  long seq();
}
