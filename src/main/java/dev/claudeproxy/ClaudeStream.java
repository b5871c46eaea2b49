package dev.claudeproxy;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonObject;
import io.vertx.core.streams.ReadStream;

/**
 * A streamed Messages API answer, read as a Vert.x {@link ReadStream} of its server-sent events, in order, on the
 * context of the {@link StreamClient} that started it.
 *
 * <p>Flow control is the stream's demand: the client grants the worker credit as events are handed to the handler,
 * so a stream that is paused (or fetched from slowly) stops granting it, and the worker stops reading the upstream.
 * What it buffers is bounded by the client's credit window. The stream ends in exactly one of three ways: the
 * {@linkplain #endHandler end handler} after the upstream's {@code message_stop}; the
 * {@linkplain #exceptionHandler exception handler} with a {@link ClaudeStreamException} when it failed (an upstream
 * {@code error} event, which is handed on as an event first, a cut or timed-out upstream, a lost worker); or neither,
 * after {@link #cancel()}.
 */
public interface ClaudeStream extends ReadStream<ClaudeStreamEvent> {
  /**
   * The stream's id on the bus ({@code cp-stream}).
   *
   * @return the stream id
   */
  String id();

  /**
   * The upstream's response headers worth passing on, by lower-case name ({@code request-id},
   * {@code anthropic-ratelimit-*} ...).
   *
   * @return the headers, by lower-case name
   */
  JsonObject headers();

  /**
   * After the end: the worker's summary, {@code {"outcome":..,"usage":{..},"stop_reason":..,"model":..}} (see the
   * bus contract's {@code end} event); null before.
   *
   * @return the summary, or null before the end
   */
  JsonObject summary();

  /**
   * Stops the stream: the worker is told to reset the upstream call at once, and no more events, end or exception
   * reach the handlers. A no-op once the stream has ended.
   */
  void cancel();

  @Override
  ClaudeStream exceptionHandler(Handler<Throwable> handler);

  @Override
  ClaudeStream handler(Handler<ClaudeStreamEvent> handler);

  @Override
  ClaudeStream pause();

  @Override
  ClaudeStream resume();

  @Override
  ClaudeStream fetch(long amount);

  @Override
  ClaudeStream endHandler(Handler<Void> endHandler);
}
