package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two proxies in one {@code Vertx}, on two ports, under two bus prefixes ({@code PROXY_BUS_PREFIX}): each streams only
 * through its own workers (each in front of its own simulator, which answers with a length of its own), and one being
 * stopped leaves the other's streams alone.
 */
class BusPrefixTest {
  private static final int ALPHA_TOKENS = 40;
  private static final int BETA_TOKENS = 7;

  private static String body(String prompt) {
    return new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 512).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", prompt))).encode();
  }

  @Test
  void twoProxiesUnderTwoPrefixesKeepToTheirOwnWorkers() throws Exception {
    Vertx vertx = Vertx.vertx();
    TestStack alpha = TestStack.start(vertx, Map.of("PROXY_BUS_PREFIX", "alpha", "SIM_OUTPUT_TOKENS", ALPHA_TOKENS));
    TestStack beta = TestStack.start(vertx, Map.of("PROXY_BUS_PREFIX", "acme.beta-proxy",
        "SIM_OUTPUT_TOKENS", BETA_TOKENS));
    try {
      assertEquals("alpha.v1.streams", alpha.proxy.config().bus().start());
      assertEquals("acme.beta-proxy.v1.streams", beta.proxy.config().bus().start());
      // Many streams each, so that every HTTP verticle meets every worker on its own event loop, were they shared.
      int rounds = 12;
      for (int i = 0; i < rounds; i++) {
        String prompt = "round " + i;
        assertStreamed(alpha, prompt, ALPHA_TOKENS);
        assertStreamed(beta, prompt, BETA_TOKENS);
      }
      assertEquals(rounds, alpha.simulator.stats().streamsStarted(), "alpha's streams all went to alpha's upstream");
      assertEquals(rounds, beta.simulator.stats().streamsStarted(), "beta's streams all went to beta's upstream");

      // The StreamClient finds each proxy's workers by its prefix, and only those.
      for (TestStack stack : List.of(alpha, beta)) {
        StreamClient client = StreamClient.create(vertx,
            new StreamClientOptions().setBusPrefix(stack.proxy.config().bus().prefix()));
        ClaudeStream stream = TestStack.await(client.messages(StreamRequest.of(new JsonObject(body("client")))));
        CompletableFuture<Void> ended = new CompletableFuture<>();
        stream.handler(e -> { }).endHandler(v -> ended.complete(null)).exceptionHandler(ended::completeExceptionally);
        ended.get(10, TimeUnit.SECONDS);
        assertEquals(stack == alpha ? ALPHA_TOKENS : BETA_TOKENS,
            stream.summary().getJsonObject("usage").getInteger("output_tokens"));
        TestStack.await(client.close());
      }
      assertEquals(rounds + 1, alpha.simulator.stats().streamsStarted());
      assertEquals(rounds + 1, beta.simulator.stats().streamsStarted());

      // A slow stream on each; then beta stops (its HTTP side drains, its workers stop). Alpha's runs on to its end.
      Map<String, String> slow = Map.of("x-sim-tokens-per-second", "40");
      CompletableFuture<HttpResponse<String>> onAlpha = alpha.http().sendAsync(
          request(alpha, body("slow on alpha"), slow), HttpResponse.BodyHandlers.ofString());
      CompletableFuture<HttpResponse<String>> onBeta = beta.http().sendAsync(
          request(beta, body("slow on beta"), Map.of("x-sim-tokens-per-second", "2")),
          HttpResponse.BodyHandlers.ofString());
      Wire.waitFor(() -> alpha.simulator.stats().streamsOpen() == 1 && beta.simulator.stats().streamsOpen() == 1,
          "a stream open on each");
      TestStack.await(beta.proxy.shutdown());
      try {
        HttpResponse<String> cut = onBeta.get(10, TimeUnit.SECONDS);
        assertTrue(Wire.lastEvent(cut.body()).startsWith("event: error\n"), "beta's own stream ends with its drain");
      } catch (java.util.concurrent.ExecutionException connectionClosed) {
        // or its connection goes with the server: either way not a clean end
      }
      HttpResponse<String> whole = onAlpha.get(20, TimeUnit.SECONDS);
      assertEquals(200, whole.statusCode());
      assertEquals(0, Wire.count(whole.body(), "event: error"), whole.body());
      assertTrue(Wire.lastEvent(whole.body()).startsWith("event: message_stop\n"), whole.body());
      assertEquals(ALPHA_TOKENS, Wire.count(whole.body(), "event: content_block_delta"));

      // Alpha still serves, and nothing answers under beta's prefix any more.
      assertStreamed(alpha, "after beta stopped", ALPHA_TOKENS);
      StreamClient toBeta = StreamClient.create(vertx, new StreamClientOptions().setBusPrefix("acme.beta-proxy"));
      ClaudeStreamException none = StreamClientTest.failureOf(
          toBeta.messages(StreamRequest.of(new JsonObject(body("anyone?")))));
      assertEquals(503, none.status());
      TestStack.await(toBeta.close());
    } finally {
      beta.close(); // closes the shared Vertx
      alpha.close();
    }
  }

  @Test
  void aBadPrefixIsAClearConfigurationError() {
    for (String bad : List.of("has space", ".leading", "trailing.", "two..dots", "sl/ash", "x".repeat(101))) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> ProxyConfig.from(TestStack.settings(Map.of("PROXY_BUS_PREFIX", bad))));
      assertTrue(e.getMessage().startsWith("PROXY_BUS_PREFIX: "), e.getMessage());
    }
    assertEquals(BusAddresses.DEFAULT, ProxyConfig.from(TestStack.settings(Map.of())).bus());
    assertEquals("claude-proxy.v1.inbox.x", BusAddresses.DEFAULT.inbox("x"));
    assertEquals("claude-proxy.v1.worker.y", BusAddresses.DEFAULT.worker("y"));
    assertEquals("claude-proxy.v1.usage", BusAddresses.DEFAULT.usage());
  }

  private static void assertStreamed(TestStack stack, String prompt, int tokens) {
    HttpResponse<String> r = stack.send(request(stack, body(prompt), Map.of()));
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(Wire.lastEvent(r.body()).startsWith("event: message_stop\n"), r.body());
    assertEquals(tokens, Wire.count(r.body(), "event: content_block_delta"), r.body());
    String expected = ReplyPlan.of(new JsonObject(body(prompt)), stack.simulator.config()).text();
    StringBuilder text = new StringBuilder();
    for (String line : r.body().split("\n")) {
      if (line.startsWith("data: ") && line.contains("\"text_delta\"")) {
        text.append(new JsonObject(line.substring(6)).getJsonObject("delta").getString("text"));
      }
    }
    assertEquals(expected, text.toString());
  }

  private static HttpRequest request(TestStack stack, String body, Map<String, String> extra) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/messages"))
        .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(body));
    stack.jsonHeaders(extra).forEach(request::header);
    return request.build();
  }
}
