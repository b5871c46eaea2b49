package dev.claudeproxy;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.internal.server.ProxyServer;
import dev.claudeproxy.internal.bus.LocalBus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.bus.LocalStart;
import dev.claudeproxy.bus.StartRequest;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.bus.StreamEventSender;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.http.NodeServices;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.User;
import dev.claudeproxy.internal.users.UserDirectory;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** When the worker of a stream goes away, its client gets an error event instead of a stream that hangs. */
class WorkerLossTest {
  private static final String STREAM = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":2000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";

  /** A worker that stops with no drain time left ends its streams at once (with some, it lets them finish first). */
  @Test
  void undeployedWorkersEndTheirStreamsWithAnErrorEvent() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_DRAIN_MS", 0))) {
      CompletableFuture<HttpResponse<String>> response = stack.http().sendAsync(
          request(stack.proxyUrl(), stack.callerKey, String.format(STREAM, "worker leaves"),
              Map.of("x-sim-tokens-per-second", "5", "x-sim-output-tokens", "1000")),
          HttpResponse.BodyHandlers.ofString());
      Wire.waitFor(() -> stack.simulator.stats().deltas() > 2, "the stream to be under way");
      long undeployedAt = System.nanoTime();
      TestStack.await(stack.vertx.undeploy(stack.proxy.workersDeployment()));
      HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
      long millis = (System.nanoTime() - undeployedAt) / 1_000_000;
      String last = Wire.lastEvent(r.body());
      assertTrue(last.startsWith("event: error\n") && last.contains("overloaded_error"), last);
      assertTrue(millis < 5_000, millis + " ms");
    }
  }

  /** A resumable stream's replay buffer lives on its worker: once that worker is gone, the stream ends for good. */
  @Test
  void aResumableStreamWhoseWorkerLeftIsNoLongerThere() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_DRAIN_MS", 0))) {
      CompletableFuture<HttpResponse<String>> response = stack.http().sendAsync(
          request(stack.proxyUrl(), stack.callerKey, String.format(STREAM, "resumable, worker leaves"),
              Map.of("x-stream-resumable", "true", "x-sim-tokens-per-second", "5", "x-sim-output-tokens", "1000")),
          HttpResponse.BodyHandlers.ofString());
      Wire.waitFor(() -> stack.simulator.stats().deltas() > 2, "the stream to be under way");
      TestStack.await(stack.vertx.undeploy(stack.proxy.workersDeployment()));
      HttpResponse<String> r = response.get(10, TimeUnit.SECONDS);
      String last = Wire.lastEvent(r.body());
      assertTrue(last.startsWith("event: error\n"), last);
      String id = r.headers().firstValue("x-stream-id").orElseThrow();
      HttpResponse<String> resume = stack.send(HttpRequest.newBuilder(
          URI.create(stack.proxyUrl() + "/v1/streams/" + id + "?after=0")).header("x-api-key", stack.callerKey)
          .timeout(Duration.ofSeconds(30)).build());
      assertEquals(404, resume.statusCode(), resume.body());
    }
  }

  /**
   * A worker whose event loop is held up for longer than a check (a long GC pause, a burst of work, a blocking call)
   * is slow, not lost: its streams go on to their end. Only checks unanswered several times in a row, or an address
   * with no consumer, end them.
   */
  @Test
  void aWorkerBlockedPastOneCheckIsNotTakenForLost() throws Exception {
    long checkMs = 200;
    try (TestStack stack = TestStack.start(Map.of("PROXY_WORKER_CHECK_MS", checkMs,
        "PROXY_HTTP_INSTANCES", 1, "PROXY_WORKER_INSTANCES", 1))) {
      AtomicBoolean block = new AtomicBoolean();
      AtomicInteger blocked = new AtomicInteger();
      Set<String> pingers = ConcurrentHashMap.newKeySet();
      Set<String> pinged = ConcurrentHashMap.newKeySet();
      stack.vertx.eventBus().addOutboundInterceptor(dc -> {
        if (isWorkerPing(dc.message())) {
          pingers.add(Thread.currentThread().getName());
        }
        dc.next();
      });
      // Inbound interceptors run on the receiving consumer's thread: the worker's event loop, held up here.
      stack.vertx.eventBus().addInboundInterceptor(dc -> {
        if (isWorkerPing(dc.message())) {
          pinged.add(Thread.currentThread().getName());
          if (block.getAndSet(false)) {
            blocked.incrementAndGet();
            sleep(checkMs * 5 / 2);
          }
        }
        dc.next();
      });
      CompletableFuture<HttpResponse<String>> response = stack.http().sendAsync(
          request(stack.proxyUrl(), stack.callerKey, String.format(STREAM, "held up"),
              Map.of("x-sim-tokens-per-second", "20", "x-sim-output-tokens", "40")),
          HttpResponse.BodyHandlers.ofString());
      Wire.waitFor(() -> stack.simulator.stats().deltas() > 2, "the stream to be under way");
      block.set(true);
      HttpResponse<String> r = response.get(20, TimeUnit.SECONDS);
      assertEquals(1, blocked.get(), "the worker's loop was held up once");
      assertTrue(Collections.disjoint(pingers, pinged), "the worker ran on a loop of its own: " + pingers + pinged);
      assertEquals(200, r.statusCode());
      assertTrue(Wire.lastEvent(r.body()).startsWith("event: message_stop\n"), Wire.lastEvent(r.body()));
      assertEquals(0, Wire.count(r.body(), "event: error"), r.body());
    }
  }

  /**
   * Under a burst a ping waits in the worker's queue behind the burst's work, and comes back late, check after check,
   * while the worker goes on taking streams and sending their events. Those show it alive: its streams go on to their
   * end however many pings go unanswered.
   */
  @Test
  void aWorkerWhoseStreamsFlowIsNotLostHoweverLateItsPingAnswers() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_WORKER_CHECK_MS", 100, "PROXY_WORKER_MISSED_CHECKS", 3))) {
      AtomicInteger unanswered = dropWorkerPings(stack.vertx);
      HttpResponse<String> r = stack.http().send(request(stack.proxyUrl(), stack.callerKey,
          String.format(STREAM, "busy, not gone"), Map.of("x-sim-tokens-per-second", "50", "x-sim-output-tokens",
              "100")), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertTrue(Wire.lastEvent(r.body()).startsWith("event: message_stop\n"), Wire.lastEvent(r.body()));
      assertEquals(100, Wire.count(r.body(), "event: content_block_delta"));
      assertEquals(0, Wire.count(r.body(), "event: error"), r.body());
      assertTrue(unanswered.get() > 6, unanswered.get() + " pings went unanswered");
    }
  }

  /** A worker that answers no ping and sends nothing for its streams is lost after the missed checks, as ever. */
  @Test
  void aSilentWorkerIsLostAfterItsMissedChecks() throws Exception {
    try (TestStack stack = TestStack.start(Map.of("PROXY_WORKER_CHECK_MS", 100, "PROXY_WORKER_MISSED_CHECKS", 2))) {
      dropWorkerPings(stack.vertx);
      long started = System.nanoTime();
      HttpResponse<String> r = stack.http().send(request(stack.proxyUrl(), stack.callerKey,
          String.format(STREAM, "silence"), Map.of("x-sim-ttft-ms", "8000")), HttpResponse.BodyHandlers.ofString());
      long millis = (System.nanoTime() - started) / 1_000_000;
      String last = Wire.lastEvent(r.body());
      assertTrue(last.startsWith("event: error\n") && last.contains("went away"), last);
      assertTrue(millis < 5_000, millis + " ms");
    }
  }

  /** Drops every liveness ping to a worker before the worker sees it; returns the count dropped. */
  private static AtomicInteger dropWorkerPings(Vertx vertx) {
    AtomicInteger dropped = new AtomicInteger();
    vertx.eventBus().addInboundInterceptor(dc -> {
      if (isWorkerPing(dc.message())) {
        dropped.incrementAndGet();
      } else {
        dc.next();
      }
    });
    return dropped;
  }

  /** A worker check: a ping to a worker's own address (readiness pings go to the start address). */
  /** A liveness ping from the HTTP side to a worker's control address (not a worker's ping of an inbox). */
  private static boolean isWorkerPing(Message<?> message) {
    return StreamBus.OP_PING.equals(message.headers().get(StreamBus.H_OP))
        && message.address().startsWith(BusAddresses.DEFAULT.worker(""));
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A worker that speaks the bus contract, starts a stream, and then vanishes without a word (as a crashed node
   * would): the HTTP side's worker check notices that its control address has no consumer any more.
   */
  @Test
  void aWorkerThatVanishesIsDetectedByTheWorkerCheck() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      String key = ApiKeys.generate();
      int port = deployHttpOnly(vertx, key, Map.of("PROXY_WORKER_CHECK_MS", 200));

      String control = "test.vanishing-worker";
      MessageConsumer<Buffer> controlConsumer = vertx.eventBus().consumer(control,
          m -> m.reply(Buffer.buffer()));
      TestStack.await(controlConsumer.completion());
      MessageConsumer<Buffer> starts = vertx.eventBus().consumer(BusAddresses.DEFAULT.start(), m -> {
        StartRequest start = StartRequest.from(m);
        m.reply(Buffer.buffer(), new DeliveryOptions().addHeader(StreamBus.H_WORKER, control));
        StreamEventSender sender = new StreamEventSender(vertx.eventBus(), start.replyTo(), start.streamId());
        sender.head(200, MultiMap.caseInsensitiveMultiMap().add("request-id", "req_vanishing"));
        sender.data(Buffer.buffer("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":"
            + "\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"stop_reason\":"
            + "null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"), 1);
        // ... and then it is gone.
        vertx.setTimer(100, id -> controlConsumer.unregister());
      });
      TestStack.await(starts.completion());

      long started = System.nanoTime();
      HttpResponse<String> r = HttpClient.newHttpClient().send(request("http://127.0.0.1:" + port, key,
          String.format(STREAM, "hello?"), Map.of()), HttpResponse.BodyHandlers.ofString());
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(200, r.statusCode());
      assertTrue(r.body().startsWith("event: message_start\n"));
      String last = Wire.lastEvent(r.body());
      assertTrue(last.startsWith("event: error\n") && last.contains("went away"), last);
      assertTrue(millis < 3_000, millis + " ms");
    } finally {
      TestStack.await(vertx.close());
    }
  }

  /**
   * The worker on a stream's own event loop is sent the start without a reply asked for, and calls back. One that
   * never does (it went away as the start was sent) must not leave the caller waiting: the start timeout refuses the
   * stream with a 503. One that refuses it (it is stopping) has the start sent to the other workers; with none, the
   * caller gets a 503 at once.
   */
  @Test
  void aLocalWorkerThatNeverAnswersOrRefusesGivesA503() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      String key = ApiKeys.generate();
      int port = deployHttpOnly(vertx, key, Map.of("PROXY_START_TIMEOUT_MS", 300));
      AtomicBoolean refuse = new AtomicBoolean();
      AtomicInteger starts = new AtomicInteger();
      // A stand-in worker on every event loop, so that the HTTP verticle's own loop has one.
      TestStack.await(vertx.deployVerticle(() -> new VerticleBase() {
        @Override
        public Future<?> start() {
          String address = LocalBus.localStartAddress(BusAddresses.DEFAULT, Thread.currentThread().getName());
          MessageConsumer<Object> consumer = vertx.eventBus().localConsumer(address, m -> {
            starts.incrementAndGet();
            if (refuse.get() && m.body() instanceof LocalStart local) {
              local.refused().accept(StreamBus.REFUSED_SHUTTING_DOWN, "stopping");
            }
          });
          return consumer.completion().onSuccess(v -> LocalBus.addLocalStart(vertx, BusAddresses.DEFAULT, address));
        }
      }, new DeploymentOptions().setInstances(VertxOptions.DEFAULT_EVENT_LOOP_POOL_SIZE)));

      long started = System.nanoTime();
      HttpResponse<String> silent = HttpClient.newHttpClient().send(request("http://127.0.0.1:" + port, key,
          String.format(STREAM, "anyone?"), Map.of()), HttpResponse.BodyHandlers.ofString());
      long millis = (System.nanoTime() - started) / 1_000_000;
      assertEquals(503, silent.statusCode(), silent.body());
      assertTrue(silent.body().contains("no stream worker answered in time"), silent.body());
      assertTrue(silent.body().contains("overloaded_error"), silent.body());
      assertEquals("1", silent.headers().firstValue("retry-after").orElse(null));
      assertTrue(millis >= 300 && millis < 3_000, millis + " ms");
      assertEquals(1, starts.get());

      refuse.set(true);
      HttpResponse<String> refused = HttpClient.newHttpClient().send(request("http://127.0.0.1:" + port, key,
          String.format(STREAM, "anyone?"), Map.of()), HttpResponse.BodyHandlers.ofString());
      assertEquals(503, refused.statusCode(), refused.body());
      assertTrue(refused.body().contains("no stream worker is available"), refused.body());
      assertEquals(2, starts.get());
    } finally {
      TestStack.await(vertx.close());
    }
  }

  /** One HTTP verticle and no worker on {@code vertx}, with these settings, for a user with {@code key}; its port. */
  static int deployHttpOnly(Vertx vertx, String key, Map<String, Object> settings) {
    Map<String, Object> all = new HashMap<>(settings);
    all.put("PROXY_HTTP_INSTANCES", 1);
    ProxyConfig config = ProxyConfig.from(TestStack.settings(all));
    return TestStack.await(ProxyServer.deployHttp(vertx, config, NodeServices.inMemory(
        new UserDirectory(List.of(new User("tester", List.of(ApiKeys.hash(key))))), ProxyMetrics.create())));
  }

  private static HttpRequest request(String base, String key, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/messages"))
        .header("content-type", "application/json").header("x-api-key", key)
        .header("anthropic-version", "2023-06-01").timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return b.build();
  }
}
