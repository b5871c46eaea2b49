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
 * after {@link #cancel()} or {@link #detach()}.
 *
 * <p>Letting a stream go: {@link #cancel()} is the explicit stop, the upstream call ends at once. {@link #detach()}
 * is the reader leaving, as a dropped connection leaves the proxy's HTTP side: a
 * {@linkplain StreamRequest#setResumable resumable} stream goes on without it for a reader to come back with
 * {@link StreamClient#follow(String, Long)} after {@link #position()}; a plain one is cancelled; a followed stream goes
 * on for its other readers. Closing the client, or undeploying the verticle that made it, detaches its open streams
 * the same way. A stream nobody holds on to any more is not detected: detach it, or close its client.
 */
public interface ClaudeStream extends ReadStream<ClaudeStreamEvent> {
  /**
   * The stream's id on the bus ({@code cp-stream}).
   *
   * @return the stream id
   */
  String id();

  /**
   * Where this reader has got to, in the stream's own numbering: the events handed to the handler so far, plus the
   * position the stream was {@linkplain StreamClient#follow(String, Long) followed} after; {@code ping}s are not
   * counted (nor replayed to a follower). The position to resume from after a {@link #detach()}.
   *
   * @return the position after the last event handed to the handler
   */
  long position();

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
   * reach the handlers. On a stream this client {@linkplain StreamClient#follow(String, Long) follows}, that stops
   * it for every reader, as {@link StreamClient#stop(String)} does. A no-op once the stream has ended here.
   */
  void cancel();

  /**
   * Lets the stream go without stopping it, where it can go on: a resumable stream is detached (its worker keeps
   * generating and buffering for the grace time, for a reader to {@linkplain StreamClient#follow(String, Long) follow}
   * it after {@link #position()}); a followed stream loses this reader only; a plain stream, which nobody could resume,
   * is cancelled as by {@link #cancel()}. No more events, end or exception reach the handlers. A no-op once the
   * stream has ended here.
   */
  void detach();

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
