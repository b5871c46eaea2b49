package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Stream counters: started, completed, cancelled, faulted, open, as the proxy's tests will read them. */
class StatsTest {
  private Vertx vertx;
  private Simulator sim;
  private HttpClient client;
  private Context context;

  @BeforeEach
  void setUp() {
    vertx = Vertx.vertx();
    // Two event loops, to check the counters are shared.
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withInstances(2).withOutputTokens(20));
    client = vertx.createHttpClient();
    context = vertx.getOrCreateContext();
  }

  @AfterEach
  void tearDown() {
    SimTestSupport.await(client.close());
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  /** Starts a streaming request and completes once the first body bytes arrived; the body keeps flowing in. */
  private HttpClientRequest openStream(Buffer received, String... headers) {
    Promise<Void> firstBytes = Promise.promise();
    AtomicReference<HttpClientRequest> request = new AtomicReference<>();
    SimTestSupport.onLoop(context, () -> client.request(HttpMethod.POST, sim.port(), "127.0.0.1", "/v1/messages")
        .compose(req -> {
          request.set(req);
          req.putHeader("anthropic-version", "2023-06-01").putHeader("content-type", "application/json");
          for (int i = 0; i < headers.length; i += 2) {
            req.putHeader(headers[i], headers[i + 1]);
          }
          return req.send(SimTestSupport.request("claude-sonnet-4-5", 1000, "stats").put("stream", true)
              .encode());
        }).map(resp -> resp.handler(b -> {
          received.appendBuffer(b);
          firstBytes.tryComplete();
        })));
    SimTestSupport.await(firstBytes.future());
    return request.get();
  }

  private JsonObject statsOverHttp() {
    return new JsonObject(SimTestSupport.get(sim, "/sim/stats").body());
  }

  @Test
  void completedStreamsAreCounted() {
    for (int i = 0; i < 4; i++) {
      SseTranscript.check(SimTestSupport.post(sim, "/v1/messages",
          SimTestSupport.request("claude-sonnet-4-5", 1000, "n" + i).put("stream", true).encode()).body(), true);
    }
    SimTestSupport.post(sim, "/v1/messages", SimTestSupport.request("claude-sonnet-4-5", 1000, "whole").encode());
    SimulatorStats s = sim.stats();
    assertEquals(4, s.streamsStarted());
    assertEquals(4, s.streamsCompleted());
    assertEquals(0, s.streamsCancelled());
    assertEquals(0, s.streamsOpen());
    assertEquals(1, s.messagesCompleted());
    assertEquals(80, s.deltas());
    JsonObject json = statsOverHttp();
    assertEquals(4, json.getLong("streamsStarted"));
    assertEquals(4, json.getLong("streamsCompleted"));
    assertEquals(0, json.getLong("streamsOpen"));
    assertEquals(5, json.getLong("requests") - 1, "the stats request itself is counted too");
  }

  @Test
  void clientClosingMidStreamIsCancelledPromptlyAndStopsTheTimer() {
    Buffer received = Buffer.buffer();
    // 100 tokens at 10/s: ten seconds if nobody interrupted it.
    HttpClientRequest req = openStream(received, "x-sim-tokens-per-second", "10", "x-sim-output-tokens", "100");
    assertTrue(SimTestSupport.eventually(2000, () -> sim.stats().streamsOpen() == 1));
    assertEquals(1, statsOverHttp().getLong("streamsOpen"));
    assertEquals(1, sim.stats().streamsStarted());
    long closedAt = System.nanoTime();
    SimTestSupport.await(req.connection().close());
    assertTrue(SimTestSupport.eventually(1000, () -> sim.stats().streamsCancelled() == 1), "cancel noticed");
    long ms = (System.nanoTime() - closedAt) / 1_000_000;
    assertTrue(ms < 1000, "cancel noticed after " + ms + " ms");
    assertEquals(0, sim.stats().streamsOpen());
    assertEquals(0, sim.stats().streamsCompleted());
    long deltas = sim.stats().deltas();
    sleep(400);
    assertEquals(deltas, sim.stats().deltas(), "no more tokens are produced for a closed stream");
    assertTrue(received.toString().startsWith("event: message_start\n"));
  }

  @Test
  void stallKeepsTheStreamOpenUntilTheClientLeaves() {
    Buffer received = Buffer.buffer();
    HttpClientRequest req = openStream(received, "x-sim-scenario", "stall");
    assertTrue(SimTestSupport.eventually(2000, () -> received.toString().split("content_block_delta\n").length > 3));
    int before = received.length();
    sleep(300);
    assertEquals(before, received.length(), "no bytes after the stall");
    assertEquals(1, sim.stats().streamsOpen());
    SimTestSupport.await(req.connection().close());
    assertTrue(SimTestSupport.eventually(1000, () -> sim.stats().streamsCancelled() == 1));
    assertEquals(0, sim.stats().streamsOpen());
  }

  @Test
  void injectedFaultsAreCountedAsFaulted() {
    SimTestSupport.post(sim, "/v1/messages", SimTestSupport.request("claude-sonnet-4-5", 1000, "err")
        .put("stream", true).encode(), "x-sim-scenario", "midstream_error");
    Buffer received = Buffer.buffer();
    Throwable cause = SimTestSupport.onLoop(context, () -> client.request(HttpMethod.POST, sim.port(), "127.0.0.1",
            "/v1/messages")
        .compose(req -> req.putHeader("anthropic-version", "2023-06-01").putHeader("x-sim-scenario", "disconnect")
            .send(SimTestSupport.request("claude-sonnet-4-5", 1000, "cut").put("stream", true).encode()))
        .compose(resp -> {
          resp.handler(received::appendBuffer);
          return resp.end();
        })
        .transform(ar -> Future.succeededFuture(ar.cause())));
    assertTrue(cause != null, "a cut connection is an error for the client, not a clean end");
    SseTranscript t = SseTranscript.check(received.toString(), false);
    assertEquals(3, t.count("content_block_delta"));
    assertEquals(0, t.count("message_stop"));
    assertTrue(SimTestSupport.eventually(1000, () -> sim.stats().streamsFaulted() == 2));
    assertEquals(0, sim.stats().streamsOpen());
    assertEquals(0, sim.stats().streamsCancelled());
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
