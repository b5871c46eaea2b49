package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.bus.LocalStart;
import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryContext;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Overload degrades, never kills: a node that holds as many streams as it may ({@code PROXY_MAX_STREAMS}), or has as
 * many starts waiting for a worker as it may ({@code PROXY_MAX_PENDING_STARTS}), refuses new requests at once with a
 * 503 {@code overloaded_error} and {@code retry-after}, while the streams it holds go on to their end.
 */
class OverloadTest {
  private static final String STREAM = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":100,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";
  private static final String PLAIN = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":100,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"plain\"}]}";
  /** The deltas of a slow stream. */
  private static final int DELTAS = 30;
  /** A slow stream: {@value #DELTAS} tokens, 10 a second, so about three seconds long. */
  private static final Map<String, String> SLOW = Map.of("x-sim-tokens-per-second", "10", "x-sim-output-tokens",
      Integer.toString(DELTAS));

  @Test
  void streamsBeyondTheNodesCapacityAreRefusedAndTheOpenOnesCompleteWhole() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_MAX_STREAMS", 3))) {
      List<CompletableFuture<HttpResponse<String>>> open = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        open.add(stack.http().sendAsync(post(stack, String.format(STREAM, "open " + i), SLOW),
            HttpResponse.BodyHandlers.ofString()));
      }
      Wire.waitFor(() -> gauge(stack, "claude_proxy_active_streams") == 3, "three open streams");

      HttpResponse<String> refused = stack.send(post(stack, String.format(STREAM, "one too many"), SLOW));
      assertOverloaded(refused, "5");
      // A plain (non-streaming) call holds a worker's call and a client's connection as well: it counts too.
      HttpResponse<String> plain = stack.send(post(stack, PLAIN, Map.of()));
      assertOverloaded(plain, "5");
      // Over HTTP/1.1 the refused client's connection is closed, so that it holds no descriptor while it waits.
      try (SseSocket socket = SseSocket.open(stack.proxyUrl(), "POST", "/v1/messages", stack.jsonHeaders(SLOW),
          String.format(STREAM, "HTTP/1.1"))) {
        assertEquals(503, socket.status());
        assertEquals("close", socket.header("connection"));
        assertTrue(socket.closedByServer(), "the connection is closed after the refusal");
      }

      for (CompletableFuture<HttpResponse<String>> f : open) {
        assertWhole(f.get(20, TimeUnit.SECONDS), DELTAS);
      }
      Wire.waitFor(() -> gauge(stack, "claude_proxy_active_streams") == 0, "the open streams to end");
      assertWhole(stack.send(post(stack, String.format(STREAM, "room again"), SLOW)), DELTAS);
      assertEquals(3, counter(stack, "claude_proxy_rejections_total{reason=\"capacity\"}"));
      assertEquals(0, gauge(stack, "claude_proxy_active_streams"));
    }
  }

  /**
   * Workers slow to take starts (their starts held back on the bus, as when their event loops are busy): once as many
   * starts wait as the bound allows, a new stream is refused at once rather than queued behind them for the start
   * timeout; the waiting ones, taken late, still complete whole.
   */
  @Test
  void startsBeyondThePendingBoundAreRefusedAtOnceAndTheWaitingOnesComplete() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_MAX_PENDING_STARTS", 2, "PROXY_START_TIMEOUT_MS", 20_000))) {
      AtomicBoolean holding = new AtomicBoolean(true);
      List<Runnable> held = holdStarts(stack.vertx, holding);
      List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        waiting.add(stack.http().sendAsync(post(stack, String.format(STREAM, "waiting " + i), SLOW),
            HttpResponse.BodyHandlers.ofString()));
      }
      Wire.waitFor(() -> {
        synchronized (held) {
          return held.size() == 2;
        }
      }, "two starts held");
      assertEquals(2, gauge(stack, "claude_proxy_pending_starts"));

      long sent = System.nanoTime();
      HttpResponse<String> refused = stack.send(post(stack, String.format(STREAM, "one too many"), SLOW));
      long millis = (System.nanoTime() - sent) / 1_000_000;
      assertOverloaded(refused, "1");
      assertTrue(millis < 2_000, "refused at once, not after the start timeout: " + millis + " ms");

      holding.set(false);
      synchronized (held) {
        held.forEach(Runnable::run);
      }
      // Taken, the starts wait no more, while their streams still run.
      Wire.waitFor(() -> gauge(stack, "claude_proxy_pending_starts") == 0, "the held starts to be taken");
      assertTrue(waiting.stream().noneMatch(CompletableFuture::isDone), "the streams are still under way");
      for (CompletableFuture<HttpResponse<String>> f : waiting) {
        assertWhole(f.get(20, TimeUnit.SECONDS), DELTAS);
      }
      assertWhole(stack.send(post(stack, String.format(STREAM, "taken again"), SLOW)), DELTAS);
      assertEquals(1, counter(stack, "claude_proxy_rejections_total{reason=\"pending_starts\"}"));
      assertEquals(0, counter(stack, "claude_proxy_rejections_total{reason=\"capacity\"}"));
    }
  }

  /**
   * A start that waits in a worker's queue past the start timeout (the workers are behind a burst): its client is
   * refused as overload, with {@code retry-after}, and the worker that reaches the start later drops it rather than
   * call the upstream for nobody.
   */
  @Test
  void aStartGivenUpInTheQueueIsRefusedAsOverloadAndNeverGoesUpstream() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_START_TIMEOUT_MS", 300, "PROXY_HTTP_INSTANCES", 1,
        "PROXY_WORKER_INSTANCES", VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE))) {
      // A first stream opens the upstream connection, so that a start that went ahead would reach the upstream at once.
      assertEquals(200, stack.send(post(stack, String.format(STREAM, "in time"), Map.of())).statusCode());
      List<Runnable> held = holdStarts(stack.vertx, new AtomicBoolean(true));
      long upstreamBefore = stack.simulator.stats().requests();
      long sent = System.nanoTime();
      HttpResponse<String> refused = stack.send(post(stack, String.format(STREAM, "too late"), SLOW));
      long millis = (System.nanoTime() - sent) / 1_000_000;
      assertOverloaded(refused, "1");
      assertTrue(refused.body().contains("no stream worker answered in time"), refused.body());
      assertTrue(millis >= 300 && millis < 3_000, millis + " ms");
      synchronized (held) {
        assertEquals(1, held.size());
        held.forEach(Runnable::run);
      }
      Thread.sleep(500);
      assertEquals(upstreamBefore, stack.simulator.stats().requests(), "the given-up start went upstream");
      assertEquals(0, gauge(stack, "claude_proxy_pending_starts"));
    }
  }

  /**
   * The same over the bus contract (a worker on another node): the client is refused at the start timeout, and a
   * worker that takes the start later still gets its reply through, and with it a cancel.
   */
  @Test
  void aWorkerThatTakesAStartAfterItsTimeoutIsToldToCancel() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      String key = ApiKeys.generate();
      int port = WorkerLossTest.deployHttpOnly(vertx, key, Map.of("PROXY_START_TIMEOUT_MS", 300));
      List<String> controls = new CopyOnWriteArrayList<>();
      String control = "test.late-worker";
      TestStack.await(vertx.eventBus().<Buffer>consumer(control, m -> controls.add(
          m.headers().get(StreamBus.H_OP) + " " + m.headers().get(StreamBus.H_STREAM))).completion());
      List<Message<Object>> starts = new CopyOnWriteArrayList<>();
      TestStack.await(vertx.eventBus().consumer(BusAddresses.DEFAULT.start(), starts::add).completion());

      HttpResponse<String> refused = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + port + "/v1/messages")).header("content-type", "application/json")
          .header("x-api-key", key).POST(HttpRequest.BodyPublishers.ofString(String.format(STREAM, "late")))
          .build(), HttpResponse.BodyHandlers.ofString());
      assertOverloaded(refused, "1");
      assertEquals(1, starts.size());
      String stream = starts.get(0).headers().get(StreamBus.H_STREAM);
      starts.get(0).reply(Buffer.buffer(), new DeliveryOptions().addHeader(StreamBus.H_WORKER, control));
      Wire.waitFor(() -> controls.contains(StreamBus.CTL_CANCEL + " " + stream), "a cancel for the late start");
    } finally {
      TestStack.await(vertx.close());
    }
  }

  /** Holds back every start on its way to a worker while {@code holding}; the list releases them, each once. */
  private static List<Runnable> holdStarts(Vertx vertx, AtomicBoolean holding) {
    List<Runnable> held = new ArrayList<>();
    vertx.eventBus().addInboundInterceptor(dc -> {
      if (holding.get() && isStart(dc)) {
        Context context = Vertx.currentContext();
        synchronized (held) {
          held.add(() -> context.runOnContext(v -> dc.next()));
        }
      } else {
        dc.next();
      }
    });
    return held;
  }

  /** A start on its way to a worker: the node-local form, or the contract's. */
  private static boolean isStart(DeliveryContext<?> dc) {
    return dc.message().body() instanceof LocalStart
        || StreamBus.OP_START.equals(dc.message().headers().get(StreamBus.H_OP));
  }

  private static void assertOverloaded(HttpResponse<String> r, String retryAfter) {
    assertEquals(503, r.statusCode(), r.body());
    assertEquals(retryAfter, r.headers().firstValue("retry-after").orElse(null), r.headers().toString());
    JsonObject body = new JsonObject(r.body());
    assertEquals("error", body.getString("type"), r.body());
    assertEquals("overloaded_error", body.getJsonObject("error").getString("type"), r.body());
    Wire.assertNoLibraryWords(body.getJsonObject("error").getString("message"));
  }

  /** A stream that reached its end: 200, every delta, {@code message_stop} last, no error event. */
  private static void assertWhole(HttpResponse<String> r, int deltas) {
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(deltas, Wire.count(r.body(), "event: content_block_delta"), r.body());
    assertTrue(Wire.lastEvent(r.body()).startsWith("event: message_stop\n"), Wire.lastEvent(r.body()));
    assertEquals(0, Wire.count(r.body(), "event: error"), r.body());
  }

  private static HttpRequest post(TestStack stack, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/messages"))
        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body));
    stack.jsonHeaders(headers).forEach(b::header);
    return b.build();
  }

  private static double gauge(TestStack stack, String series) {
    return counter(stack, series);
  }

  /** The value of one series of the proxy's {@code /metrics}, 0 when it is not there. */
  private static double counter(TestStack stack, String series) {
    String scrape = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/metrics")).GET().build()).body();
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(scrape);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }
}
