package dev.claudeproxy;

import static dev.claudeproxy.StreamCut.headers;
import static dev.claudeproxy.StreamCut.last;
import static dev.claudeproxy.StreamCut.resumable;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.core.http.HttpResponseFor;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.claudeproxy.StreamCut.Endpoint;
import dev.claudeproxy.StreamCut.Where;
import dev.claudeproxy.internal.load.LoadConfig;
import dev.claudeproxy.internal.load.LoadGenerator;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Resumable and shared streams from the outside: a stream cut at each kind of place and resumed on
 * {@code /v1/streams/{id}} joins to the bytes of an uninterrupted run of the same (deterministic) simulator reply;
 * positions, users and expiry give 400, 404 and 410; several readers at once, one of them not reading, each get
 * everything; a disconnected resumable stream goes on for the grace time, then is cancelled; an explicit stop cancels
 * at once. The simulator's counters and {@code /metrics} show what happened upstream and inside.
 */
class ResumeTest {
  private static final int GRACE_MS = 3_000;
  private static final String ALICE = ApiKeys.generate();
  private static final String BOB = ApiKeys.generate();
  private static final String OPS = ApiKeys.generate();
  /** A short paced reply: 30 tokens at 20 a second, so a cut lands while the upstream still generates. */
  private static final Map<String, String> PACED = Map.of("x-sim-output-tokens", "30", "x-sim-tokens-per-second", "20");
  /** The same reply as fast as it goes: the uninterrupted run it is compared with. */
  private static final Map<String, String> FAST = Map.of("x-sim-output-tokens", "30");
  /** A reply that would take 30 s: it is still generating whenever the test looks. */
  private static final Map<String, String> LONG = Map.of("x-sim-output-tokens", "300", "x-sim-tokens-per-second", "10");
  private static final String MODEL = "claude-sonnet-4-6";

  private static TestStack stack;
  private static SimulatorStats stats;

  @BeforeAll
  static void start() throws IOException {
    stack = TestStack.start(Map.of("PROXY_USERS", usersFile().toString(), "PROXY_RESUME_GRACE_MS", GRACE_MS,
        "PROXY_RESUME_BUFFER_BYTES", 16 << 20, "PROXY_STREAM_CREDIT_BYTES", 16384));
    stats = stack.simulator.stats();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  /** Nothing a test started runs on into the next one's counters (a detached stream lives for the grace time). */
  @AfterEach
  void noStreamLeftOpen() throws InterruptedException {
    Wire.waitFor(() -> stats.streamsOpen() == 0, "every upstream stream to end", Duration.ofMillis(GRACE_MS + 20_000));
  }

  /** alice and bob are users; ops is an admin. */
  private static Path usersFile() throws IOException {
    JsonArray users = new JsonArray();
    for (var user : Map.of("alice", ALICE, "bob", BOB, "ops", OPS).entrySet()) {
      JsonObject u = new JsonObject().put("id", user.getKey()).put("keys", new JsonArray().add(ApiKeys.hash(
          user.getValue())));
      users.add(user.getKey().equals("ops") ? u.put("admin", true) : u);
    }
    Path file = Files.createTempDirectory("csp-resume").resolve("users.json");
    Files.writeString(file, new JsonObject().put("users", users).encode());
    return file;
  }

  // ---- where a stream is cut, and how the reader names the position ----

  /** How a reader says where it resumes. */
  enum Naming {
    AFTER_QUERY,
    LAST_EVENT_ID;

    String query(int position) {
      return this == AFTER_QUERY ? "?after=" + position : "";
    }

    Map<String, String> headers(String key, int position) {
      Map<String, String> h = new LinkedHashMap<>(auth(key));
      if (this == LAST_EVENT_ID) {
        h.put("last-event-id", Integer.toString(position));
      }
      return h;
    }
  }

  static Stream<Arguments> messagesCuts() {
    return Stream.of(Where.values()).flatMap(c -> Stream.of(Naming.values()).map(n -> Arguments.of(c, n)));
  }

  static Stream<Arguments> chatCuts() {
    return messagesCuts().filter(a -> a.get()[0] != Where.INSIDE_A_TOOL_INPUT);
  }

  @ParameterizedTest(name = "{0}, resumed by {1}")
  @MethodSource("messagesCuts")
  void aMessagesStreamCutAnywhereResumesToTheBytesOfAnUninterruptedRun(Where where, Naming naming) throws Exception {
    String body = where == Where.INSIDE_A_TOOL_INPUT ? toolBody("weather " + naming) : textBody(where + " " + naming);
    cutResumeAndCompare(Endpoint.MESSAGES, body, where, naming);
  }

  @ParameterizedTest(name = "{0}, resumed by {1}")
  @MethodSource("chatCuts")
  void aChatStreamCutAnywhereResumesToTheBytesOfAnUninterruptedRun(Where where, Naming naming) throws Exception {
    cutResumeAndCompare(Endpoint.CHAT, chatBody(where + " " + naming), where, naming);
  }

  private static void cutResumeAndCompare(Endpoint endpoint, String body, Where where, Naming naming)
      throws Exception {
    Map<String, String> pace = new LinkedHashMap<>(PACED);
    if (where == Where.BEFORE_FIRST_TOKEN) {
      pace.put("x-sim-ttft-ms", "1500"); // the first token is still on its way when the client goes
    }
    StreamCut cut = StreamCut.cut(stack.proxyUrl(), endpoint.path, resumable(ALICE, pace), body, where.on(endpoint));
    if (endpoint == Endpoint.CHAT) {
      assertTrue(last(cut.received()).startsWith("id: " + cut.position() + "\n"),
          "a chat event's id is its position: " + last(cut.received()));
    }
    List<String> rest;
    try (SseSocket resumed = StreamCut.follow(stack.proxyUrl(), cut.id(), naming.query(cut.position()),
        naming.headers(ALICE, cut.position()))) {
      assertEquals(200, resumed.status(), () -> "resume: " + body(resumed));
      assertEquals(cut.id(), resumed.header("x-stream-id"));
      assertEquals(Integer.toString(cut.position()), resumed.header("x-stream-position"));
      assertTrue(resumed.header("content-type").startsWith("text/event-stream"), resumed.header("content-type"));
      rest = Wire.withoutPings(resumed.rest());
    }
    where.checkRest(endpoint, cut.received(), rest);
    List<String> reference = StreamCut.whole(stack.proxyUrl(), endpoint.path, headers(ALICE, FAST), body);
    assertEquals(StreamCut.text(reference), StreamCut.text(cut.then(rest)),
        "what the client had and the resumed rest, against an uninterrupted run");
  }

  /** The official SDK counts the events it was given (pings are not among them): that count is where it resumes. */
  @Test
  void anSdkClientThatLostItsStreamResumesAfterTheEventsItCounted() throws Exception {
    AnthropicClient sdk = TestStack.sdk(stack.proxyUrl(), ALICE, 0);
    MessageCreateParams whole = MessageCreateParams.builder().model(MODEL).maxTokens(1000)
        .addUserMessage("The SDK drops out").putAdditionalHeader("x-sim-output-tokens", "30").build();
    MessageCreateParams cut = whole.toBuilder().putAdditionalHeader("x-stream-resumable", "true")
        .putAdditionalHeader("x-sim-tokens-per-second", "20").build();
    StringBuilder text = new StringBuilder();
    int counted = 0;
    String id;
    try (HttpResponseFor<StreamResponse<RawMessageStreamEvent>> raw = sdk.messages().withRawResponse()
        .createStreaming(cut);
        StreamResponse<RawMessageStreamEvent> events = raw.parse()) {
      id = raw.headers().values("x-stream-id").get(0);
      Iterator<RawMessageStreamEvent> it = events.stream().iterator();
      for (int deltas = 0; deltas < 3; ) {
        counted++;
        if (textOf(it.next()).map(text::append).isPresent()) {
          deltas++;
        }
      }
    }
    List<String> rest;
    try (SseSocket resumed = StreamCut.follow(stack.proxyUrl(), id, "?after=" + counted, auth(ALICE))) {
      assertEquals(200, resumed.status(), () -> body(resumed));
      rest = Wire.withoutPings(resumed.rest());
    }
    for (String event : rest) {
      if (Endpoint.MESSAGES.isText(event)) {
        text.append(new JsonObject(event.substring(event.indexOf("data: ") + 6).trim()).getJsonObject("delta")
            .getString("text"));
      }
    }
    assertTrue(last(rest).startsWith("event: message_stop\n"), last(rest));
    StringBuilder uninterrupted = new StringBuilder();
    try (StreamResponse<RawMessageStreamEvent> events = sdk.messages().createStreaming(whole)) {
      events.stream().forEach(e -> textOf(e).ifPresent(uninterrupted::append));
    }
    assertEquals(uninterrupted.toString(), text.toString());
  }

  private static Optional<String> textOf(RawMessageStreamEvent event) {
    return event.contentBlockDelta().flatMap(d -> d.delta().text()).map(t -> t.text());
  }

  @Test
  void withoutAPositionAReaderGetsTheStreamFromItsStart() throws Exception {
    String body = textBody("from the start");
    StreamCut cut = StreamCut.cut(stack.proxyUrl(), "/v1/messages", resumable(ALICE, PACED), body,
        Where.INSIDE_A_TEXT_BLOCK.on(Endpoint.MESSAGES));
    try (SseSocket all = StreamCut.follow(stack.proxyUrl(), cut.id(), "", auth(ALICE))) {
      assertEquals(200, all.status(), () -> body(all));
      assertEquals("0", all.header("x-stream-position"));
      List<String> reference = StreamCut.whole(stack.proxyUrl(), "/v1/messages", headers(ALICE, FAST), body);
      List<String> got = Wire.withoutPings(all.rest());
      assertEquals(cut.received(), got.subList(0, cut.position()), "the same events the client had, message id too");
      assertEquals(StreamCut.text(reference), StreamCut.text(got));
    }
  }

  @Test
  void theAfterQueryWinsOverLastEventId() throws Exception {
    String body = textBody("both given");
    StreamCut whole = StreamCut.finished(stack.proxyUrl(), "/v1/messages", resumable(ALICE, FAST), body);
    List<String> events = whole.received();
    String id = whole.id();
    try (SseSocket resumed = StreamCut.follow(stack.proxyUrl(), id, "?after=" + (events.size() - 2),
        Map.of("x-api-key", ALICE, "last-event-id", "1"))) {
      assertEquals(200, resumed.status(), () -> body(resumed));
      assertEquals(Integer.toString(events.size() - 2), resumed.header("x-stream-position"));
      assertEquals(events.subList(events.size() - 2, events.size()), Wire.withoutPings(resumed.rest()));
    }
  }

  @Test
  void aPositionAtTheEndGivesNothingMoreAndOneBeyondIs400() throws Exception {
    StreamCut whole = StreamCut.finished(stack.proxyUrl(), "/v1/messages", resumable(ALICE, FAST),
        textBody("the very end"));
    List<String> events = whole.received();
    String id = whole.id();
    double ahead = metric(Metrics.RESUMES_AHEAD);
    try (SseSocket atEnd = StreamCut.follow(stack.proxyUrl(), id, "?after=" + events.size(), auth(ALICE))) {
      assertEquals(200, atEnd.status(), () -> body(atEnd));
      assertEquals(List.of(), Wire.withoutPings(atEnd.rest()));
    }
    assertError(400, "invalid_request_error", get(ALICE, id, "?after=" + (events.size() + 1), Map.of()));
    assertError(400, "invalid_request_error",
        get(ALICE, id, "", Map.of("last-event-id", Integer.toString(events.size() + 1))));
    assertError(400, "invalid_request_error", get(ALICE, id, "?after=ten", Map.of()));
    assertEquals(ahead + 2, metric(Metrics.RESUMES_AHEAD), "the two positions beyond the end");
  }

  @Test
  void eventsThatFellOutOfASmallBufferAre410AndTheRestIsStillThere() throws Exception {
    try (TestStack small = TestStack.start(Map.of("PROXY_USERS", usersFile().toString(),
        "PROXY_RESUME_BUFFER_BYTES", 4096))) {
      String body = textBody("a buffer too small");
      Map<String, String> longer = Map.of("x-sim-output-tokens", "200");
      StreamCut whole = StreamCut.finished(small.proxyUrl(), "/v1/messages", resumable(ALICE, longer), body);
      List<String> events = whole.received();
      String id = whole.id();
      assertTrue(StreamCut.text(events).length() > 4 * 4096, "the stream is larger than the buffer");
      assertError(410, null, getFrom(small, ALICE, id, "?after=0", Map.of()));
      try (SseSocket oldest = StreamCut.follow(small.proxyUrl(), id, "", auth(ALICE))) {
        assertEquals(200, oldest.status(), () -> body(oldest));
        int from = Integer.parseInt(oldest.header("x-stream-position"));
        assertTrue(from > 0, "without a position: from the oldest event kept, not the start");
        assertEquals(events.subList(from, events.size()), Wire.withoutPings(oldest.rest()));
      }
      try (SseSocket last = StreamCut.follow(small.proxyUrl(), id, "?after=" + (events.size() - 1), auth(ALICE))) {
        assertEquals(200, last.status(), () -> body(last));
        assertEquals(List.of(last(events)), Wire.withoutPings(last.rest()));
      }
    }
  }

  @Test
  void aFinishedStreamIs404OnceItsTimeToLiveHasPassed() throws Exception {
    try (TestStack shortLived = TestStack.start(Map.of("PROXY_USERS", usersFile().toString(),
        "PROXY_RESUME_TTL_MS", 1500))) {
      String id = StreamCut.finished(shortLived.proxyUrl(), "/v1/messages", resumable(ALICE, FAST),
          textBody("short-lived")).id();
      assertEquals(200, getFrom(shortLived, ALICE, id, "?after=0", Map.of()).statusCode(), "readable once ended");
      Wire.waitFor(() -> getFrom(shortLived, ALICE, id, "?after=0", Map.of()).statusCode() == 404,
          "the stream to expire", Duration.ofSeconds(20));
      assertError(404, "not_found_error", getFrom(shortLived, ALICE, id, "?after=0", Map.of()));
    }
  }

  @Test
  void anUnknownStreamIs404() {
    double notFound = metric(Metrics.RESUMES_NOT_FOUND);
    assertError(404, "not_found_error", get(ALICE, "req_011CNoSuchStreamAtAll0000", "", Map.of()));
    assertError(404, "not_found_error", delete(ALICE, "req_011CNoSuchStreamAtAll0000"));
    assertEquals(notFound + 1, metric(Metrics.RESUMES_NOT_FOUND));
  }

  @Test
  void anotherUsersStreamIs404ToReadAndToStopWhileAnAdminMayReadIt() throws Exception {
    long cancelled = stats.streamsCancelled();
    String body = textBody("mine alone");
    try (SseSocket own = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", resumable(ALICE, PACED), body)) {
      String id = own.header("x-stream-id");
      assertError(404, "not_found_error", get(BOB, id, "?after=0", Map.of()));
      assertError(404, "not_found_error", delete(BOB, id));
      List<String> seenByAdmin;
      try (SseSocket admin = StreamCut.follow(stack.proxyUrl(), id, "?after=0", auth(OPS))) {
        assertEquals(200, admin.status(), () -> body(admin));
        seenByAdmin = Wire.withoutPings(admin.rest());
      }
      List<String> seenByOwner = Wire.withoutPings(own.rest());
      assertTrue(last(seenByOwner).startsWith("event: message_stop\n"), "bob's stop did nothing: " + last(seenByOwner));
      assertEquals(seenByOwner, seenByAdmin);
    }
    assertEquals(cancelled, stats.streamsCancelled());
  }

  @ParameterizedTest(name = "{0} readers")
  @ValueSource(ints = {2, 10})
  void readersAtOnceEachGetEverythingWhileOneDoesNotRead(int readers) throws Exception {
    long completed = stats.streamsCompleted();
    long cancelled = stats.streamsCancelled();
    JsonObject usageBefore = usage(ALICE);
    // 60,000 tokens are ~6 MB: more than a reader's socket buffers and credit window hold, less than the replay buffer.
    String body = largeBody("readers " + readers, 64000);
    Map<String, String> big = Map.of("x-sim-output-tokens", "60000", "x-sim-ttft-ms", "1000");
    ExecutorService pool = Executors.newCachedThreadPool();
    try (SseSocket own = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", resumable(ALICE, big), body);
        SseSocket slow = StreamCut.follow(stack.proxyUrl(), own.header("x-stream-id"), "?after=0", auth(ALICE),
            4096)) {
      assertEquals(200, slow.status(), () -> body(slow));
      List<CompletableFuture<List<String>>> reads = new ArrayList<>(List.of(readAll(own, pool)));
      for (int i = 1; i < readers; i++) {
        reads.add(readAll(StreamCut.follow(stack.proxyUrl(), own.header("x-stream-id"), "?after=0", auth(ALICE)),
            pool));
      }
      List<String> expected = reads.get(0).get(60, TimeUnit.SECONDS);
      assertTrue(last(expected).startsWith("event: message_stop\n"), last(expected));
      for (CompletableFuture<List<String>> read : reads) {
        assertEquals(expected, read.get(60, TimeUnit.SECONDS), "a reader that reads, done while one does not");
      }
      Wire.waitFor(() -> metric(Metrics.SUBSCRIBERS) == 1, "only the slow reader to be left subscribed (if it is "
          + "not, it was never held back: make the stream larger)", Duration.ofSeconds(20));
      assertEquals(expected, Wire.withoutPings(slow.rest()), "the slow reader gets everything too");
      Wire.waitFor(() -> metric(Metrics.SUBSCRIBERS) == 0, "no reader left", Duration.ofSeconds(10));
    } finally {
      pool.shutdownNow();
    }
    assertEquals(completed + 1, stats.streamsCompleted());
    assertEquals(cancelled, stats.streamsCancelled());
    Wire.waitFor(() -> usage(ALICE).getLong("requests") == usageBefore.getLong("requests") + 1,
        "the stream's usage", Duration.ofSeconds(10));
    JsonObject after = usage(ALICE);
    assertEquals(usageBefore.getLong("output_tokens") + 60_000, after.getLong("output_tokens"),
        "usage counted once, not once per reader");
  }

  @Test
  void aDetachedStreamKeepsGeneratingWithNoReaderAndALateReaderGetsAllOfIt() throws Exception {
    long completed = stats.streamsCompleted();
    long cancelled = stats.streamsCancelled();
    double detaches = metric(Metrics.DETACHES);
    double resumes = metric(Metrics.RESUMES);
    JsonObject usageBefore = usage(ALICE);
    String body = textBody("nobody is reading");
    StreamCut cut = StreamCut.cut(stack.proxyUrl(), "/v1/messages", resumable(ALICE, PACED), body,
        Where.INSIDE_A_TEXT_BLOCK.on(Endpoint.MESSAGES));
    Wire.waitFor(() -> stats.streamsCompleted() == completed + 1, "the upstream to run to its end with no reader",
        Duration.ofSeconds(GRACE_MS / 1000 + 10));
    assertEquals(cancelled, stats.streamsCancelled(), "a resumable stream is not cancelled on disconnect");
    assertEquals(detaches + 1, metric(Metrics.DETACHES));
    List<String> rest;
    try (SseSocket resumed = StreamCut.follow(stack.proxyUrl(), cut.id(), "?after=" + cut.position(),
        auth(ALICE))) {
      assertEquals(200, resumed.status(), () -> body(resumed));
      rest = Wire.withoutPings(resumed.rest());
    }
    assertEquals(resumes + 1, metric(Metrics.RESUMES));
    Wire.waitFor(() -> usage(ALICE).getLong("requests") == usageBefore.getLong("requests") + 1,
        "the stream's usage", Duration.ofSeconds(10));
    assertEquals(usageBefore.getLong("output_tokens") + 30, usage(ALICE).getLong("output_tokens"),
        "the detached stream's usage, counted once however it was read");
    List<String> reference = StreamCut.whole(stack.proxyUrl(), "/v1/messages", headers(ALICE, FAST), body);
    assertEquals(StreamCut.text(reference), StreamCut.text(cut.then(rest)));
  }

  @Test
  void aDetachedStreamWithNoReaderIsCancelledAfterTheGraceAndItsUsageRecorded() throws Exception {
    long cancelled = stats.streamsCancelled();
    double expiries = metric(Metrics.GRACE_EXPIRIES);
    JsonObject usageBefore = usage(ALICE);
    long[] cutAt = new long[1];
    StreamCut.cut(stack.proxyUrl(), "/v1/messages", resumable(ALICE, LONG), textBody("left alone"), events -> {
      cutAt[0] = System.nanoTime();
      return Where.INSIDE_A_TEXT_BLOCK.on(Endpoint.MESSAGES).test(events);
    });
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the upstream to be cancelled after the grace",
        Duration.ofMillis(GRACE_MS + 15_000));
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt[0]);
    assertTrue(waited >= GRACE_MS, "cancelled " + waited + " ms after the disconnect, before the grace ended");
    assertEquals(expiries + 1, metric(Metrics.GRACE_EXPIRIES));
    Wire.waitFor(() -> usage(ALICE).getLong("requests") == usageBefore.getLong("requests") + 1,
        "the cancelled stream's usage", Duration.ofSeconds(10));
    JsonObject after = usage(ALICE);
    assertTrue(after.getLong("output_tokens") - usageBefore.getLong("output_tokens") >= 3,
        "at least the tokens the client had: " + after.encode());
  }

  @Test
  void aStreamThatDidNotOptInIsCancelledAtOnceOnDisconnect() throws Exception {
    long cancelled = stats.streamsCancelled();
    double detaches = metric(Metrics.DETACHES);
    long[] cutAt = new long[1];
    StreamCut.cut(stack.proxyUrl(), "/v1/messages", headers(ALICE, LONG), textBody("not resumable"), events -> {
      cutAt[0] = System.nanoTime();
      return Where.INSIDE_A_TEXT_BLOCK.on(Endpoint.MESSAGES).test(events);
    });
    Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the upstream cancel", Duration.ofSeconds(10));
    long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt[0]);
    assertTrue(waited < GRACE_MS, "cancelled " + waited + " ms after the disconnect: not at once");
    assertEquals(detaches, metric(Metrics.DETACHES), "nothing detached");
  }

  @Test
  void aStreamThatDidNotOptInCanBeFollowedFromItsLivePositionOnly() throws Exception {
    try (SseSocket own = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", headers(ALICE, PACED),
        textBody("followed live"))) {
      List<String> seen = new ArrayList<>();
      while (seen.stream().filter(Endpoint.MESSAGES::isText).count() < 3) {
        String event = own.next();
        if (!Wire.isPing(event)) {
          seen.add(event);
        }
      }
      assertError(410, null, get(ALICE, own.header("x-stream-id"), "?after=0", Map.of()));
      try (SseSocket live = StreamCut.follow(stack.proxyUrl(), own.header("x-stream-id"), "", auth(ALICE))) {
        assertEquals(200, live.status(), () -> body(live));
        int from = Integer.parseInt(live.header("x-stream-position"));
        assertTrue(from >= seen.size(), "from the live position: " + from);
        seen.addAll(Wire.withoutPings(own.rest()));
        assertEquals(seen.subList(from, seen.size()), Wire.withoutPings(live.rest()));
      }
    }
  }

  @Test
  void aStreamsIdIsTheRequestIdOfItsAccessLine() throws Exception {
    List<JsonObject> lines = new CopyOnWriteArrayList<>();
    Handler capture = new Handler() {
      @Override
      public void publish(LogRecord record) {
        lines.add(new JsonObject(record.getMessage()));
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    };
    Logger access = Logger.getLogger(AccessLog.LOGGER);
    access.addHandler(capture);
    try {
      for (Endpoint endpoint : Endpoint.values()) {
        String body = endpoint == Endpoint.MESSAGES ? textBody("my own id") : chatBody("my own id");
        String id = StreamCut.finished(stack.proxyUrl(), endpoint.path, resumable(ALICE, FAST), body).id();
        Wire.waitFor(() -> lines.stream().anyMatch(l -> id.equals(l.getString("request_id"))
            && endpoint.path.equals(l.getString("path"))), endpoint.path + "'s access line under " + id,
            Duration.ofSeconds(10));
      }
    } finally {
      access.removeHandler(capture);
    }
  }

  /**
   * The simulator sends a ping after the first block's start, as Claude does: the stream's own client gets it (its
   * bytes are the upstream's), a reader does not, and positions do not count it.
   */
  @Test
  void aReaderIsSentNoneOfTheUpstreamsPings() throws Exception {
    List<String> own;
    String id;
    try (SseSocket stream = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", resumable(ALICE, FAST),
        textBody("pings"))) {
      assertEquals(200, stream.status());
      id = stream.header("x-stream-id");
      own = stream.rest();
    }
    assertTrue(own.stream().anyMatch(Wire::isPing), "the upstream's ping reached the own client: " + own);
    List<String> counted = Wire.withoutPings(own);
    for (int after : new int[] {0, 1, counted.size() - 1}) {
      try (SseSocket reader = StreamCut.follow(stack.proxyUrl(), id, "?after=" + after, auth(ALICE))) {
        assertEquals(200, reader.status(), () -> body(reader));
        assertEquals(counted.subList(after, counted.size()), reader.rest(), "after " + after + ": no ping");
      }
    }
  }

  /**
   * With no reader, a resumable stream larger than its buffer fills it and then waits: the simulator's stream stays
   * open, neither finished nor cancelled, until a reader comes (and then runs to its end, every event there) or the
   * grace ends (and it is cancelled). Over HTTP/2, as Claude's API is reached through TLS, a paused answer stops its
   * stream's window, so the wait reaches the simulator at once; over HTTP/1.1 it would reach it only once the
   * sockets' buffers, which the kernel may grow to many megabytes, are full.
   */
  @Test
  void aDetachedStreamWhoseBufferIsFullPausesItsUpstreamUntilAReaderComesOrTheGraceEnds() throws Exception {
    int grace = 15_000;
    try (TestStack small = TestStack.start(Map.of("PROXY_USERS", usersFile().toString(),
        "PROXY_RESUME_BUFFER_BYTES", 65536, "PROXY_RESUME_GRACE_MS", grace, "UPSTREAM_PROTOCOL", "h2c"))) {
      SimulatorStats sim = small.simulator.stats();
      // 20,000 tokens are ~2 MB: far more than the buffer and an HTTP/2 stream's window (PROXY_STREAM_CREDIT_BYTES).
      String body = largeBody("held back", 20000);
      Map<String, String> big = Map.of("x-sim-output-tokens", "20000");
      long wholeStarted = System.nanoTime();
      List<String> reference = StreamCut.whole(small.proxyUrl(), "/v1/messages", headers(ALICE, big), body);
      long wholeMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - wholeStarted);
      long completed = sim.streamsCompleted();
      long cancelled = sim.streamsCancelled();
      Map<String, String> late = new LinkedHashMap<>(big);
      late.put("x-sim-ttft-ms", "300"); // the client goes after message_start, before the buffer holds anything more
      StreamCut cut = StreamCut.cut(small.proxyUrl(), "/v1/messages", resumable(ALICE, late), body,
          Where.BEFORE_FIRST_TOKEN.on(Endpoint.MESSAGES));
      Thread.sleep(Math.min(grace / 2, Math.max(2_000, 3 * wholeMs)));
      assertEquals(1, sim.streamsOpen(), "the upstream waits (a whole run took " + wholeMs + " ms)");
      assertEquals(completed, sim.streamsCompleted(), "the upstream did not run on to its end");
      assertEquals(cancelled, sim.streamsCancelled());
      List<String> rest;
      try (SseSocket resumed = StreamCut.follow(small.proxyUrl(), cut.id(), "?after=" + cut.position(),
          auth(ALICE))) {
        assertEquals(200, resumed.status(), () -> body(resumed));
        rest = Wire.withoutPings(resumed.rest());
      }
      assertEquals(StreamCut.text(reference), StreamCut.text(cut.then(rest)), "every event, none lost to the bound");
      assertEquals(completed + 1, sim.streamsCompleted(), "the upstream went on once a reader came");
      assertEquals(cancelled, sim.streamsCancelled());

      long[] cutAt = new long[1];
      StreamCut.cut(small.proxyUrl(), "/v1/messages", resumable(ALICE, late), body, events -> {
        cutAt[0] = System.nanoTime();
        return Where.BEFORE_FIRST_TOKEN.on(Endpoint.MESSAGES).test(events);
      });
      Wire.waitFor(() -> sim.streamsCancelled() == cancelled + 1, "the waiting upstream to be cancelled after the "
          + "grace", Duration.ofMillis(grace + 15_000));
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cutAt[0]);
      assertTrue(waited >= grace, "cancelled " + waited + " ms after the disconnect, before the grace ended");
      assertEquals(completed + 1, sim.streamsCompleted(), "the stream left alone never ran to its end");
    }
  }

  /**
   * A reader that reads nothing, once it is a whole buffer behind a reader that is ahead, is let go with an error
   * event rather than holding back the others and the upstream (until the stall timeout, which is long here): the
   * stream's own client gets its answer at its own pace, the slow reader every event up to where it got and then the
   * error, never a silent gap, and the events it missed are a 410.
   */
  @Test
  void aReaderAWholeBufferBehindTheOthersIsLetGoWithAnErrorInsteadOfHoldingThemBack() throws Exception {
    try (TestStack small = TestStack.start(Map.of("PROXY_USERS", usersFile().toString(),
        "PROXY_RESUME_BUFFER_BYTES", 65536, "PROXY_CLIENT_STALL_TIMEOUT_MS", 120_000))) {
      SimulatorStats sim = small.simulator.stats();
      long completed = sim.streamsCompleted();
      long cancelled = sim.streamsCancelled();
      // 64,000 tokens are ~6 MB: more than the buffer, the slow reader's credits and its socket buffers together.
      String body = largeBody("one reader sleeps", 64000);
      Map<String, String> big = Map.of("x-sim-output-tokens", "64000", "x-sim-ttft-ms", "1000");
      ExecutorService pool = Executors.newCachedThreadPool();
      try (SseSocket own = SseSocket.open(small.proxyUrl(), "POST", "/v1/messages", resumable(ALICE, big), body);
          SseSocket slow = StreamCut.follow(small.proxyUrl(), own.header("x-stream-id"), "?after=0", auth(ALICE),
              4096)) {
        assertEquals(200, slow.status(), () -> body(slow));
        List<String> whole = readAll(own, pool).get(60, TimeUnit.SECONDS);
        assertTrue(last(whole).startsWith("event: message_stop\n"), last(whole));
        Wire.waitFor(() -> sim.streamsCompleted() == completed + 1, "the upstream's end", Duration.ofSeconds(10));
        assertEquals(cancelled, sim.streamsCancelled());
        List<String> got = Wire.withoutPings(slow.rest());
        String end = last(got);
        assertTrue(end.startsWith("event: error\n") && end.contains("\"api_error\""), end);
        int had = got.size() - 1;
        assertTrue(had < whole.size() - 1, "the slow reader was let go before the end: " + had);
        assertEquals(whole.subList(0, had), got.subList(0, had), "every event up to where it got, in order");
        assertError(410, null, getFrom(small, ALICE, own.header("x-stream-id"), "?after=" + had, Map.of()));
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /**
   * The load generator's cut-and-resume mode, given two URLs (two relays in front of the proxy, as two nodes would be):
   * every stream is cut and resumed on the URL it did not start on, and the joined streams are the simulator's. With
   * an odd number of streams the relays start different numbers of them, so a resume on the same URL would show.
   */
  @Test
  void theLoadGeneratorResumesEachCutStreamOnTheOtherUrl() {
    int proxyPort = URI.create(stack.proxyUrl()).getPort();
    try (TcpRelay a = TcpRelay.start(stack.vertx, proxyPort); TcpRelay b = TcpRelay.start(stack.vertx, proxyPort)) {
      for (String endpoint : new String[] {"messages", "chat"}) {
        int streams = 21;
        long[] before = {a.count("POST "), a.count("GET /v1/streams/"), b.count("POST "), b.count("GET /v1/streams/")};
        LoadConfig config = new LoadConfig(List.of(URI.create(a.url()), URI.create(b.url())), endpoint, ALICE, 5,
            streams, null, Duration.ZERO, LoadConfig.defaultTemplate(endpoint, MODEL, 1024),
            Map.of("x-sim-tokens-per-second", "200"), 25, 1, 0, true, false);
        JsonObject s = TestStack.await(new LoadGenerator(config, null).run(stack.vertx)).summary();
        assertEquals(streams, s.getJsonObject("integrity").getLong("verified"), s.encodePrettily());
        assertEquals(streams, s.getJsonObject("resume").getLong("resumed"), s.encodePrettily());
        long startedOnA = a.count("POST ") - before[0];
        long resumedOnA = a.count("GET /v1/streams/") - before[1];
        long startedOnB = b.count("POST ") - before[2];
        long resumedOnB = b.count("GET /v1/streams/") - before[3];
        assertEquals(streams, startedOnA + startedOnB, endpoint);
        assertTrue(startedOnA != startedOnB, endpoint + ": the relays start different numbers of streams");
        assertEquals(startedOnB, resumedOnA, endpoint + ": A resumes the streams B started");
        assertEquals(startedOnA, resumedOnB, endpoint + ": B resumes the streams A started");
      }
    }
  }

  @Test
  void anExplicitStopCancelsAtOnceAndEveryReaderGetsAnErrorEvent() throws Exception {
    long cancelled = stats.streamsCancelled();
    double stops = metric(Metrics.STOPS);
    ExecutorService pool = Executors.newCachedThreadPool();
    try (SseSocket own = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", resumable(ALICE, LONG),
        textBody("stop me"))) {
      String id = own.header("x-stream-id");
      try (SseSocket follower = StreamCut.follow(stack.proxyUrl(), id, "?after=0", auth(ALICE))) {
        assertEquals(200, follower.status(), () -> body(follower));
        CompletableFuture<List<String>> ownRead = readAll(own, pool);
        CompletableFuture<List<String>> followerRead = readAll(follower, pool);
        long stoppedAt = System.nanoTime();
        HttpResponse<String> stop = delete(ALICE, id);
        assertEquals(204, stop.statusCode(), stop.body());
        assertEquals(stops + 1, metric(Metrics.STOPS));
        Wire.waitFor(() -> stats.streamsCancelled() == cancelled + 1, "the upstream cancel", Duration.ofSeconds(10));
        long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stoppedAt);
        assertTrue(waited < GRACE_MS, "cancelled " + waited + " ms after the stop: not at once");
        for (CompletableFuture<List<String>> read : List.of(ownRead, followerRead)) {
          String end = last(read.get(20, TimeUnit.SECONDS));
          assertTrue(end.startsWith("event: error\n"), end);
          assertEquals("api_error", new JsonObject(end.substring(end.indexOf("data: ") + 6).trim())
              .getJsonObject("error").getString("type"), end);
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- helpers ----

  /** Reads {@code stream} to its end on {@code pool}, then closes it. */
  private static CompletableFuture<List<String>> readAll(SseSocket stream, ExecutorService pool) {
    return CompletableFuture.supplyAsync(() -> {
      try (stream) {
        return Wire.withoutPings(stream.rest());
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }, pool);
  }

  private static String textBody(String prompt) {
    return new JsonObject().put("model", MODEL).put("max_tokens", 1000).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt))).encode();
  }

  /** As {@link #textBody}, with room for {@code maxTokens}: a long reply's request. */
  private static String largeBody(String prompt, int maxTokens) {
    return new JsonObject(textBody(prompt)).put("max_tokens", maxTokens).encode();
  }

  /** A request that the simulator answers with one tool call alone, its input streamed in several pieces. */
  private static String toolBody(String prompt) {
    return StreamCut.withTool(textBody(prompt));
  }

  private static String chatBody(String prompt) {
    return new JsonObject().put("messages", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", prompt))).encode();
  }

  private static Map<String, String> auth(String key) {
    return Map.of("x-api-key", key);
  }

  /** The body of an answer that is not a stream, or what a stream holds, for an assertion's message. */
  private static String body(SseSocket answer) {
    try {
      return answer.status() + " " + answer.body();
    } catch (IOException e) {
      return answer.status() + " (" + e + ")";
    }
  }

  private static HttpResponse<String> get(String key, String id, String query, Map<String, String> headers) {
    return getFrom(stack, key, id, query, headers);
  }

  private static HttpResponse<String> getFrom(TestStack on, String key, String id, String query,
      Map<String, String> headers) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(on.proxyUrl() + "/v1/streams/" + id + query))
        .timeout(Duration.ofSeconds(30)).header("x-api-key", key);
    headers.forEach(request::header);
    return on.send(request.build());
  }

  private static HttpResponse<String> delete(String key, String id) {
    return stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/streams/" + id))
        .timeout(Duration.ofSeconds(30)).header("x-api-key", key).DELETE().build());
  }

  /** An Anthropic-shaped error answer of {@code status}, of {@code type} unless that is null. */
  private static void assertError(int status, String type, HttpResponse<String> r) {
    assertEquals(status, r.statusCode(), r.body());
    JsonObject body = new JsonObject(r.body());
    assertEquals("error", body.getString("type"), r.body());
    assertNotNull(body.getJsonObject("error").getString("message"), r.body());
    if (type != null) {
      assertEquals(type, body.getJsonObject("error").getString("type"), r.body());
    }
  }

  /** The caller's usage row for today and {@value #MODEL}, zeros when there is none yet. */
  private static JsonObject usage(String key) {
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/usage?days=1"))
        .header("x-api-key", key).build());
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body()).getJsonArray("days").stream()
        .flatMap(day -> ((JsonObject) day).getJsonArray("users").stream())
        .flatMap(user -> ((JsonObject) user).getJsonArray("models").stream())
        .map(JsonObject.class::cast).filter(row -> MODEL.equals(row.getString("model"))).findFirst()
        .orElse(new JsonObject().put("requests", 0L).put("output_tokens", 0L));
  }

  /** The proxy's meters of resumable streams, as {@code /metrics} names them (ProxyMetrics). */
  static final class Metrics {
    /** Reads of a stream that began, {@code result="ok"}; refused ones carry their reason. */
    static final String RESUMES = "claude_proxy_stream_resumes_total{result=\"ok\"}";
    static final String RESUMES_AHEAD = "claude_proxy_stream_resumes_total{result=\"ahead\"}";
    static final String RESUMES_NOT_FOUND = "claude_proxy_stream_resumes_total{result=\"not_found\"}";
    static final String DETACHES = "claude_proxy_stream_detaches_total";
    static final String GRACE_EXPIRIES = "claude_proxy_stream_grace_expiries_total";
    static final String STOPS = "claude_proxy_stream_stops_total";
    /** Readers of streams they did not start, reading now. */
    static final String SUBSCRIBERS = "claude_proxy_stream_subscribers";
  }

  private static double metric(String series) {
    return stack.metric(series);
  }
}
