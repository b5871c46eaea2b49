package dev.claudeproxy.upstream;

import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEventSender;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClient;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A stream worker: takes start requests from {@link StreamBus#START_ADDRESS}, calls the upstream, and streams each
 * answer back to the inbox that asked. Credits and cancels for its streams arrive on its own control address.
 *
 * <p>An event-loop verticle: the upstream client is non-blocking, so one worker instance carries thousands of
 * streams.
 */
public final class StreamWorkerVerticle extends VerticleBase {
  private final UpstreamTarget target;
  private final Map<String, UpstreamCall> calls = new HashMap<>();
  private final String controlAddress = StreamBus.workerAddress(UUID.randomUUID().toString());
  private HttpClient client;

  public StreamWorkerVerticle(UpstreamTarget target) {
    this.target = target;
  }

  @Override
  public Future<?> start() {
    client = vertx.createHttpClient(target.clientOptions(), target.poolOptions());
    MessageConsumer<Buffer> starts = vertx.eventBus().consumer(StreamBus.START_ADDRESS, this::onStart);
    MessageConsumer<Buffer> control = vertx.eventBus().consumer(controlAddress, this::onControl);
    return Future.all(starts.completion(), control.completion());
  }

  @Override
  public Future<?> stop() {
    calls.values().forEach(UpstreamCall::cancel);
    return client.close();
  }

  private void onStart(Message<Buffer> message) {
    if (StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))) {
      message.reply(Buffer.buffer(), workerHeaders());
      return;
    }
    StartRequest start;
    try {
      start = StartRequest.from(message);
    } catch (IllegalArgumentException e) {
      message.fail(StreamBus.REFUSED_BAD_REQUEST, e.getMessage());
      return;
    }
    StreamEventSender sender = new StreamEventSender(vertx.eventBus(), start.replyTo(), start.streamId());
    UpstreamCall call = new UpstreamCall(client, target, start, sender, () -> calls.remove(start.streamId()));
    calls.put(start.streamId(), call);
    message.reply(Buffer.buffer(), workerHeaders());
    call.begin();
  }

  private void onControl(Message<Buffer> message) {
    UpstreamCall call = calls.get(message.headers().get(StreamBus.H_STREAM));
    if (call == null) {
      return; // already finished: a late credit or cancel is harmless
    }
    String op = message.headers().get(StreamBus.H_OP);
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
