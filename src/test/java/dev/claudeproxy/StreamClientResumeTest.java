package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.ResumeTest.Metrics;
import dev.claudeproxy.StreamClientTest.Reader;
import dev.claudeproxy.internal.client.ClaudeStreamImpl;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link StreamClient} resumes too (issue 24): a resumable stream let go part-way is followed again from its position,
 * by another client, and joins to an uninterrupted run of the same (deterministic) simulator reply; several readers at
 * once each read at their own pace; refused follows fail with the HTTP side's statuses; a stop ends the stream for
 * every reader; a plain stream let go is cancelled at once. Nothing between the clients and the workers but the bus.
 */
class StreamClientResumeTest {
  private static final int GRACE_MS = 3_000;
  /** Often, so that a fault of the workers' owner checks shows within a test. */
  private static final int CHECK_MS = 200;
  /** A short paced reply: 30 tokens at 20 a second, so a reader lets it go while the upstream still generates. */
  private static final Map<String, String> PACED = Map.of("x-sim-output-tokens", "30", "x-sim-tokens-per-second", "20");
  /** The same reply as fast as it goes: the uninterrupted run it is compared with. */
  private static final Map<String, String> FAST = Map.of("x-sim-output-tokens", "30");
  /** A reply that would take 30 s: it is still generating whenever the test looks. */
  private static final Map<String, String> LONG = Map.of("x-sim-output-tokens", "300", "x-sim-tokens-per-second", "10");

  private static TestStack stack;
  private static SimulatorStats stats;
  private final List<StreamClient> clients = new ArrayList<>();

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("PROXY_RESUME_GRACE_MS", GRACE_MS, "PROXY_RESUME_BUFFER_BYTES", 16 << 20,
        "PROXY_WORKER_CHECK_MS", CHECK_MS));
    stats = stack.simulator.stats();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  /** Closes the test's clients; nothing a test started runs on into the next one's counters. */
  @AfterEach
  void noStreamLeftOpen() throws InterruptedException {
    clients.forEach(c -> TestStack.await(c.close()));
    Wire.waitFor(() -> stats.streamsOpen() == 0, "every upstream stream to end", Duration.ofMillis(GRACE_MS + 20_000));
  }

  /** A client of {@code user}, closed after the test. */
  private StreamClient client(String user) {
    return client(new StreamClientOptions().setUser(user));
  }

  private StreamClient client(StreamClientOptions options) {
    StreamClient client = StreamClient.create(stack.vertx, options);
    clients.add(client);
    return client;
  }

  /** A request for {@code prompt}, with the simulator's {@code x-sim-*} headers. */
  static StreamRequest request(String prompt, Map<String, String> simulator) {
    return request(prompt, 1000, simulator);
  }

  private static StreamRequest request(String prompt, int maxTokens, Map<String, String> simulator) {
    StreamRequest request = StreamRequest.of(new JsonObject().put("model", "claude-sonnet-4-6")
        .put("max_tokens", maxTokens)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt))));
    simulator.forEach(request::putHeader);
    return request;
  }

  /** Three text deltas read: inside a text block, while the paced upstream still generates. */
  private static final Predicate<List<ClaudeStreamEvent>> INSIDE_A_TEXT_BLOCK = events -> events.stream()
      .filter(e -> "content_block_delta".equals(e.name()) && e.raw().toString().contains("\"text_delta\""))
      .count() == 3;

  /** How an application lets a resumable stream go without stopping it. */
  enum LetGo {
    DETACH,
    CLOSE_THE_CLIENT
  }

  @ParameterizedTest
  @EnumSource(LetGo.class)
  void aResumableStreamLetGoIsFollowedFromItsPositionToTheBytesOfAnUninterruptedRun(LetGo how) throws Exception {
    long completed = stats.streamsCompleted();
    long cancelled = stats.streamsCancelled();
    double detaches = stack.metric(Metrics.DETACHES);
    StreamClient first = client("alice");
    ClaudeStream stream = TestStack.await(first.messages(request("let go " + how, PACED).setResumable(true)));
    CompletableFuture<Void> letGo = new CompletableFuture<>();
    Reader cut = new Reader(stream, INSIDE_A_TEXT_BLOCK, () -> {
      if (how == LetGo.DETACH) {
        stream.detach();
      } else {
        first.close();
      }
      letGo.complete(null);
    });
    letGo.get(10, TimeUnit.SECONDS);
    if (how == LetGo.CLOSE_THE_CLIENT) {
      // A closed client fails its streams locally, after the events it had already received.
      assertEquals("the stream client was closed", cut.failed.get(10, TimeUnit.SECONDS).getMessage());
    }
    List<String> had = cut.withoutPings();
    assertEquals(had.size(), stream.position(), "the position counts the events handed out, pings not");
    Thread.sleep(200);
    assertEquals(had, cut.withoutPings(), "nothing more once let go");
    assertFalse(cut.ended.isDone(), "no end");
    assertEquals(how == LetGo.CLOSE_THE_CLIENT, cut.failed.isDone(), "a failure only when the client closed");

    ClaudeStream resumed = TestStack.await(client("alice").follow(stream.id(), stream.position()));
    assertEquals(stream.id(), resumed.id());
    assertEquals(stream.position(), resumed.position(), "a follower starts at the position it asked for");
    Reader rest = new Reader(resumed);
    rest.awaitEnd();
    assertEquals(stream.position() + rest.withoutPings().size(), resumed.position());
    assertEquals("completed", resumed.summary().getString("outcome"), resumed.summary().encode());
    assertTrue(rest.withoutPings().get(0).contains("\"text_delta\""), "the text block goes on: " + rest.events);

    List<String> joined = new ArrayList<>(had);
    joined.addAll(rest.withoutPings());
    assertEquals(StreamCut.text(uninterrupted("let go " + how)), StreamCut.text(joined),
        "what the first client had and the resumed rest, against an uninterrupted run");
    assertEquals(completed + 2, stats.streamsCompleted(), "the stream let go ran to its end, as did the reference");
    assertEquals(cancelled, stats.streamsCancelled(), "a resumable stream let go is not cancelled");
    assertEquals(detaches + 1, stack.metric(Metrics.DETACHES));
  }

  /** The same request read whole, as fast as it goes, pings left out. */
  private List<String> uninterrupted(String prompt) throws Exception {
    ClaudeStream whole = TestStack.await(client("alice").messages(request(prompt, FAST)));
    Reader reader = new Reader(whole);
    reader.awaitEnd();
    return reader.withoutPings();
  }

  @Test
  void withoutAPositionAFollowerGetsTheStreamFromItsStart() throws Exception {
    ClaudeStream own = TestStack.await(client("alice").messages(request("from the start", PACED).setResumable(true)));
    Reader ownReader = new Reader(own, INSIDE_A_TEXT_BLOCK, own::detach);
    Wire.waitFor(() -> INSIDE_A_TEXT_BLOCK.test(ownReader.events), "three text deltas");
    ClaudeStream all = TestStack.await(client("alice").follow(own.id()));
    assertEquals(0, all.position());
    Reader reader = new Reader(all);
    reader.awaitEnd();
    assertEquals(ownReader.withoutPings(), reader.withoutPings().subList(0, ownReader.withoutPings().size()),
        "the same events the own client had, message id too");
    assertEquals(StreamCut.text(uninterrupted("from the start")), StreamCut.text(reader.withoutPings()));
    assertEquals(own.headers().getString("request-id"), all.headers().getString("request-id"), "the stream's head");
  }

  /**
   * Two followers at once and the stream's own client: each gets every event; the one that does not read holds back
   * only itself (its own credits), so the others and the upstream run to the end while it waits.
   */
  @Test
  void twoFollowersAtOnceOneSlowBothGetEveryEventAndTheFastOneIsNotHeldBack() throws Exception {
    int window = 8 * 1024;
    StreamClientOptions options = new StreamClientOptions().setUser("alice").setCreditWindowBytes(window);
    Map<String, String> big = Map.of("x-sim-output-tokens", "5000", "x-sim-ttft-ms", "500");
    ClaudeStream own = TestStack.await(client(options).messages(request("two readers", 8000, big).setResumable(true)));
    ClaudeStream fast = TestStack.await(client(options).follow(own.id(), 0L));
    ClaudeStream slow = TestStack.await(client(options).follow(own.id(), 0L));
    Reader slowReader = new Reader(slow, events -> events.size() == 1, slow::pause);
    Reader fastReader = new Reader(fast);
    Reader ownReader = new Reader(own);
    ownReader.awaitEnd();
    fastReader.awaitEnd();
    List<String> expected = ownReader.withoutPings();
    assertTrue(expected.size() > 5000, "every delta: " + expected.size());
    assertEquals(expected, fastReader.withoutPings(), "the fast follower, done while the slow one waits");
    Thread.sleep(200);
    assertEquals(1, slowReader.events.size(), "the slow follower took one event and paused");
    assertFalse(slowReader.ended.isDone());
    long buffered = ((ClaudeStreamImpl) slow).bufferedBytes();
    assertTrue(buffered <= 2 * window, "the paused follower holds no more than its credits: " + buffered);
    slow.resume();
    slowReader.awaitEnd();
    assertEquals(expected, slowReader.withoutPings(), "the slow follower gets every event too");
    assertEquals(expected.size(), slow.position());
  }

  @Test
  void refusedFollowsFailWithTheirStatus() throws Exception {
    StreamClient alice = client("alice");
    assertStatus(404, "not_found_error", alice.follow("no-such-stream-at-all", 0L));
    assertStatus(404, "not_found_error", alice.stop("no-such-stream-at-all"));
    ClaudeStream whole = TestStack.await(alice.messages(request("the very end", FAST).setResumable(true)));
    Reader reader = new Reader(whole);
    reader.awaitEnd();
    long end = whole.position();
    assertEquals(reader.withoutPings().size(), end);

    assertStatus(400, "invalid_request_error", alice.follow(whole.id(), end + 1));
    assertStatus(400, "invalid_request_error", alice.follow(whole.id(), -1L));
    ClaudeStream atTheEnd = TestStack.await(alice.follow(whole.id(), end));
    Reader nothingMore = new Reader(atTheEnd);
    nothingMore.awaitEnd();
    assertEquals(List.of(), nothingMore.withoutPings(), "a position at the end gives nothing more, then the end");
    ClaudeStream last = TestStack.await(alice.follow(whole.id(), end - 1));
    Reader lastReader = new Reader(last);
    lastReader.awaitEnd();
    assertEquals(reader.withoutPings().subList((int) end - 1, (int) end), lastReader.withoutPings());

    assertStatus(404, "not_found_error", client("bob").follow(whole.id(), 0L));
    assertStatus(404, "not_found_error", client("bob").stop(whole.id()));
    ClaudeStream byAdmin = TestStack.await(client(new StreamClientOptions().setUser("ops").setAdmin(true))
        .follow(whole.id(), 0L));
    Reader adminReader = new Reader(byAdmin);
    adminReader.awaitEnd();
    assertEquals(reader.withoutPings(), adminReader.withoutPings(), "an admin may read anyone's stream");
  }

  @Test
  void eventsThatFellOutOfASmallBufferAre410() throws Exception {
    try (TestStack small = TestStack.start(Map.of("PROXY_RESUME_BUFFER_BYTES", 4096))) {
      StreamClient client = StreamClient.create(small.vertx, new StreamClientOptions().setUser("alice"));
      try {
        ClaudeStream whole = TestStack.await(client.messages(request("a buffer too small",
            Map.of("x-sim-output-tokens", "200")).setResumable(true)));
        Reader reader = new Reader(whole);
        reader.awaitEnd();
        assertStatus(410, "invalid_request_error", client.follow(whole.id(), 0L));
        ClaudeStream oldest = TestStack.await(client.follow(whole.id()));
        int from = (int) oldest.position();
        assertTrue(from > 0, "without a position: from the oldest event kept, not the start");
        Reader kept = new Reader(oldest);
        kept.awaitEnd();
        List<String> all = reader.withoutPings();
        assertEquals(all.subList(from, all.size()), kept.withoutPings());
        assertEquals(all.size(), oldest.position());
      } finally {
        TestStack.await(client.close());
      }
    }
  }

  @Test
  void aStopEndsTheStreamForEveryReaderWithAnErrorAndCancelsTheUpstream() throws Exception {
    long cancelled = stats.streamsCancelled();
    double stops = stack.metric(Metrics.STOPS);
    ClaudeStream own = TestStack.await(client("alice").messages(request("stop me", LONG).setResumable(true)));
    Reader ownReader = new Reader(own);
    ClaudeStream follower = TestStack.await(client("alice").follow(own.id(), 0L));
    Reader followerReader = new Reader(follower);
    Wire.waitFor(() -> !followerReader.events.isEmpty(), "the follower's first event");
    long stoppedAt = System.nanoTime();
    TestStack.await(client("alice").stop(own.id()));
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the simulator to see the cancel");
    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt) < GRACE_MS, "at once");
    for (Reader reader : List.of(ownReader, followerReader)) {
      Throwable failure = reader.failed.get(10, TimeUnit.SECONDS);
      assertTrue(failure instanceof ClaudeStreamException, String.valueOf(failure));
      assertEquals("api_error", ((ClaudeStreamException) failure).type());
      assertFalse(reader.ended.isDone());
    }
    assertEquals(stops + 1, stack.metric(Metrics.STOPS));
  }

  /** cancel() is the explicit stop: on the own client of a resumable stream, and on a follower, it stops at once. */
  @Test
  void cancelStopsAtOnceEvenAResumableStreamAndFromAFollower() throws Exception {
    long cancelled = stats.streamsCancelled();
    double detaches = stack.metric(Metrics.DETACHES);
    ClaudeStream own = TestStack.await(client("alice").messages(request("cancel me", LONG).setResumable(true)));
    Reader ownReader = new Reader(own, events -> events.size() == 2, own::cancel);
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the simulator to see the cancel");

    ClaudeStream other = TestStack.await(client("alice").messages(request("cancel me too", LONG).setResumable(true)));
    Reader otherReader = new Reader(other);
    ClaudeStream follower = TestStack.await(client("alice").follow(other.id()));
    new Reader(follower, events -> events.size() == 2, follower::cancel);
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 2, "the simulator to see the follower's stop");
    assertTrue(otherReader.failed.get(10, TimeUnit.SECONDS) instanceof ClaudeStreamException);
    Thread.sleep(100);
    assertFalse(ownReader.ended.isDone() || ownReader.failed.isDone(), "a cancelled stream neither ends nor fails");
    assertEquals(detaches, stack.metric(Metrics.DETACHES), "nothing detached");
  }

  @Test
  void aPlainStreamLetGoIsCancelledAtOnce() throws Exception {
    long cancelled = stats.streamsCancelled();
    double detaches = stack.metric(Metrics.DETACHES);
    ClaudeStream plain = TestStack.await(client("alice").messages(request("not resumable", LONG)));
    long[] letGoAt = new long[1];
    new Reader(plain, INSIDE_A_TEXT_BLOCK, () -> {
      letGoAt[0] = System.nanoTime();
      plain.detach();
    });
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the upstream cancel");
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - letGoAt[0]);
    assertTrue(waited < GRACE_MS, "cancelled " + waited + " ms after it was let go: not at once");
    assertEquals(detaches, stack.metric(Metrics.DETACHES), "nothing detached");
    assertStatus(404, "not_found_error", client("alice").follow(plain.id(), 0L));
  }

  /**
   * A detach is counted once: its client then closing (its inbox gone, which the workers' owner checks find again
   * and again) is the same detach, not another.
   */
  @Test
  void aDetachIsCountedOnceWhateverTheOwnerChecksFindAfterwards() throws Exception {
    double detaches = stack.metric(Metrics.DETACHES);
    StreamClient first = client("alice");
    ClaudeStream stream = TestStack.await(first.messages(request("counted once", LONG).setResumable(true)));
    new Reader(stream, events -> events.size() == 2, stream::detach);
    Wire.waitFor(() -> stack.metric(Metrics.DETACHES) == detaches + 1, "the detach to be counted");
    TestStack.await(first.close());
    Thread.sleep(10L * CHECK_MS);
    assertEquals(detaches + 1, stack.metric(Metrics.DETACHES), "one detach, however many owner checks ran");
  }

  /** Waits for {@code refused} to fail with a {@link ClaudeStreamException} of {@code status} and {@code type}. */
  static void assertStatus(int status, String type, io.vertx.core.Future<?> refused)
      throws InterruptedException {
    Throwable failure;
    try {
      refused.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      throw new AssertionError("succeeded; expected " + status);
    } catch (java.util.concurrent.ExecutionException e) {
      failure = e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("neither failed nor succeeded; expected " + status);
    }
    assertTrue(failure instanceof ClaudeStreamException, "failed with " + failure);
    assertEquals(status, ((ClaudeStreamException) failure).status(), failure.toString());
    assertEquals(type, ((ClaudeStreamException) failure).type(), failure.toString());
  }
}
