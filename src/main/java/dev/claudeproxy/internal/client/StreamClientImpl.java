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
import dev.claudeproxy.internal.bus.StreamFinder;
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
import io.vertx.core.eventbus.ReplyFailure;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * The {@link StreamClient}: one inbox for all its streams (never a consumer per stream), registered on the context the
 * client was made on; every piece of state is touched on that context only. While streams are open, one periodic
 * check pings their workers, as the proxy's HTTP side does, so a worker that went away fails its streams instead of
 * leaving them hanging. Streams it follows are found with the HTTP side's own {@link StreamFinder}, and read as the
 * HTTP side reads them (docs/event-bus.md, "Following, resuming and stopping streams").
 */
public final class StreamClientImpl implements StreamClient {
  private final Vertx vertx;
  private final Context context;
  private final StreamClientOptions options;
  private final BusAddresses bus;
  private final String inbox;
  private final Map<String, ClaudeStreamImpl> streams = new HashMap<>();
  private final WorkerChecks workerChecks;
  private final StreamFinder finder;
  private final Future<Void> registered;
  private MessageConsumer<Object> consumer;
  private long checkTimer = -1;
  private boolean closed;
  /** The event-loop thread of {@link #context}, once known: messages arrive on duplicates of the context, not on it. */
  private volatile Thread contextThread;

  public StreamClientImpl(Vertx vertx, StreamClientOptions options) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.options = options;
    this.workerChecks = new WorkerChecks(vertx, options.getWorkerCheckMs(), options.getWorkerMissedChecks(),
        this::workerLost);
    this.bus = BusAddresses.of(options.getBusPrefix());
    this.inbox = bus.inbox(UUID.randomUUID().toString());
    this.finder = new StreamFinder(vertx, bus, inbox, options.getStartTimeoutMs());
    LocalBus.prepare(vertx);
    // Workers in this JVM send the events as objects; elsewhere, in the contract's form. The inbox reads both.
    LocalBus.addLocalInbox(vertx, bus, inbox);
    Promise<Void> done = Promise.promise();
    this.registered = done.future();
    onContext(() -> {
      contextThread = context.isEventLoopContext() ? Thread.currentThread() : null;
      // Made on the client's context, so that the inbox belongs to it (and to its verticle, if any).
      consumer = vertx.eventBus().consumer(inbox, this::onMessage);
      // Called when the inbox is unregistered: by close(), or by Vert.x when the owning verticle is undeployed.
      consumer.endHandler(end -> shutdown("the stream client was closed"));
      consumer.completion().onComplete(done);
    });
  }

  @Override
  public Future<ClaudeStream> messages(StreamRequest request) {
    return whenRegistered(promise -> start(request, promise));
  }

  @Override
  public Future<ClaudeStream> follow(String streamId, Long after) {
    Objects.requireNonNull(streamId, "streamId");
    return whenRegistered(promise -> follow(streamId, after, promise));
  }

  @Override
  public Future<Void> stop(String streamId) {
    Objects.requireNonNull(streamId, "streamId");
    return this.<Void>whenRegistered(promise -> {
      if (closed) {
        promise.fail(closedClient());
        return;
      }
      finder.locate(streamId, StreamBus.newStreamId())
          .compose(worker -> vertx.eventBus().request(worker, Buffer.buffer(), readerControl(StreamBus.CTL_STOP,
              streamId).setSendTimeout(options.getStartTimeoutMs())))
          .onSuccess(reply -> promise.complete())
          .onFailure(failure -> promise.fail(readRefusal(failure)));
    });
  }

  /** Runs {@code action} on the client's context once its inbox is registered, or fails as the registration did. */
  private <T> Future<T> whenRegistered(Consumer<Promise<T>> action) {
    Promise<T> promise = Promise.promise();
    onContext(() -> registered.onComplete(ar -> {
      if (ar.failed()) {
        promise.fail(ar.cause());
      } else {
        action.accept(promise);
      }
    }));
    return promise.future();
  }

  private static ClaudeStreamException closedClient() {
    return new ClaudeStreamException(503, "api_error", "the stream client is closed");
  }

  private void start(StreamRequest request, Promise<ClaudeStream> promise) {
    if (closed) {
      promise.fail(closedClient());
      return;
    }
    String id = StreamBus.newStreamId();
    ClaudeStreamImpl stream = ClaudeStreamImpl.started(id, request.resumable(), this, promise,
        options.getCreditWindowBytes());
    // Registered before the start goes out: events can arrive before the worker's reply does.
    streams.put(id, stream);
    scheduleChecks();
    String user = request.user() != null ? request.user() : options.getUser();
    StartRequest start = new StartRequest(id, inbox, Endpoint.MESSAGES, "POST", "/v1/messages", true,
        options.getCreditWindowBytes(), request.headers(), request.body(), user, request.tier(), request.resumable());
    vertx.eventBus().request(bus.start(), start.body(), start.deliveryOptions()
            .setSendTimeout(options.getStartTimeoutMs()))
        .onSuccess(reply -> stream.accepted(reply.headers().get(StreamBus.H_WORKER)))
        .onFailure(failure -> stream.fail(refusal(failure), false));
  }

  /**
   * Adds a reader to stream {@code streamId}: finds its worker, registers the reader under an id of its own (its
   * events may come before the worker's answer does), then asks the worker to send it the events after {@code after}.
   */
  private void follow(String streamId, Long after, Promise<ClaudeStream> promise) {
    if (closed) {
      promise.fail(closedClient());
      return;
    }
    if (after != null && after < 0) {
      promise.fail(new ClaudeStreamException(400, "invalid_request_error", "a position is 0 or more, got " + after));
      return;
    }
    String reader = StreamBus.newStreamId();
    finder.locate(streamId, reader).onComplete(found -> {
      if (found.failed()) {
        promise.fail(noSuchStream());
        return;
      }
      if (closed) {
        promise.fail(closedClient());
        return;
      }
      ClaudeStreamImpl stream = ClaudeStreamImpl.follower(streamId, reader, found.result(), this, promise,
          options.getCreditWindowBytes());
      streams.put(reader, stream);
      scheduleChecks();
      DeliveryOptions follow = readerControl(StreamBus.CTL_FOLLOW, streamId)
          .addHeader(StreamBus.H_READER, reader)
          .addHeader(StreamBus.H_REPLY_TO, inbox)
          .addHeader(StreamBus.H_CREDITS, Integer.toString(options.getCreditWindowBytes()))
          .setSendTimeout(options.getStartTimeoutMs());
      if (after != null) {
        follow.addHeader(StreamBus.H_AFTER, Long.toString(after));
      }
      // The stream is handed out with its head, which the worker sends before it answers. A refusal lets the reader
      // go all the same: after a timeout, the worker may have added it.
      vertx.eventBus().request(found.result(), Buffer.buffer(), follow)
          .onFailure(failure -> stream.fail(readRefusal(failure), true));
    });
  }

  /** A follow or stop for stream {@code streamId}, as this client's user. */
  private DeliveryOptions readerControl(String op, String streamId) {
    DeliveryOptions delivery = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, streamId);
    if (options.getUser() != null) {
      delivery.addHeader(StreamBus.H_USER, options.getUser());
    }
    if (options.isAdmin()) {
      delivery.addHeader(StreamBus.H_ADMIN, "true");
    }
    return delivery;
  }

  /** Stops stream {@code id} on {@code worker}, whoever reads it; the outcome is not awaited. */
  void stopOn(String worker, String id) {
    vertx.eventBus().request(worker, Buffer.buffer(), readerControl(StreamBus.CTL_STOP, id)
        .setSendTimeout(options.getStartTimeoutMs()));
  }

  private static ClaudeStreamException noSuchStream() {
    return new ClaudeStreamException(404, "not_found_error", "no such stream (it may have ended and expired)");
  }

  /** A refused start in the API's terms. */
  private ClaudeStreamException refusal(Throwable failure) {
    if (failure instanceof ReplyException re) {
      return switch (re.failureType()) {
        case NO_HANDLERS -> new ClaudeStreamException(503, "api_error",
            "no stream worker is available at " + bus.start());
        // The workers are there but behind (a burst), as the HTTP side tells its callers: overloaded, retry.
        case TIMEOUT -> new ClaudeStreamException(503, "overloaded_error",
            "no stream worker answered in time; please retry");
        default -> re.failureCode() == StreamBus.REFUSED_SHUTTING_DOWN
            ? new ClaudeStreamException(503, "api_error", "the stream worker is shutting down")
            : new ClaudeStreamException(500, "api_error", "the stream worker refused the stream: "
                + re.getMessage());
      };
    }
    return new ClaudeStreamException(500, "api_error", "could not start the stream: " + failure);
  }

  /** A refused follow or stop in the API's terms (docs/event-bus.md, "Control operations"). */
  private ClaudeStreamException readRefusal(Throwable failure) {
    if (!(failure instanceof ReplyException re) || re.failureType() == ReplyFailure.NO_HANDLERS) {
      return noSuchStream(); // no worker said it holds the stream, or the one that did has gone, and its streams
    }
    if (re.failureType() == ReplyFailure.RECIPIENT_FAILURE) {
      switch (re.failureCode()) {
        case StreamBus.NO_SUCH_STREAM:
          return noSuchStream();
        case StreamBus.POSITION_AHEAD:
          return new ClaudeStreamException(400, "invalid_request_error", "the position is beyond the stream's events");
        case StreamBus.POSITION_GONE:
          return new ClaudeStreamException(410, "invalid_request_error",
              "the events after that position are no longer kept (the replay buffer is bounded)");
        default:
          break;
      }
    }
    return refusal(failure);
  }


  private void onMessage(Message<Object> message) {
    if (message.body() instanceof LocalEvents batch) {
      for (StreamEvent event : batch.events()) {
        onEvent(event);
      }
    } else if (StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))) {
      // A worker checking that the owner of its streams is still there.
      message.reply(io.vertx.core.buffer.Buffer.buffer());
    } else if (!finder.found(message)) { // else a worker's answer to a search for a stream to follow or stop
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

  /**
   * Sends {@code op} ({@code credit}, {@code cancel} or {@code detach}) for stream {@code id} to its worker's control
   * address; as reader {@code reader} of it, unless that is null (the stream's own client).
   */
  void control(String worker, String id, String reader, String op, long credits) {
    DeliveryOptions delivery = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, id);
    if (reader != null) {
      delivery.addHeader(StreamBus.H_READER, reader);
    }
    if (credits > 0) {
      delivery.addHeader(StreamBus.H_CREDITS, Long.toString(credits));
    }
    vertx.eventBus().send(worker, Buffer.buffer(), delivery);
  }

  /** Runs {@code action} on the client's context: now when already there, else as soon as it can. */
  void onContext(Runnable action) {
    if (Vertx.currentContext() == context || (contextThread != null && Thread.currentThread() == contextThread)) {
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

  /** Lets every open stream go (cancelled, detached or left: see {@link ClaudeStreamImpl}), refuses new ones; once. */
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
