package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.bus.StreamBus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** What a worker's sender puts on the bus, as the inbox receives it, with and without {@code hold}. */
class StreamEventSenderTest extends OnPreparedBus {

  /** Runs {@code sends} in one task on a context and returns the message bodies the inbox got, once it is quiet. */
  private List<Object> received(String inbox, boolean local, Consumer<StreamEventSender> sends)
      throws Exception {
    LinkedBlockingQueue<Message<Object>> got = new LinkedBlockingQueue<>();
    MessageConsumer<Object> consumer = vertx.eventBus().consumer(inbox, got::add);
    consumer.completion().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    if (local) {
      LocalBus.addLocalInbox(vertx, BusAddresses.DEFAULT, inbox);
    }
    Context context = vertx.getOrCreateContext();
    CompletableFuture<Void> sent = new CompletableFuture<>();
    context.runOnContext(v -> {
      sends.accept(StreamEventSender.to(vertx, BusAddresses.DEFAULT, inbox, "s1"));
      sent.complete(null);
    });
    sent.get(10, TimeUnit.SECONDS);
    List<Object> bodies = new ArrayList<>();
    Message<Object> m;
    while ((m = got.poll(300, TimeUnit.MILLISECONDS)) != null) {
      bodies.add(m.body() instanceof Buffer ? StreamEvent.of(m) : m.body());
    }
    consumer.unregister();
    LocalBus.removeLocalInbox(vertx, BusAddresses.DEFAULT, inbox);
    return bodies;
  }

  private static void wholeAnswer(StreamEventSender sender) {
    sender.head(200, new JsonObject().put("request-id", "req_1"));
    sender.data(Buffer.buffer("event: a\n\n"), 1);
    sender.end(new JsonObject().put("outcome", "completed"));
    sender.usage(new JsonObject().put("stream", "s1"));
  }

  private static void assertEvent(Object event, String op, long seq) {
    StreamEvent e = assertInstanceOf(StreamEvent.class, event);
    assertEquals(op, e.op());
    assertEquals(seq, e.seq());
    assertEquals("s1", e.stream());
  }

  @Test
  void heldEventsReachALocalInboxAsOneMessageInOrder() throws Exception {
    List<Object> bodies = received("test.sender.held", true, sender -> {
      sender.hold();
      wholeAnswer(sender);
      sender.flush();
      sender.flush(); // nothing more to send
    });
    assertEquals(1, bodies.size());
    List<StreamEvent> events = assertInstanceOf(LocalEvents.class, bodies.get(0)).events();
    assertEquals(4, events.size());
    assertEvent(events.get(0), StreamBus.EV_HEAD, 0);
    assertEquals("req_1", events.get(0).json().getJsonObject("headers").getString("request-id"));
    assertEvent(events.get(1), StreamBus.EV_DATA, 1);
    assertEquals("event: a\n\n", events.get(1).body().toString());
    assertEquals(1, events.get(1).events());
    assertEvent(events.get(2), StreamBus.EV_END, 2);
    assertEvent(events.get(3), StreamBus.EV_USAGE, -1);
  }

  @Test
  void oneHeldEventGoesAsItselfAndAfterAFlushEachGoesAtOnce() throws Exception {
    List<Object> bodies = received("test.sender.one", true, sender -> {
      sender.hold();
      sender.head(200, new JsonObject());
      sender.flush();
      sender.data(Buffer.buffer("event: a\n\n"), 1);
      sender.data(Buffer.buffer("event: b\n\n"), 1);
    });
    assertEquals(3, bodies.size());
    assertEvent(bodies.get(0), StreamBus.EV_HEAD, 0);
    assertEvent(bodies.get(1), StreamBus.EV_DATA, 1);
    assertEvent(bodies.get(2), StreamBus.EV_DATA, 2);
  }

  @Test
  void anInboxElsewhereGetsEachEventInTheContractsFormWhateverTheHold() throws Exception {
    List<Object> bodies = received("test.sender.remote", false, sender -> {
      sender.hold();
      wholeAnswer(sender);
      sender.flush();
    });
    assertEquals(4, bodies.size());
    assertEvent(bodies.get(0), StreamBus.EV_HEAD, 0);
    assertEquals("req_1", ((StreamEvent) bodies.get(0)).json().getJsonObject("headers").getString("request-id"));
    assertEvent(bodies.get(1), StreamBus.EV_DATA, 1);
    assertEvent(bodies.get(2), StreamBus.EV_END, 2);
    assertEvent(bodies.get(3), StreamBus.EV_USAGE, -1);
    assertNull(((StreamEvent) bodies.get(3)).decoded(), "the contract's form carries encoded JSON");
  }
}
