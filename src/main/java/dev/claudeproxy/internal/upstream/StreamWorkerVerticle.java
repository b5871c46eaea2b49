package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.bus.LocalBus;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.bus.LocalStart;
import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.bus.StreamEventSender;
import dev.claudeproxy.internal.bus.WorkerChecks;
import dev.claudeproxy.internal.config.ResumePolicy;
import dev.claudeproxy.internal.config.UpstreamPolicy;
import io.vertx.core.MultiMap;
import java.util.List;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * A stream worker: takes start requests from {@link BusAddresses#start()}, calls the upstream, and streams each
 * answer back to the inbox that asked. Credits, cancels and liveness pings for its streams arrive on its own control
 * address. Every finished call, cancelled ones included, is published on {@link BusAddresses#usage()} with the
 * usage seen.
 *
 * <p>An event-loop verticle: the upstream client is non-blocking, so one worker instance carries thousands of
 * streams. One periodic sweep per instance enforces the deadlines of all its calls, and checks that the owners of its
 * streams (the inboxes their events go to) are still there: an owner whose address has no consumer left (its HTTP
 * node died or left the cluster) has its calls cancelled, so that nobody pays for answers no one will read.
 *
 * <p>Stopping drains: the worker stops taking new streams at once (starts that still reach it are refused with
 * {@code 503}, which the HTTP side takes as a cue to try another worker), lets its open streams finish for up to
 * the drain time, then ends the rest with an error event.
 */
public final class StreamWorkerVerticle extends VerticleBase {
  private final UpstreamTarget target;
  private final UpstreamPolicy policy;
  private final ResumePolicy resume;
  private final ProxyMetrics metrics;
  private final BusAddresses bus;
  private final Map<String, UpstreamCall> calls = new HashMap<>();
  /**
   * The streams readers can find here: the open ones, and those that ended but are still read, or kept for readers
   * who come back (a resumable stream, until its time to live is over: the value's {@code keptUntil}).
   */
  private final Map<String, UpstreamCall> held = new HashMap<>();
  private final Map<String, Long> keptUntil = new HashMap<>();
  private long lastPurge;
  private final String controlAddress;
  private final long ownerCheckMs;
  private final long drainMs;
  private HttpClient client;
  private String localStart;
  private MessageConsumer<Object> starts;
  private MessageConsumer<Object> local;
  private WorkerChecks owners;
  private long sweep;
  private long lastOwnerCheck;
  private boolean stopping;
  private Promise<Void> drained;

  /**
   * A worker on the addresses under {@code bus}'s prefix.
   *
   * @param ownerCheckMs how often the owners of open streams are checked
   * @param drainMs on stop, how long open streams may run on before they are ended
   */
  public StreamWorkerVerticle(UpstreamTarget target, UpstreamPolicy policy, ResumePolicy resume, ProxyMetrics metrics,
      BusAddresses bus, long ownerCheckMs, long drainMs) {
    this.resume = resume;
    this.bus = bus;
    this.controlAddress = bus.worker(UUID.randomUUID().toString());
    this.target = target;
    this.policy = policy;
    this.metrics = metrics;
    this.ownerCheckMs = ownerCheckMs;
    this.drainMs = drainMs;
  }

  @Override
  public Future<?> start() {
    client = target.createClient(vertx);
    LocalBus.prepare(vertx);
    starts = vertx.eventBus().consumer(bus.start(), this::onStart);
    localStart = LocalBus.localStartAddress(bus, Thread.currentThread().getName());
    local = vertx.eventBus().localConsumer(localStart, this::onStart);
    MessageConsumer<Buffer> control = vertx.eventBus().consumer(controlAddress, this::onControl);
    MessageConsumer<Buffer> find = vertx.eventBus().consumer(bus.find(), this::onFind);
    // Only an owner with no consumer left is gone: one that is slow to answer (or a client of the contract that does
    // not answer pings) keeps its streams, whose credits bound what they hold.
    owners = new WorkerChecks(vertx, ownerCheckMs, Integer.MAX_VALUE, this::ownerLost);
    sweep = vertx.setPeriodic(policy.sweepIntervalMs(), id -> {
      long now = System.currentTimeMillis();
      new ArrayList<>(calls.values()).forEach(call -> call.checkDeadlines(now));
      if (now - lastOwnerCheck >= ownerCheckMs && !held.isEmpty()) {
        lastOwnerCheck = now;
        Set<String> inboxes = new HashSet<>();
        calls.values().forEach(call -> inboxes.add(call.owner()));
        held.values().forEach(call -> call.readerInboxes(inboxes));
        owners.check(inboxes);
      }
      if (now - lastPurge >= 1_000 && held.size() > calls.size()) {
        lastPurge = now;
        purge(now);
      }
    });
    return Future.all(List.of(starts.completion(), local.completion(), control.completion(), find.completion()))
        .onSuccess(v -> LocalBus.addLocalStart(vertx, bus, localStart));
  }

  /**
   * Takes no new streams, lets the open ones finish for up to the drain time, then ends the rest with an error the
   * client sees at once, rather than leaving them to hang.
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    LocalBus.removeLocalStart(vertx, bus, localStart);
    drained = Promise.promise();
    // The clustered start consumer stays registered, refusing, until the drain is over: a node's registrations reach
    // the others a moment after they change, and a start that reaches a node with no consumer for it is dropped by
    // the bus without an answer (its client would wait for the start timeout). A refusal is answered at once and
    // sends the start to another worker.
    Future<Void> localGone = local.unregister();
    long deadline = vertx.setTimer(Math.max(1, drainMs), id -> drained.tryComplete());
    checkDrained();
    return localGone.recover(e -> Future.succeededFuture())
        .compose(v -> drained.future())
        .compose(v -> starts.unregister().recover(e -> Future.succeededFuture()))
        .compose(v -> {
          vertx.cancelTimer(deadline);
          vertx.cancelTimer(sweep);
          new ArrayList<>(calls.values()).forEach(call ->
              call.fail(Outcome.WORKER_STOPPED, ApiError.overloaded("the stream worker stopped; please retry")));
          held.keySet().forEach(id -> LocalBus.removeStream(vertx, bus, id));
          held.clear();
          return client.close();
        });
  }

  private void checkDrained() {
    if (drained != null && calls.isEmpty()) {
      drained.tryComplete();
    }
  }

  /** An inbox has no consumer left: its readers are gone, and the streams it started are cancelled or detached. */
  private void ownerLost(String inbox) {
    new ArrayList<>(held.values()).forEach(call -> call.inboxGone(inbox));
  }

  /** Forgets the ended streams that no reader reads any more and that are not kept, or whose time to live is over. */
  private void purge(long now) {
    held.entrySet().removeIf(e -> {
      UpstreamCall call = e.getValue();
      Long until = keptUntil.get(e.getKey());
      boolean gone = call.done() && (until == null ? call.readers() == 0 : now > until);
      if (gone) {
        keptUntil.remove(e.getKey());
        LocalBus.removeStream(vertx, bus, e.getKey());
      }
      return gone;
    });
  }

  private void onStart(Message<Object> message) {
    LocalStart local = message.body() instanceof LocalStart l ? l : null;
    if (local == null && StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))) {
      message.reply(Buffer.buffer(), workerHeaders());
      return;
    }
    if (local != null && !local.wanted().getAsBoolean()) {
      return; // given up by its sender while it waited in a queue: nobody reads it, nobody should pay for it
    }
    if (stopping) {
      refuse(message, local, StreamBus.REFUSED_SHUTTING_DOWN, "the stream worker is stopping");
      return;
    }
    StartRequest start;
    try {
      start = local != null ? local.request() : StartRequest.from(message);
    } catch (IllegalArgumentException e) {
      refuse(message, local, StreamBus.REFUSED_BAD_REQUEST, e.getMessage());
      return;
    }
    StreamEventSender sender = StreamEventSender.to(vertx, bus, start.replyTo(), start.streamId());
    UpstreamCall call = new UpstreamCall(vertx, client, target, policy, resume, start, sender, this::onDone, metrics);
    calls.put(start.streamId(), call);
    if (start.streaming()) {
      // Only a stream can be followed (GET /v1/streams/{id}); a plain answer is its request's alone.
      held.put(start.streamId(), call);
      LocalBus.addStream(vertx, bus, start.streamId(), controlAddress);
    }
    if (local != null) {
      local.accepted().accept(controlAddress);
    } else {
      message.reply(Buffer.buffer(), workerHeaders());
    }
    call.begin();
  }

  private static void refuse(Message<Object> message, LocalStart local, int code, String reason) {
    if (local != null) {
      local.refused().accept(code, reason);
    } else {
      message.fail(code, reason);
    }
  }

  private void onDone(UpstreamCall.Ended outcome) {
    UpstreamCall call = calls.remove(outcome.streamId());
    if (call != null && call.resumable() && resume.ttlMs() > 0 && !stopping) {
      keptUntil.put(outcome.streamId(), System.currentTimeMillis() + resume.ttlMs());
    } else if (call != null && call.readers() == 0 && held.remove(outcome.streamId()) != null) {
      LocalBus.removeStream(vertx, bus, outcome.streamId());
    }
    checkDrained();
    StartRequest start = outcome.start();
    JsonObject record = outcome.facts().summary(outcome.outcome()).put("stream", outcome.streamId());
    if (start.user() != null) {
      record.put("user", start.user());
    }
    if (start.tier() != null) {
      record.put("tier", start.tier());
    }
    if (record.getString("model") == null && outcome.model() != null) {
      record.put("model", outcome.model());
    }
    if (outcome.sender() != null) {
      outcome.sender().usage(record);
    }
    LocalBus.publishUsage(vertx, bus, outcome.streamId(), record);
  }

  private void onControl(Message<Buffer> message) {
    MultiMap h = message.headers();
    String op = h.get(StreamBus.H_OP);
    if (StreamBus.OP_PING.equals(op)) {
      message.reply(Buffer.buffer(), workerHeaders());
      return;
    }
    String id = h.get(StreamBus.H_STREAM);
    UpstreamCall call = id == null ? null : held.get(id);
    if (StreamBus.CTL_FOLLOW.equals(op) || StreamBus.CTL_STOP.equals(op)) {
      if (call == null || !call.readableBy(h.get(StreamBus.H_USER), "true".equals(h.get(StreamBus.H_ADMIN)))) {
        message.fail(StreamBus.NO_SUCH_STREAM, "no such stream");
      } else if (StreamBus.CTL_STOP.equals(op)) {
        call.stop();
        message.reply(Buffer.buffer(), workerHeaders());
      } else {
        follow(message, call);
      }
      return;
    }
    if (call == null && id != null) {
      call = calls.get(id); // a plain answer is not held, but its own client still cancels it and grants credits
    }
    if (call == null) {
      return; // already finished: a late credit or cancel is harmless
    }
    // A reader other than the stream's own client names itself; the own client is the stream.
    String reader = h.get(StreamBus.H_READER);
    if (StreamBus.CTL_CANCEL.equals(op)) {
      if (reader == null) {
        call.cancel();
      } else {
        call.leave(reader);
      }
    } else if (StreamBus.CTL_DETACH.equals(op)) {
      call.detach();
    } else if (StreamBus.CTL_CREDIT.equals(op)) {
      try {
        call.grant(reader == null ? id : reader, Long.parseLong(h.get(StreamBus.H_CREDITS)));
      } catch (NumberFormatException e) {
        // A malformed grant from a foreign client: ignore it rather than guess.
      }
    }
  }

  /** Adds a reader to {@code call} and answers where it starts, or why it cannot. */
  private void follow(Message<Buffer> message, UpstreamCall call) {
    MultiMap h = message.headers();
    String reader = h.get(StreamBus.H_READER);
    String inbox = h.get(StreamBus.H_REPLY_TO);
    Long after;
    long credits;
    try {
      after = h.get(StreamBus.H_AFTER) == null ? null : Long.valueOf(h.get(StreamBus.H_AFTER));
      credits = Long.parseLong(h.get(StreamBus.H_CREDITS));
    } catch (NumberFormatException e) {
      message.fail(StreamBus.REFUSED_BAD_REQUEST, "cp-after and cp-credits must be numbers");
      return;
    }
    if (reader == null || inbox == null || (after != null && after < 0)) {
      message.fail(StreamBus.REFUSED_BAD_REQUEST, "a follow needs cp-reader, cp-reply-to and a position of 0 or more");
      return;
    }
    long from = call.follow(reader, StreamEventSender.to(vertx, bus, inbox, reader), after, credits);
    if (from < 0) {
      int code = (int) -from;
      message.fail(code, code == StreamBus.POSITION_AHEAD ? "the position is beyond the stream's events"
          : code == StreamBus.POSITION_GONE ? "the events after that position are no longer kept" : "no such stream");
      return;
    }
    message.reply(Buffer.buffer(), workerHeaders()
        .addHeader(StreamBus.H_ENDPOINT, call.endpoint().wire())
        .addHeader(StreamBus.H_AFTER, Long.toString(from))
        .addHeader(StreamBus.H_RESUMABLE, Boolean.toString(call.resumable())));
  }

  /** Someone looks for a stream: the worker that holds it says so, to the inbox that asked; the others say nothing. */
  private void onFind(Message<Buffer> message) {
    String id = message.headers().get(StreamBus.H_STREAM);
    String inbox = message.headers().get(StreamBus.H_REPLY_TO);
    String reader = message.headers().get(StreamBus.H_READER);
    if (id != null && inbox != null && reader != null && held.containsKey(id)) {
      vertx.eventBus().send(inbox, Buffer.buffer(), new DeliveryOptions()
          .addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
          .addHeader(StreamBus.H_OP, StreamBus.EV_FOUND)
          .addHeader(StreamBus.H_STREAM, reader)
          .addHeader(StreamBus.H_WORKER, controlAddress));
    }
  }

  private DeliveryOptions workerHeaders() {
    return new DeliveryOptions().addHeader(StreamBus.H_VERSION, StreamBus.VERSION)
        .addHeader(StreamBus.H_WORKER, controlAddress);
  }

  /** Streams in flight on this instance. */
  public int activeStreams() {
    return calls.size();
  }
}
