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
 * {@linkplain #close() closed}, the upstream calls of its open streams are cancelled.
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
   * Cancels the upstream calls of the open streams (which fail with a {@link ClaudeStreamException}) and unregisters
   * the client's inbox. The client starts no more streams.
   *
   * @return a future that completes once the client is closed
   */
  Future<Void> close();
}
