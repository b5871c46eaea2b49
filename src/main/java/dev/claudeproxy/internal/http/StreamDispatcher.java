package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.bus.LocalBus;
import dev.claudeproxy.internal.bus.WorkerChecks;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.bus.Endpoint;
import dev.claudeproxy.internal.bus.LocalEvents;
import dev.claudeproxy.internal.bus.LocalStart;
import dev.claudeproxy.internal.bus.StreamFinder;
import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.internal.config.ClientPolicy;
import dev.claudeproxy.internal.observe.AccessLog;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.logging.Logger;

/**
 * One HTTP verticle instance's side of the bus: its inbox, where the events of all its streams arrive; the sending of
 * new streams to the workers; and one periodic sweep that sends keepalives, drops stalled clients and checks that the
 * workers of open streams are still there.
 */
final class StreamDispatcher {
  private static final Logger LOG = Logger.getLogger(StreamDispatcher.class.getName());
  /** How long an access line waits for its usage after the response ended. */
  private static final long USAGE_WAIT_MS = 10_000;
  /** How long a drain waits, after its streams have ended, for the usage of the last ones. */
  private static final long DRAIN_USAGE_WAIT_MS = 2_000;
  /**
   * How many refusals by draining workers a start may meet before the client is told no worker is available. A
   * draining worker stays registered until its drain is over, and the bus's round robin may give a start's next try
   * to it again: with two workers, one draining, a start fails here once in 2^16 under load, not once in 2^8.
   */
  private static final int MAX_DRAINING_REFUSALS = 16;
  /**
   * How much longer than the start timeout the bus waits for a start's reply: the client is refused at the start
   * timeout (by the sweep), while a worker that took the stream later, behind a burst, still gets its reply through,
   * and with it a cancel, rather than running a call upstream that nobody reads.
   */
  private static final long LATE_ACCEPTANCE_MS = 60_000;

  private final Vertx vertx;
  private final BusAddresses bus;
  private final String inbox;
  private final Map<String, ClientStream> sessions = new HashMap<>();
  private final long creditBytes;
  private final long startTimeoutMs;
  private final ClientPolicy policy;
  private final WorkerChecks workerChecks;
  private final NodeServices services;
  /** Access lines of finished streams, waiting for their usage to arrive from the worker. */
  private final Map<String, AccessLog.Entry> awaitingUsage = new HashMap<>();
  /**
   * Streams whose usage was counted from their last data when their worker was lost, by when: should the worker turn
   * out to be alive after all and report, its report is not counted again. Forgotten after a minute.
   */
  private final Map<String, Long> countedForLostWorker = new HashMap<>();
  /** Finds the worker of a stream to follow or stop. */
  private final StreamFinder finder;
  private MessageConsumer<Object> consumer;
  private String localStart;
  private static final DeliveryOptions LOCAL_ONLY = new DeliveryOptions().setLocalOnly(true);
  private long sweepTimer = -1;
  private long lastWorkerCheck;
  private boolean draining;
  private Promise<Void> drained;

  StreamDispatcher(Vertx vertx, BusAddresses bus, long creditBytes, long startTimeoutMs, ClientPolicy policy,
      NodeServices services) {
    this.vertx = vertx;
    this.bus = bus;
    this.inbox = bus.inbox(UUID.randomUUID().toString());
    this.creditBytes = creditBytes;
    this.startTimeoutMs = startTimeoutMs;
    this.policy = policy;
    this.workerChecks = new WorkerChecks(vertx, policy.workerCheckMs(), policy.workerMissedChecks(),
        this::workerLost);
    this.services = services;
    this.finder = new StreamFinder(vertx, bus, inbox, startTimeoutMs);
  }

  Future<Void> listen() {
    localStart = LocalBus.localStartAddress(bus, Thread.currentThread().getName());
    LocalBus.prepare(vertx);
    LocalBus.addLocalInbox(vertx, bus, inbox);
    consumer = vertx.eventBus().consumer(inbox, this::onEvent);
    sweepTimer = vertx.setPeriodic(policy.sweepIntervalMs(), id -> sweep(System.currentTimeMillis()));
    return consumer.completion();
  }

  Future<Void> close() {
    vertx.cancelTimer(sweepTimer);
    // No usage can come once the inbox is gone: the lines still waiting for theirs are written without it.
    writeAwaiting();
    LocalBus.removeLocalInbox(vertx, bus, inbox);
    return consumer == null ? Future.succeededFuture() : consumer.unregister();
  }

  boolean draining() {
    return draining;
  }

  /**
   * Refuses new streams, lets open ones run for up to {@code drainMs}, then ends the rest with an error event.
   * Completes when no stream is left.
   */
  Future<Void> drain(long drainMs) {
    draining = true;
    drained = Promise.promise();
    if (!sessions.isEmpty()) {
      vertx.setTimer(Math.max(1, drainMs), id -> new ArrayList<>(sessions.values())
          .forEach(s -> s.shutDown(ApiError.overloaded("the proxy is shutting down; please retry"))));
    }
    // The streams ended at the drain's end are cancelled upstream; their usage comes back from the worker shortly.
    long waitForUsage = vertx.setTimer(Math.max(1, drainMs) + DRAIN_USAGE_WAIT_MS, id -> {
      writeAwaiting();
      drained.tryComplete();
    });
    drained.future().onComplete(v -> vertx.cancelTimer(waitForUsage));
    checkDrained();
    return drained.future();
  }

  /** While draining: done once no stream is open and no access line waits for its usage. */
  private void checkDrained() {
    if (drained != null && sessions.isEmpty() && awaitingUsage.isEmpty()) {
      drained.tryComplete();
    }
  }

  private void writeAwaiting() {
    awaitingUsage.values().forEach(AccessLog.Entry::writeWithoutUsage);
    awaitingUsage.clear();
  }

  /**
   * Starts a stream whose answer goes to {@code response}.
   *
   * @param release gives back the stream's places in its user's concurrency limit and the node's when it ends
   * @param waiting gives back the stream's place among the starts waiting for a worker, once one takes it (or the
   *     stream ends first)
   */
  void start(HttpServerResponse response, Endpoint endpoint, String method, String path, boolean streaming,
      boolean resumable, Map<String, String> forward, Buffer body, AccessLog.Entry access, String user, String tier,
      Runnable release, Runnable waiting) {
    if (draining) {
      release.run();
      waiting.run();
      ErrorResponses.send(response, ApiError.unavailable("the proxy is shutting down; please retry"));
      access.responded(response.getStatusCode());
      return;
    }
    // The stream is named by its request id: the HTTP node's and the worker's lines of one request share it.
    String id = access.requestId();
    ClientStream session = new ClientStream(id, response, endpoint, streaming, vertx.eventBus(), creditBytes,
        () -> closed(id), access, services.metrics(), release);
    session.owner(user, tier);
    session.awaitsWorker(waiting);
    if (resumable) {
      session.resumable();
    }
    sessions.put(id, session);
    StartRequest start = new StartRequest(id, inbox, endpoint, method, path, streaming, creditBytes, forward, body,
        user, tier, resumable);
    if (LocalBus.hasLocalStart(vertx, bus, localStart)) {
      // The worker on this event loop takes the request object and calls back on this thread: no reply, no timer.
      session.awaitAcceptanceUntil(System.currentTimeMillis() + startTimeoutMs);
      vertx.eventBus().send(localStart, new LocalStart(start, session::accepted, (code, reason) -> {
        if (code == StreamBus.REFUSED_SHUTTING_DOWN) {
          startElsewhere(id, session, start, 1);
        } else {
          startFailed(id, session, new ReplyException(ReplyFailure.RECIPIENT_FAILURE, code, reason));
        }
      }, session::waitsForWorker), LOCAL_ONLY);
    } else {
      startElsewhere(id, session, start, 0);
    }
  }

  /**
   * Sends the start to any worker; one that refuses it because it is draining (a rolling restart) is followed by
   * another try, which the bus's round robin gives to the next worker.
   */
  private void startElsewhere(String id, ClientStream session, StartRequest start, int refusals) {
    session.awaitAcceptanceUntil(System.currentTimeMillis() + startTimeoutMs);
    startAnywhere(start)
        .onSuccess(reply -> session.accepted(reply.headers().get(StreamBus.H_WORKER)))
        .onFailure(failure -> {
          if (refusals < MAX_DRAINING_REFUSALS && failure instanceof ReplyException re
              && re.failureType() == ReplyFailure.RECIPIENT_FAILURE
              && re.failureCode() == StreamBus.REFUSED_SHUTTING_DOWN && sessions.get(id) == session) {
            startElsewhere(id, session, start, refusals + 1);
          } else {
            startFailed(id, session, failure);
          }
        });
  }

  /** No worker took the stream: it ends with the refusal, and its access line is written now (no usage will come). */
  private void startFailed(String id, ClientStream session, Throwable failure) {
    session.refused(refusal(failure));
    AccessLog.Entry line = awaitingUsage.remove(id);
    if (line != null) {
      line.writeWithoutUsage();
    }
    checkDrained();
  }

  /**
   * Sends the start in the contract's form to any worker, on this node or another. The client waits for the start
   * timeout (the sweep's), the reply longer ({@link #LATE_ACCEPTANCE_MS}).
   */
  private Future<Message<Object>> startAnywhere(StartRequest start) {
    return vertx.eventBus().request(bus.start(), start.body(),
        start.deliveryOptions().setSendTimeout(startTimeoutMs + LATE_ACCEPTANCE_MS));
  }

  private void closed(String id) {
    ClientStream session = sessions.remove(id);
    if (session != null && session.follower()) {
      // A reader of another's stream: its usage is the stream's, reported to the request that started it.
      session.access().writeWithoutUsage();
    } else if (session != null && !session.access().written()) {
      awaitingUsage.put(id, session.access());
    }
    checkDrained();
  }

  private void onEvent(Message<Object> message) {
    if (message.body() instanceof LocalEvents batch) {
      for (StreamEvent event : batch.events()) {
        onEvent(event);
      }
      return;
    }
    String op = message.headers().get(StreamBus.H_OP);
    if (StreamBus.OP_PING.equals(op)) {
      // A worker checking that the owner of its streams is still there.
      message.reply(Buffer.buffer());
      return;
    }
    if (finder.found(message)) {
      return;
    }
    String usage = message.headers().get(StreamBus.H_USAGE);
    if (usage != null) {
      ClientStream session = sessions.get(message.headers().get(StreamBus.H_STREAM));
      if (session != null) {
        session.progress(usage);
      }
    }
    onEvent(StreamEvent.of(message));
  }

  private void onEvent(StreamEvent event) {
    if (StreamBus.EV_USAGE.equals(event.op())) {
      usage(event.stream(), event.json());
      return;
    }
    ClientStream session = sessions.get(event.stream());
    if (session != null) {
      session.onEvent(event);
    }
  }

  /** A worker's report of how a call ended: the tokens are accounted, and the access line is written. */
  private void usage(String id, JsonObject outcome) {
    if (countedForLostWorker.remove(id) != null) {
      return;
    }
    services.recordUsage(outcome);
    AccessLog.Entry access = awaitingUsage.remove(id);
    if (access == null) {
      ClientStream session = sessions.get(id);
      access = session == null ? null : session.access();
    }
    if (access != null) {
      access.usage(outcome);
    }
    checkDrained();
  }

  private void sweep(long now) {
    if (!countedForLostWorker.isEmpty()) {
      countedForLostWorker.values().removeIf(at -> now - at > 60_000);
    }
    // Lines whose usage never came (the worker was lost) are written without it.
    awaitingUsage.values().removeIf(access -> {
      if (access.waitedLongerThan(USAGE_WAIT_MS, now)) {
        access.writeWithoutUsage();
      }
      return access.written();
    });
    if (sessions.isEmpty()) {
      return;
    }
    for (ClientStream session : new ArrayList<>(sessions.values())) {
      if (session.notAcceptedBy(now)) {
        // No worker took the stream in time: they are behind (a burst), or the one on this event loop went away as
        // the start was sent.
        startFailed(session.id(), session, new ReplyException(ReplyFailure.TIMEOUT, "no answer to the start"));
        continue;
      }
      session.tick(now, policy.keepaliveMs(), policy.stallTimeoutMs());
    }
    if (now - lastWorkerCheck >= policy.workerCheckMs()) {
      lastWorkerCheck = now;
      checkWorkers();
    }
  }

  /** Checks the workers of the open streams (see {@link WorkerChecks}). */
  private void checkWorkers() {
    Set<String> workers = new HashSet<>();
    Set<String> heard = new HashSet<>();
    sessions.values().forEach(s -> {
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
    List<ClientStream> orphans = new ArrayList<>();
    sessions.values().forEach(s -> {
      if (worker.equals(s.worker())) {
        orphans.add(s);
      }
    });
    orphans.forEach(s -> {
      s.fail(ApiError.api("the stream worker handling this stream went away"), false, Outcome.WORKER_LOST);
      if (s.progress() != null) {
        // The worker will never report: the usage it last sent with the stream's data is what is counted.
        usage(s.id(), lostUsage(s));
        countedForLostWorker.put(s.id(), System.currentTimeMillis());
      }
    });
  }

  /** The usage record of a stream whose worker died, from the last {@code cp-usage} it sent. */
  private static JsonObject lostUsage(ClientStream s) {
    String[] f = s.progress().split(",", 6);
    JsonObject usage = new JsonObject();
    try {
      usage.put("input_tokens", Long.parseLong(f[0])).put("output_tokens", Long.parseLong(f[1]))
          .put("cache_creation_input_tokens", Long.parseLong(f[2]))
          .put("cache_read_input_tokens", Long.parseLong(f[3]));
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      return new JsonObject().put("outcome", Outcome.WORKER_LOST.wire()).put("usage", new JsonObject());
    }
    JsonObject record = new JsonObject().put("outcome", Outcome.WORKER_LOST.wire()).put("usage", usage)
        .put("stream", s.id());
    if (f.length > 4 && "e".equals(f[4])) {
      record.put("output_tokens_estimated", true);
    }
    if (f.length > 5 && !f[5].isEmpty()) {
      record.put("model", f[5]);
    }
    if (s.user() != null) {
      record.put("user", s.user());
    }
    if (s.tier() != null) {
      record.put("tier", s.tier());
    }
    return record;
  }

  /**
   * Sends {@code response} the events of stream {@code streamId} after position {@code after} (null: from the oldest
   * kept), then the live ones: a new reader, named on the bus by its request's id.
   *
   * @param release gives back the reader's place in the node's capacity when it ends
   */
  void follow(HttpServerResponse response, String streamId, Long after, AccessLog.Entry access, String user,
      boolean admin, Runnable release) {
    if (draining) {
      release.run();
      ErrorResponses.send(response, ApiError.unavailable("the proxy is shutting down; please retry"));
      access.responded(response.getStatusCode());
      return;
    }
    String id = access.requestId();
    ClientStream session = new ClientStream(id, response, Endpoint.MESSAGES, true, vertx.eventBus(), creditBytes,
        () -> closed(id), access, services.metrics(), release);
    session.follows(streamId);
    sessions.put(id, session);
    finder.locate(streamId, id).onComplete(found -> {
      if (sessions.get(id) != session) {
        return; // the client left meanwhile
      }
      if (found.failed()) {
        services.metrics().resume("not_found");
        startFailed(id, session, new ReplyException(ReplyFailure.RECIPIENT_FAILURE, StreamBus.NO_SUCH_STREAM,
            "no such stream"));
        return;
      }
      DeliveryOptions options = control(StreamBus.CTL_FOLLOW, streamId, user, admin)
          .addHeader(StreamBus.H_READER, id)
          .addHeader(StreamBus.H_REPLY_TO, inbox)
          .addHeader(StreamBus.H_CREDITS, Long.toString(creditBytes))
          .setSendTimeout(startTimeoutMs);
      if (after != null) {
        options.addHeader(StreamBus.H_AFTER, Long.toString(after));
      }
      vertx.eventBus().request(found.result(), Buffer.buffer(), options)
          .onSuccess(reply -> {
            services.metrics().resume("ok");
            session.accepted(found.result());
          })
          .onFailure(failure -> {
            services.metrics().resume(failure instanceof ReplyException re ? switch (re.failureCode()) {
              case StreamBus.POSITION_AHEAD -> "ahead";
              case StreamBus.POSITION_GONE -> "gone";
              default -> "not_found";
            } : "not_found");
            startFailed(id, session, failure);
          });
    });
  }

  /** Stops stream {@code streamId} at once, whoever reads it; fails with 404 when there is no such stream. */
  Future<Void> stop(String streamId, String requestId, String user, boolean admin) {
    return finder.locate(streamId, requestId).compose(worker -> vertx.eventBus()
        .request(worker, Buffer.buffer(), control(StreamBus.CTL_STOP, streamId, user, admin)
            .setSendTimeout(startTimeoutMs))
        .<Void>mapEmpty());
  }

  private static DeliveryOptions control(String op, String streamId, String user, boolean admin) {
    DeliveryOptions options = new DeliveryOptions()
        .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_OP, op)
        .addHeader(StreamBus.H_STREAM, streamId);
    if (user != null) {
      options.addHeader(StreamBus.H_USER, user);
    }
    if (admin) {
      options.addHeader(StreamBus.H_ADMIN, "true");
    }
    return options;
  }

  int openStreams() {
    return sessions.size();
  }

  private static ApiError refusedFor(ReplyException refused) {
    // The worker's reason is this proxy's own words (a start request that does not follow the bus contract); it is
    // logged in full and the caller told what happened.
    LOG.warning(() -> "a stream worker refused a stream: " + refused.getMessage());
    return ApiError.api("the stream worker refused the stream");
  }

  private static ApiError refusal(Throwable failure) {
    if (failure instanceof ReplyException re) {
      return switch (re.failureType()) {
        case NO_HANDLERS -> ApiError.unavailable("no stream worker is available");
        // The workers are there but behind (a burst): the node is overloaded, and the client is told when to retry.
        case TIMEOUT -> ApiError.atCapacity("no stream worker answered in time; please retry");
        default -> switch (re.failureCode()) {
          case StreamBus.REFUSED_SHUTTING_DOWN -> ApiError.unavailable("the stream worker is shutting down");
          case StreamBus.NO_SUCH_STREAM -> ApiError.notFound("no such stream (it may have ended and expired)");
          case StreamBus.POSITION_AHEAD -> ApiError.invalidRequest("the position is beyond the stream's events");
          case StreamBus.POSITION_GONE -> new ApiError(410, "invalid_request_error",
              "the events after that position are no longer kept (the replay buffer is bounded)");
          default -> refusedFor(re);
        };
      };
    }
    // The detail (a bus or network exception) is for the log, not the caller.
    LOG.warning(() -> "could not start a stream: " + failure);
    return ApiError.api("could not start the stream on a stream worker");
  }
}
