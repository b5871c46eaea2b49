package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.internal.client.ClaudeStreamImpl;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.ArrayList;
import java.util.Collections;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link StreamClient} against real stream workers and the simulator on loopback: nothing between the client and the
 * workers but the event bus.
 */
class StreamClientTest {
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private static JsonObject request(String prompt, int maxTokens) {
    return new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt)));
  }

  /** What a reader saw of a stream: its events, and how it ended. */
  static final class Reader {
    final List<ClaudeStreamEvent> events = Collections.synchronizedList(new ArrayList<>());
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    final CompletableFuture<Throwable> failed = new CompletableFuture<>();

    Reader(ClaudeStream stream) {
      this(stream, events -> false, () -> { });
    }

    /** Reads {@code stream}; on the stream's context, runs {@code then} once {@code at} holds for the events read. */
    Reader(ClaudeStream stream, java.util.function.Predicate<List<ClaudeStreamEvent>> at, Runnable then) {
      stream.handler(event -> {
        events.add(event);
        if (at.test(events)) {
          then.run();
        }
      }).endHandler(v -> ended.complete(null)).exceptionHandler(failed::complete);
    }

    /** Waits for the clean end; a failure instead fails the test with it. */
    void awaitEnd() throws Exception {
      CompletableFuture.anyOf(ended, failed).get(30, TimeUnit.SECONDS);
      if (failed.isDone()) {
        throw new AssertionError("the stream failed after " + events.size() + " events", failed.get());
      }
    }

    /** The raw events read, pings left out: what a position counts, as {@code StreamCut} compares them. */
    List<String> withoutPings() {
      synchronized (events) {
        return events.stream().filter(e -> !"ping".equals(e.name())).map(e -> e.raw().toString()).toList();
      }
    }

    String text() {
      StringBuilder text = new StringBuilder();
      for (ClaudeStreamEvent e : events) {
        if ("content_block_delta".equals(e.name())
            && "text_delta".equals(e.json().getJsonObject("delta").getString("type"))) {
          text.append(e.json().getJsonObject("delta").getString("text"));
        }
      }
      return text.toString();
    }
  }

  @Test
  void aWholeStreamArrivesInOrderWithTheSimulatorsText() throws Exception {
    StreamClient client = StreamClient.create(stack.vertx);
    try {
      JsonObject body = request("Tell me about event buses", 1024);
      ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(body).setUser("host-user")));
      Reader reader = new Reader(stream);
      reader.ended.get(10, TimeUnit.SECONDS);
      assertFalse(reader.failed.isDone());

      List<ClaudeStreamEvent> events = reader.events;
      for (int i = 0; i < events.size(); i++) {
        assertEquals(i, events.get(i).seq(), "events are numbered in order");
      }
      assertEquals("message_start", events.get(0).name());
      assertEquals("message_stop", events.get(events.size() - 1).name());
      assertTrue(events.get(0).raw().toString().startsWith("event: message_start\ndata: "), "raw bytes as sent");
      String expected = ReplyPlan.of(body.copy().put("stream", true), stack.simulator.config()).text();
      assertEquals(expected, reader.text());
      assertNotNull(stream.headers().getString("request-id"), stream.headers().encode());
      JsonObject summary = stream.summary();
      assertEquals("completed", summary.getString("outcome"), summary.encode());
      assertEquals(40, summary.getJsonObject("usage").getInteger("output_tokens"), summary.encode());
    } finally {
      TestStack.await(client.close());
    }
  }

  /**
   * A paused stream grants no credit, so the worker stops reading the upstream: the simulator stops producing, and
   * what the client buffers stays within its credit window (plus the one read the worker may overshoot by).
   * Resumed, it gets every event.
   */
  @Test
  void aPausedStreamStopsTheUpstreamAndBuffersBoundedly() throws Exception {
    int window = 8 * 1024;
    StreamClient client = StreamClient.create(stack.vertx, new StreamClientOptions().setCreditWindowBytes(window));
    SimulatorStats stats = stack.simulator.stats();
    long completedBefore = stats.streamsCompleted();
    long deltasBefore = stats.deltas();
    try {
      JsonObject body = request("A very long answer, please", 64_000);
      ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(body)
          .putHeader("x-sim-output-tokens", "60000")));
      List<ClaudeStreamEvent> events = Collections.synchronizedList(new ArrayList<>());
      CompletableFuture<Void> ended = new CompletableFuture<>();
      AtomicBoolean paused = new AtomicBoolean();
      stream.endHandler(v -> ended.complete(null)).exceptionHandler(ended::completeExceptionally)
          .handler(event -> {
            events.add(event);
            if (events.size() == 10 && paused.compareAndSet(false, true)) {
              stream.pause();
            }
          });
      long plateau = plateau(stats) - deltasBefore;
      long buffered = ((ClaudeStreamImpl) stream).bufferedBytes();
      System.out.println("paused client: the simulator stopped after " + plateau + " deltas of 60000; "
          + buffered + " bytes buffered in the client with a " + window + " byte window");
      assertEquals(10, events.size(), "a paused stream hands out nothing");
      assertEquals(completedBefore, stats.streamsCompleted(), "the upstream did not run to its end");
      assertTrue(plateau < 60_000, "the upstream stopped before its end: " + plateau);
      assertTrue(buffered <= window + 64 * 1024, "buffered " + buffered);

      // A slow reader: one event at a time, then all of them.
      stream.fetch(5);
      Wire.waitFor(() -> events.size() == 15, "five more events");
      Thread.sleep(100);
      assertEquals(15, events.size(), "fetch(5) hands out five");
      stream.resume();
      try {
        ended.get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("no end: " + events.size() + " events, "
            + ((ClaudeStreamImpl) stream).bufferedBytes() + " bytes buffered, simulator open "
            + stats.streamsOpen() + " deltas " + (stats.deltas() - deltasBefore));
      }
      assertEquals("message_stop", events.get(events.size() - 1).name());
      long deltas = events.stream().filter(e -> "content_block_delta".equals(e.name())).count();
      assertEquals(60_000, deltas, "every delta arrives once resumed");
    } finally {
      TestStack.await(client.close());
    }
  }

  /** Waits until the simulator's count of deltas sent stops moving, and returns it. */
  private static long plateau(SimulatorStats stats) throws InterruptedException {
    long last = -1;
    long now = stats.deltas();
    while (now != last) {
      Thread.sleep(300);
      last = now;
      now = stats.deltas();
    }
    return now;
  }

  @Test
  void cancelStopsTheUpstream() throws Exception {
    LinkedBlockingQueue<JsonObject> outcomes = new LinkedBlockingQueue<>();
    MessageConsumer<Buffer> usage = stack.vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(),
        m -> outcomes.add(m.body().toJsonObject()));
    TestStack.await(usage.completion());
    StreamClient client = StreamClient.create(stack.vertx);
    try {
      SimulatorStats stats = stack.simulator.stats();
      long cancelledBefore = stats.streamsCancelled();
      ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(request("Slowly", 4096))
          .putHeader("x-sim-tokens-per-second", "20").putHeader("x-sim-output-tokens", "1000")));
      CompletableFuture<ClaudeStreamEvent> firstDelta = new CompletableFuture<>();
      AtomicBoolean endedOrFailed = new AtomicBoolean();
      stream.endHandler(v -> endedOrFailed.set(true)).exceptionHandler(e -> endedOrFailed.set(true))
          .handler(event -> {
            if ("content_block_delta".equals(event.name())) {
              firstDelta.complete(event);
            }
          });
      firstDelta.get(10, TimeUnit.SECONDS);
      stream.cancel();
      JsonObject outcome = nextFor(outcomes, stream.id());
      assertEquals("cancelled", outcome.getString("outcome"), outcome.encode());
      Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1, "the simulator to see the cancel");
      Thread.sleep(100);
      assertFalse(endedOrFailed.get(), "a cancelled stream neither ends nor fails");
    } finally {
      usage.unregister();
      TestStack.await(client.close());
    }
  }

  /** The client belongs to the verticle that made it: undeploying that verticle cancels its streams upstream. */
  @Test
  void undeployingTheOwningVerticleCancelsItsStreams() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long cancelledBefore = stats.streamsCancelled();
    CompletableFuture<String> firstEvent = new CompletableFuture<>();
    String deployment = TestStack.await(stack.vertx.deployVerticle(new VerticleBase() {
      @Override
      public Future<?> start() {
        StreamClient client = StreamClient.create(vertx);
        client.messages(StreamRequest.of(request("Slowly, in a verticle", 4096))
                .putHeader("x-sim-tokens-per-second", "20").putHeader("x-sim-output-tokens", "1000"))
            .onSuccess(stream -> stream.handler(event -> firstEvent.complete(stream.id())))
            .onFailure(firstEvent::completeExceptionally);
        return Future.succeededFuture();
      }
    }));
    firstEvent.get(10, TimeUnit.SECONDS);
    assertEquals(1, stats.streamsOpen());
    TestStack.await(stack.vertx.undeploy(deployment));
    Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1, "the simulator to see the cancel");
    Wire.waitFor(() -> stats.streamsOpen() == 0, "no stream open");
  }

  /** An upstream error event mid-stream is handed on as an event, then fails the stream: never a clean end. */
  @Test
  void anUpstreamErrorMidStreamReachesTheExceptionHandler() throws Exception {
    StreamClient client = StreamClient.create(stack.vertx);
    try {
      ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(request("Fail midway", 1024))
          .putHeader("x-sim-scenario", "midstream_error")));
      Reader reader = new Reader(stream);
      Throwable failure = reader.failed.get(10, TimeUnit.SECONDS);
      assertTrue(failure instanceof ClaudeStreamException, String.valueOf(failure));
      ClaudeStreamException error = (ClaudeStreamException) failure;
      assertEquals("overloaded_error", error.type());
      assertEquals(529, error.status());
      assertFalse(reader.ended.isDone(), "no end after a failure");
      assertTrue(reader.events.stream().anyMatch(e -> "content_block_delta".equals(e.name())));
      assertEquals("error", reader.events.get(reader.events.size() - 1).name(), "the upstream's error event");
      assertNull(stream.summary());
    } finally {
      TestStack.await(client.close());
    }
  }

  /** An upstream error answer (here an unknown model, which is not retried) fails the start with its error. */
  @Test
  void anUpstreamErrorAnswerFailsTheStart() throws Exception {
    StreamClient client = StreamClient.create(stack.vertx);
    try {
      JsonObject body = request("Hello", 64).put("model", "gpt-4o");
      ClaudeStreamException error = failureOf(client.messages(StreamRequest.of(body)));
      assertEquals(404, error.status(), error.toString());
      assertEquals("not_found_error", error.type());
    } finally {
      TestStack.await(client.close());
    }
  }

  @Test
  void aStartWithNoWorkerFailsClearly() throws Exception {
    StreamClient client = StreamClient.create(stack.vertx, new StreamClientOptions().setBusPrefix("nobody.here"));
    try {
      ClaudeStreamException error = failureOf(client.messages(StreamRequest.of(request("Anyone?", 64))));
      assertEquals(503, error.status());
      assertEquals("api_error", error.type());
      assertEquals("no stream worker is available at nobody.here.v1.streams", error.getMessage());
    } finally {
      TestStack.await(client.close());
    }
  }

  @Test
  void aStartNoWorkerAnswersInTimeIsAnOverloadToRetry() throws Exception {
    // A worker that is there but never answers (as one far behind a burst): the start times out.
    var silent = stack.vertx.eventBus().consumer("silent.worker.v1.streams", message -> { });
    TestStack.await(silent.completion());
    StreamClient client = StreamClient.create(stack.vertx,
        new StreamClientOptions().setBusPrefix("silent.worker").setStartTimeoutMs(300));
    try {
      ClaudeStreamException error = failureOf(client.messages(StreamRequest.of(request("Anyone?", 64))));
      assertEquals(503, error.status());
      assertEquals("overloaded_error", error.type());
      assertEquals("no stream worker answered in time; please retry", error.getMessage());
    } finally {
      TestStack.await(client.close());
      TestStack.await(silent.unregister());
    }
  }

  @Test
  void aClosedClientFailsItsOpenStreamsAndCancelsThem() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long cancelledBefore = stats.streamsCancelled();
    StreamClient client = StreamClient.create(stack.vertx);
    ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(request("Slowly", 4096))
        .putHeader("x-sim-tokens-per-second", "20").putHeader("x-sim-output-tokens", "1000")));
    Reader reader = new Reader(stream);
    TestStack.await(client.close());
    Throwable failure = reader.failed.get(10, TimeUnit.SECONDS);
    assertEquals("the stream client was closed", failure.getMessage());
    Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1, "the simulator to see the cancel");
    ClaudeStreamException refused = failureOf(client.messages(StreamRequest.of(request("More?", 64))));
    assertEquals("the stream client is closed", refused.getMessage());
  }

  @Test
  void aRequestBodyMustBeAJsonObjectAndKeysNeverGoUpstream() {
    assertThrowsIllegal(() -> StreamRequest.of(Buffer.buffer("[1,2]")));
    assertThrowsIllegal(() -> StreamRequest.of(Buffer.buffer("{nope")));
    assertThrowsIllegal(() -> StreamRequest.of(new JsonObject()).putHeader("x-api-key", "sk-ant-…"));
    assertThrowsIllegal(() -> StreamRequest.of(new JsonObject()).putHeader("authorization", "Bearer x"));
    assertEquals("{\"stream\":true, \"a\":1}",
        StreamRequest.of(Buffer.buffer("{\"stream\":true, \"a\":1}")).body().toString(), "sent byte for byte");
    assertTrue(StreamRequest.of(Buffer.buffer("{\"a\":1}")).body().toJsonObject().getBoolean("stream"));
  }

  private static void assertThrowsIllegal(Runnable action) {
    try {
      action.run();
    } catch (IllegalArgumentException expected) {
      return;
    }
    throw new AssertionError("no IllegalArgumentException");
  }

  private static JsonObject nextFor(LinkedBlockingQueue<JsonObject> outcomes, String stream)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    while (System.currentTimeMillis() < deadline) {
      JsonObject next = outcomes.poll(100, TimeUnit.MILLISECONDS);
      if (next != null && stream.equals(next.getString("stream"))) {
        return next;
      }
    }
    throw new AssertionError("no usage record for " + stream);
  }

  static ClaudeStreamException failureOf(Future<ClaudeStream> start) throws InterruptedException {
    AtomicReference<Throwable> failure = new AtomicReference<>();
    try {
      start.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      failure.set(e.getCause());
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the start neither failed nor succeeded");
    }
    assertTrue(failure.get() instanceof ClaudeStreamException, "failed with " + failure.get());
    return (ClaudeStreamException) failure.get();
  }
}
