package dev.claudeproxy.bench;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.internal.bus.LocalBus;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.bus.StreamEvent;
import dev.claudeproxy.internal.bus.StreamEventSender;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The worker → HTTP verticle hop of a stream's deltas over the local event bus, end to end: a StreamEventSender on
 * one event-loop context sends {@code data} messages (with its real headers) to an inbox consumer on another, which
 * reads them as ClientStream.onEvent does (sequence check, kind, event count); the benchmark thread waits until the
 * last delta has arrived.
 *
 * <p>One operation is one delta; {@code batch} is how many deltas each bus message carries, so the score says what a
 * delta costs when the worker sends one message per delta versus one per upstream chunk of several deltas. Writing to
 * the client's HTTP response is not part of it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class EventBusPathBench {
  /** Deltas per invocation: a multiple of every batch size, so every message is full. */
  static final int DELTAS = 256;

  @Param({"1", "8", "32"})
  int batch;

  /**
   * {@code contract}: headers and a Buffer, as to an inbox on another node; {@code local}: one StreamEvent object, as
   * to an inbox in the same JVM.
   */
  @Param({"contract", "local"})
  String form;

  private Vertx vertx;
  private EventBus bus;
  private Context workerContext;
  private final String inbox = BusAddresses.DEFAULT.inbox(UUID.randomUUID().toString());
  private Buffer[] bodies;
  private long streams;
  /** The stream in flight; handed to the consumer's event loop through the volatile write. */
  private volatile Tally current;

  /** What the inbox has seen of one stream. */
  private static final class Tally {
    final String streamId;
    final CountDownLatch done = new CountDownLatch(1);
    long expectedSeq;
    long events;
    String failure;

    Tally(String streamId) {
      this.streamId = streamId;
    }
  }

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    vertx = Vertx.vertx();
    bus = vertx.eventBus();
    LocalBus.prepare(vertx);
    LocalBus.addLocalInbox(vertx, BusAddresses.DEFAULT, inbox);
    // Two verticles, like an HTTP verticle instance and a worker instance: deployments take event loops in turn, so
    // the hop crosses threads as it does in the proxy (two contexts made here would share this thread's loop).
    Host http = new Host(this::onEvent);
    Host worker = new Host(null);
    join(vertx.deployVerticle(http));
    join(vertx.deployVerticle(worker));
    workerContext = worker.context();
    if (threadOf(workerContext).equals(threadOf(http.context()))) {
      throw new IllegalStateException("the inbox and the sender share an event loop");
    }

    // Each message body is `batch` deltas back to back, as UpstreamCall batches the events of one chunk.
    String[] texts = SampleStream.texts(DELTAS, 42);
    bodies = new Buffer[DELTAS / batch];
    for (int m = 0; m < bodies.length; m++) {
      Buffer body = Buffer.buffer();
      for (int d = 0; d < batch; d++) {
        body.appendBytes(SampleStream.delta(texts[m * batch + d]));
      }
      bodies[m] = body;
    }
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    join(vertx.close());
  }

  @Benchmark
  @OperationsPerInvocation(DELTAS)
  public long deliver() throws Exception {
    Tally tally = new Tally("bench-" + streams++);
    current = tally;
    workerContext.runOnContext(v -> {
      // A new sender per stream: sequence numbers start at 0, as for every real stream.
      StreamEventSender sender = form.equals("local")
          ? StreamEventSender.to(vertx, BusAddresses.DEFAULT, inbox, tally.streamId)
          : new StreamEventSender(bus, inbox, tally.streamId);
      for (Buffer body : bodies) {
        sender.data(body, batch);
      }
    });
    if (!tally.done.await(10, TimeUnit.SECONDS)) {
      throw new TimeoutException("the inbox saw " + tally.events + " of " + DELTAS + " deltas");
    }
    if (tally.failure != null) {
      throw new IllegalStateException(tally.failure);
    }
    return tally.events;
  }

  /** The parts of ClientStream.onEvent that every data message pays for before the bytes go to the client. */
  private void onEvent(Message<Object> message) {
    Tally tally = current;
    StreamEvent event = StreamEvent.of(message);
    if (event.seq() != tally.expectedSeq || !tally.streamId.equals(event.stream())
        || !StreamBus.EV_DATA.equals(event.op())) {
      tally.failure = "unexpected message " + event;
      tally.done.countDown();
      return;
    }
    tally.expectedSeq++;
    tally.events += event.events();
    if (event.body().length() == 0) {
      tally.failure = "empty data message";
    }
    if (tally.events == DELTAS || tally.failure != null) {
      tally.done.countDown();
    }
  }

  private static String threadOf(Context context) throws Exception {
    Promise<String> name = Promise.promise();
    context.runOnContext(v -> name.complete(Thread.currentThread().getName()));
    return join(name.future());
  }

  private static <T> T join(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A verticle that lends out its context and, given a handler, consumes the inbox from its start. */
  private final class Host extends VerticleBase {
    private final Handler<Message<Object>> handler;

    Host(Handler<Message<Object>> handler) {
      this.handler = handler;
    }

    Context context() {
      return context;
    }

    @Override
    public Future<?> start() {
      if (handler == null) {
        return Future.succeededFuture();
      }
      MessageConsumer<Object> consumer = vertx.eventBus().consumer(inbox, handler);
      return consumer.completion();
    }
  }
}
