package dev.claudeproxy.internal.client;

import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.ClaudeStreamException;
import dev.claudeproxy.StreamClient;
import dev.claudeproxy.StreamClientOptions;
import dev.claudeproxy.StreamRequest;
import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.internal.bus.LocalBus;
import dev.claudeproxy.internal.bus.LocalEvents;
import dev.claudeproxy.internal.bus.WorkerChecks;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The {@link StreamClient}: one inbox for all its streams (never a consumer per stream), registered on the context the
 * client was made on; every piece of state is touched on that context only. While streams are open, one periodic
 * check pings their workers, as the proxy's HTTP side does, so a worker that went away fails its streams instead of
 * leaving them hanging.
 */
public final class StreamClientImpl implements StreamClient {
  private final Vertx vertx;
  private final Context context;
  private final StreamClientOptions options;
  private final BusAddresses bus;
  private final String inbox;
  private final Map<String, ClaudeStreamImpl> streams = new HashMap<>();
  private final WorkerChecks workerChecks;
  private final Future<Void> registered;
  private MessageConsumer<Object> consumer;
  private long checkTimer = -1;
  private boolean closed;

  public StreamClientImpl(Vertx vertx, StreamClientOptions options) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.options = options;
    this.workerChecks = new WorkerChecks(vertx, options.getWorkerCheckMs(), options.getWorkerMissedChecks(),
        this::workerLost);
    this.bus = BusAddresses.of(options.getBusPrefix());
    this.inbox = bus.inbox(UUID.randomUUID().toString());
    LocalBus.prepare(vertx);
    // Workers in this JVM send the events as objects; elsewhere, in the contract's form. The inbox reads both.
    LocalBus.addLocalInbox(vertx, bus, inbox);
    Promise<Void> done = Promise.promise();
    this.registered = done.future();
    onContext(() -> {
      // Made on the client's context, so that the inbox belongs to it (and to its verticle, if any).
      consumer = vertx.eventBus().consumer(inbox, this::onMessage);
      // Called when the inbox is unregistered: by close(), or by Vert.x when the owning verticle is undeployed.
      consumer.endHandler(end -> shutdown("the stream client was closed"));
      consumer.completion().onComplete(done);
    });
  }

  @Override
  public Future<ClaudeStream> messages(StreamRequest request) {
    Promise<ClaudeStream> promise = Promise.promise();
    onContext(() -> registered.onComplete(ar -> {
      if (ar.failed()) {
        promise.fail(ar.cause());
      } else {
        start(request, promise);
      }
    }));
    return promise.future();
  }

  private void start(StreamRequest request, Promise<ClaudeStream> promise) {
    if (closed) {
      promise.fail(new ClaudeStreamException(503, "api_error", "the stream client is closed"));
      return;
    }
    String id = StreamBus.newStreamId();
    ClaudeStreamImpl stream = new ClaudeStreamImpl(id, this, promise, options.getCreditWindowBytes());
    // Registered before the start goes out: events can arrive before the worker's reply does.
    streams.put(id, stream);
    scheduleChecks();
    StartRequest start = new StartRequest(id, inbox, Endpoint.MESSAGES, "POST", "/v1/messages", true,
        options.getCreditWindowBytes(), request.headers(), request.body(), request.user(), request.tier());
    vertx.eventBus().request(bus.start(), start.body(), start.deliveryOptions()
            .setSendTimeout(options.getStartTimeoutMs()))
        .onSuccess(reply -> stream.accepted(reply.headers().get(StreamBus.H_WORKER)))
        .onFailure(failure -> stream.fail(refusal(failure), false));
  }

  private ClaudeStreamException refusal(Throwable failure) {
    if (failure instanceof ReplyException re) {
      return switch (re.failureType()) {
        case NO_HANDLERS -> new ClaudeStreamException(503, "api_error",
            "no stream worker is available at " + bus.start());
        case TIMEOUT -> new ClaudeStreamException(503, "api_error", "no stream worker answered in time");
        default -> re.failureCode() == StreamBus.REFUSED_SHUTTING_DOWN
            ? new ClaudeStreamException(503, "api_error", "the stream worker is shutting down")
            : new ClaudeStreamException(500, "api_error", "the stream worker refused the stream: "
                + re.getMessage());
      };
    }
    return new ClaudeStreamException(500, "api_error", "could not start the stream: " + failure);
  }

  private void onMessage(Message<Object> message) {
    if (message.body() instanceof LocalEvents batch) {
      for (StreamEvent event : batch.events()) {
        onEvent(event);
      }
    } else if (StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))) {
      // A worker checking that the owner of its streams is still there.
      message.reply(io.vertx.core.buffer.Buffer.buffer());
    } else {
      onEvent(StreamEvent.of(message));
    }
  }

  private void onEvent(StreamEvent event) {
    ClaudeStreamImpl stream = streams.get(event.stream());
    if (stream != null && !StreamBus.EV_USAGE.equals(event.op())) {
      stream.onEvent(event);
    }
  }

  /** Called by a stream once nothing more will come for it. */
  void forget(String id) {
    streams.remove(id);
  }

  /** Sends {@code op} ({@code credit} or {@code cancel}) for stream {@code id} to its worker's control address. */
  void control(String worker, String id, String op, long credits) {
    DeliveryOptions delivery = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, id);
    if (credits > 0) {
      delivery.addHeader(StreamBus.H_CREDITS, Long.toString(credits));
    }
    vertx.eventBus().send(worker, Buffer.buffer(), delivery);
  }

  /** Runs {@code action} on the client's context: now when already there, else as soon as it can. */
  void onContext(Runnable action) {
    if (Vertx.currentContext() == context) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  private void scheduleChecks() {
    if (checkTimer < 0) {
      checkTimer = vertx.setPeriodic(options.getWorkerCheckMs(), id -> checkWorkers());
    }
  }

  /**
   * Pings each worker of an open stream once, whatever its number of streams. No consumer at its address means it is
   * gone; {@link StreamClientOptions#getWorkerMissedChecks()} unanswered checks in a row mean it is lost too.
   */
  private void checkWorkers() {
    if (streams.isEmpty()) {
      vertx.cancelTimer(checkTimer);
      checkTimer = -1;
      workerChecks.check(Set.of()); // forgets every worker's misses
      return;
    }
    Set<String> workers = new HashSet<>();
    Set<String> heard = new HashSet<>();
    streams.values().forEach(s -> {
      if (s.worker() != null) {
        workers.add(s.worker());
        if (s.heardSinceLastCheck()) {
          heard.add(s.worker());
        }
      }
    });
    workerChecks.check(workers, heard);
  }

  private void workerLost(String worker) {
    List<ClaudeStreamImpl> orphans = new ArrayList<>();
    streams.values().forEach(s -> {
      if (worker.equals(s.worker())) {
        orphans.add(s);
      }
    });
    orphans.forEach(s -> s.fail(new ClaudeStreamException(500, "api_error",
        "the stream worker handling this stream went away"), false));
  }

  @Override
  public Future<Void> close() {
    Promise<Void> done = Promise.promise();
    onContext(() -> {
      shutdown("the stream client was closed");
      registered.transform(v -> consumer.unregister()).onComplete(done);
    });
    return done.future();
  }

  /** Cancels every open stream and refuses new ones; once only. */
  private void shutdown(String why) {
    if (closed) {
      return;
    }
    closed = true;
    LocalBus.removeLocalInbox(vertx, bus, inbox);
    if (checkTimer >= 0) {
      vertx.cancelTimer(checkTimer);
    }
    new ArrayList<>(streams.values()).forEach(s -> s.fail(new ClaudeStreamException(500, "api_error", why), true));
  }
}
