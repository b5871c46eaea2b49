package dev.claudeproxy.internal.bus;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamBus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;

import dev.claudeproxy.TestStack;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Usage records on {@link StreamBus#USAGE_ADDRESS}: the contract's form for every consumer, no work for none. */
class UsagePublishTest extends OnPreparedBus {

  /** A record that counts how often it is encoded. */
  private static final class CountingRecord extends JsonObject {
    final AtomicInteger encodings = new AtomicInteger();

    @Override
    public Buffer toBuffer() {
      encodings.incrementAndGet();
      return super.toBuffer();
    }

    @Override
    public String encode() {
      encodings.incrementAndGet();
      return super.encode();
    }
  }

  private static CountingRecord record() {
    CountingRecord record = new CountingRecord();
    record.put("stream", "s-1").put("outcome", "completed").put("model", "claude-sonnet-4-6")
        .put("usage", new JsonObject().put("input_tokens", 13).put("output_tokens", 50));
    return record;
  }

  @Test
  void everyConsumerGetsTheJsonBytesAndTheHeaders() throws Exception {
    LinkedBlockingQueue<Message<Buffer>> first = new LinkedBlockingQueue<>();
    LinkedBlockingQueue<Message<Buffer>> second = new LinkedBlockingQueue<>();
    MessageConsumer<Buffer> a = vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(), first::add);
    MessageConsumer<Buffer> b = vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(), second::add);
    TestStack.await(a.completion());
    TestStack.await(b.completion());
    try {
      CountingRecord record = record();
      JsonObject expected = record.copy();
      LocalBus.publishUsage(vertx, BusAddresses.DEFAULT, "s-1", record);
      Message<Buffer> one = first.poll(5, TimeUnit.SECONDS);
      Message<Buffer> two = second.poll(5, TimeUnit.SECONDS);
      for (Message<Buffer> m : java.util.List.of(one, two)) {
        assertEquals(expected, new JsonObject(m.body()));
        assertEquals(StreamBus.VERSION, m.headers().get(StreamBus.H_VERSION));
        assertEquals("s-1", m.headers().get(StreamBus.H_STREAM));
      }
      assertNotSame(one.body(), two.body(), "each consumer gets bytes of its own");
      assertEquals(2, record.encodings.get(), "encoded once for each consumer");
    } finally {
      TestStack.await(a.unregister());
      TestStack.await(b.unregister());
    }
  }

  @Test
  void withNoConsumerTheRecordIsNotEncoded() throws Exception {
    CountingRecord record = record();
    io.vertx.core.Context context = vertx.getOrCreateContext();
    java.util.concurrent.CompletableFuture<Integer> after = new java.util.concurrent.CompletableFuture<>();
    // Published on an event loop, as a worker does; looked at in a later task of that loop, after any delivery.
    context.runOnContext(v -> {
      LocalBus.publishUsage(vertx, BusAddresses.DEFAULT, "s-2", record);
      context.runOnContext(w -> after.complete(record.encodings.get()));
    });
    assertEquals(0, after.get(10, TimeUnit.SECONDS));
  }

  @Test
  void theWireFormCarriesTheSameBytes() {
    UsageRecordCodec codec = new UsageRecordCodec();
    JsonObject record = record().copy();
    Buffer wire = Buffer.buffer("prefix");
    codec.encodeToWire(wire, record);
    assertEquals(record, new JsonObject(codec.decodeFromWire("prefix".length(), wire)));
  }
}
