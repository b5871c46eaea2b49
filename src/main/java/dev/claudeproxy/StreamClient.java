package dev.claudeproxy;

import dev.claudeproxy.internal.client.StreamClientImpl;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * A Java client of the proxy's event-bus contract ({@code docs/event-bus.md}): starts streams on the proxy's stream
 * workers, anywhere in the Vert.x cluster, and reads each answer as a {@link ClaudeStream}, with credits and cancel
 * handled. For a host that streams Claude to its own WebSocket, gRPC or queue, without HTTP in between.
 *
 * <p>A client belongs to the context it is created on (a verticle's, typically): its inbox is registered there,
 * and every stream's events, end and failure are delivered there. When that verticle is undeployed, or the client
 * {@linkplain #close() closed}, its open streams are let go: the upstream calls of plain streams are cancelled,
 * {@linkplain StreamRequest#setResumable resumable} ones are detached (they go on for a reader to
 * {@linkplain #follow(String, Long) follow} them again), and the streams it follows go on without it.
 */
public interface StreamClient {
  /**
   * A client with the default options, on the current context (or a new one).
   *
   * @param vertx the Vert.x whose event bus reaches the proxy's workers
   * @return a new client
   */
  static StreamClient create(Vertx vertx) {
    return create(vertx, new StreamClientOptions());
  }

  /**
   * A client with {@code options} (copied), on the current context (or a new one).
   *
   * @param vertx the Vert.x whose event bus reaches the proxy's workers
   * @param options the client's options
   * @return a new client
   */
  static StreamClient create(Vertx vertx, StreamClientOptions options) {
    return new StreamClientImpl(vertx, new StreamClientOptions(options));
  }

  /**
   * Starts a streamed {@code POST /v1/messages}. The future succeeds with the stream once the upstream has answered
   * {@code 200}; it fails with a {@link ClaudeStreamException} when no worker takes the stream (status 503), when
   * the upstream answers with an error (its status, type and message, after the worker's retries), or when the call
   * fails before an answer.
   *
   * @param request the call to make
   * @return a future of the stream
   */
  Future<ClaudeStream> messages(StreamRequest request);

  /**
   * Reads stream {@code streamId}, started by this client or another, on any node: the events after position
   * {@code after}, then the live ones until the end, as a {@link ClaudeStream} like the one {@link #messages} gives
   * (the same events, the stream's head, credits of its own: a slow reader holds back only itself; one that falls a
   * whole replay buffer behind another reader ends with an {@code error} event, and may follow again from its
   * {@link ClaudeStream#position()}). Any number of readers may follow one stream at once. A position counts the stream's events before it, {@code ping}s not counted;
   * {@link ClaudeStream#position()} says where a reader has got to, so an application that let a resumable stream go
   * resumes it with {@code follow(stream.id(), stream.position())}.
   *
   * <p>A resumable stream can be followed from any position it still keeps (its worker's replay buffer), until its
   * time to live after its end is over; another stream only from its live position while it is open (pass null).
   * A stream started by the proxy's {@code POST /v1/chat} gives its chat events. Only streams of the client's
   * {@linkplain StreamClientOptions#setUser user} can be followed, unless the client is an admin.
   *
   * <p>The future succeeds with the stream once its head has arrived; it fails with a {@link ClaudeStreamException}:
   * 404 when there is no such stream (unknown, expired, another user's), 400 when {@code after} is beyond the events
   * that exist (or negative), 410 when the events after it are no longer kept.
   *
   * @param streamId the stream's id ({@link ClaudeStream#id()}, or the proxy's {@code x-stream-id})
   * @param after the position to start after, or null for the oldest event kept
   * @return a future of the stream, read from the position on
   */
  Future<ClaudeStream> follow(String streamId, Long after);

  /**
   * Reads stream {@code streamId} from the oldest event kept: from its start when it is resumable and its replay
   * buffer still holds it. See {@link #follow(String, Long)}.
   *
   * @param streamId the stream's id
   * @return a future of the stream
   */
  default Future<ClaudeStream> follow(String streamId) {
    return follow(streamId, null);
  }

  /**
   * Stops stream {@code streamId} at once, whoever reads it (the proxy's {@code DELETE /v1/streams/{id}}): its upstream
   * call is cancelled, and every reader still attached fails with a {@link ClaudeStreamException}. Fails with one of
   * status 404 when there is no such stream (unknown, ended and expired, another user's).
   *
   * @param streamId the stream's id
   * @return a future that completes once the stream's worker has stopped it
   */
  Future<Void> stop(String streamId);

  /**
   * Lets the open streams go (plain ones are cancelled upstream, resumable ones detached, followed ones left: each
   * fails with a {@link ClaudeStreamException} locally) and unregisters the client's inbox. The client starts and
   * follows no more streams.
   *
   * @return a future that completes once the client is closed
   */
  Future<Void> close();
}
