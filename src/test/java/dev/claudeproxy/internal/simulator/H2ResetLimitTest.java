package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * {@code SIM_H2_RESET_LIMIT}: like a server built on Netty, the simulator closes an HTTP/2 connection whose client
 * resets more streams within 30 s than the limit allows, and every other stream on that connection dies with it.
 */
class H2ResetLimitTest {
  private static Vertx vertx;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(vertx.close());
  }

  @Test
  void theLimitIsVertxsDefaultUnlessSet() {
    assertEquals(200, SimulatorConfig.defaults().h2ResetLimit());
    assertEquals(5, SimulatorConfig.from(new Settings(new JsonObject().put("SIM_H2_RESET_LIMIT", "5")))
        .h2ResetLimit());
    Executable zero = () -> SimulatorConfig.from(new Settings(new JsonObject().put("SIM_H2_RESET_LIMIT", "0")));
    assertTrue(org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class, zero).getMessage()
        .contains("SIM_H2_RESET_LIMIT"));
  }

  @Test
  void resetsPastTheLimitCloseTheConnectionAndItsOtherStreams() {
    assertEquals("broken", survivorAfterResets(5, 10), "ten resets against a limit of five");
    assertEquals("ended", survivorAfterResets(200, 10), "ten resets against the default limit of 200");
  }

  /**
   * Opens one slow stream on a single HTTP/2 connection, then {@code resets} more streams on it, each reset once its
   * head came; says how the first stream ended: {@code ended} cleanly or {@code broken}.
   */
  private static String survivorAfterResets(int limit, int resets) {
    Simulator sim = SimTestSupport.start(vertx, SimTestSupport.fast().withTiming(0, 20, 0).withH2ResetLimit(limit));
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
        .setHttp2ClearTextUpgrade(false), new PoolOptions().setHttp2MaxSize(1));
    try {
      Promise<String> survivor = Promise.promise();
      HttpClientResponse first = SimTestSupport.await(stream(client, sim, "40"));
      first.exceptionHandler(e -> survivor.tryComplete("broken"));
      first.endHandler(v -> survivor.tryComplete("ended"));
      first.handler(chunk -> { });
      for (int i = 0; i < resets && !survivor.future().isComplete(); i++) {
        // Once the simulator has had enough, it sends GOAWAY (ENHANCE_YOUR_CALM) and the next stream cannot start.
        Future<HttpClientResponse> other = stream(client, sim, "40").compose(r -> r.request().reset().map(r));
        other.toCompletionStage().toCompletableFuture().handle((r, e) -> r).join();
      }
      return SimTestSupport.await(survivor.future());
    } finally {
      SimTestSupport.await(client.close());
      SimTestSupport.await(sim.close());
    }
  }

  private static Future<HttpClientResponse> stream(HttpClient client, Simulator sim, String tokens) {
    JsonObject body = SimTestSupport.request("claude-sonnet-4-6", 1024, "hello").put("stream", true);
    return client.request(HttpMethod.POST, sim.port(), "127.0.0.1", "/v1/messages")
        .compose(r -> r.putHeader("anthropic-version", "2023-06-01").putHeader("content-type", "application/json")
            .putHeader("x-sim-output-tokens", tokens).send(body.encode()));
  }
}
