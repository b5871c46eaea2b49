package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.Outcome;
import dev.claudeproxy.internal.bus.LocalBus;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.bus.LocalStart;
import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.bus.StreamEventSender;
import dev.claudeproxy.internal.config.UpstreamPolicy;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A stream worker: takes start requests from {@link BusAddresses#start()}, calls the upstream, and streams each
 * answer back to the inbox that asked. Credits, cancels and liveness pings for its streams arrive on its own control
 * address. Every finished call, cancelled ones included, is published on {@link BusAddresses#usage()} with the
 * usage seen.
 *
 * <p>An event-loop verticle: the upstream client is non-blocking, so one worker instance carries thousands of
 * streams. One periodic sweep per instance enforces the deadlines of all its calls.
 */
public final class StreamWorkerVerticle extends VerticleBase {
  private final UpstreamTarget target;
  private final UpstreamPolicy policy;
  private final ProxyMetrics metrics;
  private final BusAddresses bus;
  private final Map<String, UpstreamCall> calls = new HashMap<>();
  private final String controlAddress;
  private HttpClient client;
  private String localStart;
  private long sweep;
  private boolean stopping;

  /** A worker on the addresses under {@code bus}'s prefix. */
  public StreamWorkerVerticle(UpstreamTarget target, UpstreamPolicy policy, ProxyMetrics metrics, BusAddresses bus) {
    this.bus = bus;
    this.controlAddress = bus.worker(UUID.randomUUID().toString());
    this.target = target;
    this.policy = policy;
    this.metrics = metrics;
  }

  @Override
  public Future<?> start() {
    client = target.createClient(vertx);
    LocalBus.prepare(vertx);
    MessageConsumer<Object> starts = vertx.eventBus().consumer(bus.start(), this::onStart);
    localStart = LocalBus.localStartAddress(bus, Thread.currentThread().getName());
    MessageConsumer<Object> local = vertx.eventBus().localConsumer(localStart, this::onStart);
    MessageConsumer<Buffer> control = vertx.eventBus().consumer(controlAddress, this::onControl);
    sweep = vertx.setPeriodic(policy.sweepIntervalMs(), id -> {
      long now = System.currentTimeMillis();
      new ArrayList<>(calls.values()).forEach(call -> call.checkDeadlines(now));
    });
    return Future.all(starts.completion(), local.completion(), control.completion())
        .onSuccess(v -> LocalBus.addLocalStart(vertx, bus, localStart));
  }

  /** Ends every open stream with an error the client sees at once, rather than leaving it to hang. */
  @Override
  public Future<?> stop() {
    stopping = true;
    LocalBus.removeLocalStart(vertx, bus, localStart);
    vertx.cancelTimer(sweep);
    new ArrayList<>(calls.values()).forEach(call ->
        call.fail(Outcome.WORKER_STOPPED, ApiError.overloaded("the stream worker stopped; please retry")));
    return client.close();
  }

  private void onStart(Message<Object> message) {
    LocalStart local = message.body() instanceof LocalStart l ? l : null;
    if (local == null && StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))) {
      message.reply(Buffer.buffer(), workerHeaders());
      return;
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
    UpstreamCall call = new UpstreamCall(vertx, client, target, policy, start, sender, this::onDone, metrics);
    calls.put(start.streamId(), call);
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
    calls.remove(outcome.streamId());
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
    outcome.sender().usage(record);
    LocalBus.publishUsage(vertx, bus, outcome.streamId(), record);
  }

  private void onControl(Message<Buffer> message) {
    String op = message.headers().get(StreamBus.H_OP);
    if (StreamBus.OP_PING.equals(op)) {
      message.reply(Buffer.buffer(), workerHeaders());
      return;
    }
    UpstreamCall call = calls.get(message.headers().get(StreamBus.H_STREAM));
    if (call == null) {
      return; // already finished: a late credit or cancel is harmless
    }
    if (StreamBus.CTL_CANCEL.equals(op)) {
      call.cancel();
    } else if (StreamBus.CTL_CREDIT.equals(op)) {
      try {
        call.grant(Long.parseLong(message.headers().get(StreamBus.H_CREDITS)));
      } catch (NumberFormatException e) {
        // A malformed grant from a foreign client: ignore it rather than guess.
      }
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
