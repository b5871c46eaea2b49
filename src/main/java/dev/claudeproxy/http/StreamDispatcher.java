package dev.claudeproxy.http;

import dev.claudeproxy.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpServerResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * One HTTP verticle instance's side of the bus: its inbox, where the events of all its streams arrive, and the
 * sending of new streams to the workers.
 */
final class StreamDispatcher {
  private final Vertx vertx;
  private final String inbox = StreamBus.inboxAddress(UUID.randomUUID().toString());
  private final Map<String, StreamSession> sessions = new HashMap<>();
  private final long creditBytes;
  private final long startTimeoutMs;
  private MessageConsumer<Buffer> consumer;

  StreamDispatcher(Vertx vertx, long creditBytes, long startTimeoutMs) {
    this.vertx = vertx;
    this.creditBytes = creditBytes;
    this.startTimeoutMs = startTimeoutMs;
  }

  Future<Void> listen() {
    consumer = vertx.eventBus().consumer(inbox, this::onEvent);
    return consumer.completion();
  }

  Future<Void> close() {
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }

  /** Starts a stream whose answer goes to {@code response}. */
  void start(HttpServerResponse response, Endpoint endpoint, String method, String path, boolean streaming,
      Map<String, String> forward, Buffer body) {
    String id = UUID.randomUUID().toString();
    StreamSession session = new StreamSession(id, response, endpoint, streaming, vertx.eventBus(), creditBytes,
        () -> sessions.remove(id));
    sessions.put(id, session);
    StartRequest start = new StartRequest(id, inbox, endpoint, method, path, streaming, creditBytes, forward, body);
    DeliveryOptions options = start.deliveryOptions().setSendTimeout(startTimeoutMs);
    vertx.eventBus().<Buffer>request(StreamBus.START_ADDRESS, body, options)
        .onSuccess(reply -> session.accepted(reply.headers().get(StreamBus.H_WORKER)))
        .onFailure(failure -> session.refused(refusal(failure)));
  }

  private void onEvent(Message<Buffer> message) {
    StreamSession session = sessions.get(message.headers().get(StreamBus.H_STREAM));
    if (session != null) {
      session.onEvent(message);
    }
  }

  int openStreams() {
    return sessions.size();
  }

  private static ApiError refusal(Throwable failure) {
    if (failure instanceof ReplyException re) {
      return switch (re.failureType()) {
        case NO_HANDLERS -> ApiError.unavailable("no stream worker is available");
        case TIMEOUT -> ApiError.unavailable("no stream worker answered in time");
        default -> re.failureCode() == StreamBus.REFUSED_SHUTTING_DOWN
            ? ApiError.unavailable("the stream worker is shutting down")
            : ApiError.api("the stream worker refused the stream: " + re.getMessage());
      };
    }
    return ApiError.api("could not start the stream: " + failure.getMessage());
  }
}
