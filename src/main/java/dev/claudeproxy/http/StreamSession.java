package dev.claudeproxy.http;

import dev.claudeproxy.api.ApiError;
import dev.claudeproxy.api.ChatEvents;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamErrors;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;

/**
 * The HTTP side of one stream: turns the worker's bus events into the client's response, checks their order, grants
 * credits as the client drains, and cancels the upstream call when the client goes away.
 */
final class StreamSession {
  private final String id;
  private final HttpServerResponse response;
  private final Endpoint endpoint;
  private final boolean streaming;
  private final EventBus bus;
  private final long creditBytes;
  private final Runnable onClose;

  private String worker;
  private boolean cancelWhenKnown;
  private long expectedSeq;
  private boolean sse;
  private long eventsSent;
  private long ungranted;
  private boolean awaitingDrain;
  private boolean finished;

  StreamSession(String id, HttpServerResponse response, Endpoint endpoint, boolean streaming, EventBus bus,
      long creditBytes, Runnable onClose) {
    this.id = id;
    this.response = response;
    this.endpoint = endpoint;
    this.streaming = streaming;
    this.bus = bus;
    this.creditBytes = creditBytes;
    this.onClose = onClose;
    response.closeHandler(v -> clientClosed());
  }

  String id() {
    return id;
  }

  /** The worker accepted the stream; credits and cancels go to {@code address} from now on. */
  void accepted(String address) {
    worker = address;
    if (cancelWhenKnown) {
      sendControl(StreamBus.CTL_CANCEL, null);
    }
  }

  /** No worker took the stream. */
  void refused(ApiError error) {
    fail(error, false);
  }

  void onEvent(Message<Buffer> message) {
    if (finished) {
      return;
    }
    MultiMap headers = message.headers();
    long seq = parseLong(headers.get(StreamBus.H_SEQ));
    if (seq != expectedSeq) {
      fail(ApiError.api("stream events were lost or reordered between worker and proxy (expected " + expectedSeq
          + ", got " + seq + ")"), true);
      return;
    }
    expectedSeq++;
    String kind = headers.get(StreamBus.H_OP);
    Buffer body = message.body();
    switch (kind == null ? "" : kind) {
      case StreamBus.EV_HEAD -> head(body.toJsonObject());
      case StreamBus.EV_DATA -> data(body, parseLong(headers.get(StreamBus.H_EVENTS)));
      case StreamBus.EV_END -> end();
      case StreamBus.EV_ERROR -> fail(StreamErrors.decode(body.toJsonObject()), false);
      default -> fail(ApiError.api("unknown stream event kind: " + kind), true);
    }
  }

  private void head(JsonObject head) {
    int status = head.getInteger("status", 502);
    JsonObject upstreamHeaders = head.getJsonObject("headers", new JsonObject());
    sse = streaming && status == 200;
    response.setStatusCode(status).setChunked(true);
    for (String name : upstreamHeaders.fieldNames()) {
      response.putHeader(name, upstreamHeaders.getString(name));
    }
    if (sse) {
      response.putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream; charset=utf-8")
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
          .putHeader("x-accel-buffering", "no");
    }
    // Send the head now: SDKs and browsers learn the stream has started before the first token.
    response.writeHead();
  }

  private void data(Buffer bytes, long events) {
    if (!response.headWritten()) {
      fail(ApiError.api("stream data arrived before its head"), true);
      return;
    }
    eventsSent += Math.max(0, events);
    response.write(bytes);
    ungranted += bytes.length();
    if (response.writeQueueFull()) {
      if (!awaitingDrain) {
        awaitingDrain = true;
        response.drainHandler(v -> {
          awaitingDrain = false;
          grant();
        });
      }
    } else if (ungranted >= creditBytes / 2) {
      grant();
    }
  }

  private void grant() {
    if (ungranted > 0 && !finished) {
      sendControl(StreamBus.CTL_CREDIT, ungranted);
      ungranted = 0;
    }
  }

  private void end() {
    finish();
    response.end();
  }

  /**
   * Ends the stream with an error: as the status and body when nothing was sent yet, as an SSE {@code error} event
   * once the stream has begun, or by cutting the connection when a plain body was half sent (so a truncated body can
   * never pass for a whole one).
   */
  private void fail(ApiError error, boolean cancelUpstream) {
    if (finished) {
      return;
    }
    if (cancelUpstream) {
      cancel();
    }
    finish();
    if (!response.headWritten()) {
      ErrorResponses.send(response, error);
    } else if (sse) {
      Buffer event = endpoint == Endpoint.CHAT ? ChatEvents.error(eventsSent + 1, error) : error.toSseEvent();
      response.end(event);
    } else {
      response.reset();
    }
  }

  private void clientClosed() {
    if (!finished) {
      cancel();
      finish();
    }
  }

  private void cancel() {
    if (worker == null) {
      cancelWhenKnown = true;
    } else {
      sendControl(StreamBus.CTL_CANCEL, null);
    }
  }

  private void finish() {
    finished = true;
    onClose.run();
  }

  private void sendControl(String op, Long credits) {
    if (worker == null) {
      return;
    }
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, id);
    if (credits != null) {
      options.addHeader(StreamBus.H_CREDITS, Long.toString(credits));
    }
    bus.send(worker, Buffer.buffer(), options);
  }

  private static long parseLong(String value) {
    try {
      return value == null ? -1 : Long.parseLong(value);
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
