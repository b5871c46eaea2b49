package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The stream as bytes on the wire: what the proxy passes through, and how it ends streams that break. */
class StreamRelayTest {
  private static final String REQUEST = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":300,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"Relay me byte for byte\"}]}";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void forwardsTheUpstreamEventsByteForByte() {
    HttpResponse<String> direct = stack.send(HttpRequest.newBuilder(URI.create(stack.simulatorUrl() + "/v1/messages"))
        .header("content-type", "application/json").header("x-api-key", TestStack.UPSTREAM_KEY)
        .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(REQUEST)).build());
    HttpResponse<String> proxied = stack.post("/v1/messages", REQUEST, stack.jsonHeaders(Map.of()));
    assertEquals(200, proxied.statusCode());
    assertEquals("text/event-stream; charset=utf-8", proxied.headers().firstValue("content-type").orElse(""));
    assertEquals("no-cache", proxied.headers().firstValue("cache-control").orElse(""));
    assertEquals("no", proxied.headers().firstValue("x-accel-buffering").orElse(""));
    assertTrue(proxied.headers().firstValue("request-id").orElse("").startsWith("req_"));
    assertTrue(proxied.headers().map().keySet().stream().anyMatch(h -> h.startsWith("anthropic-ratelimit-")));
    // Ids are fresh per call; everything else must be the same bytes.
    assertEquals(withoutIds(direct.body()), withoutIds(proxied.body()));
    assertTrue(proxied.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
  }

  @Test
  void passesTheUpstreamsOwnErrorEventOnAndAddsNoMessageStop() {
    HttpResponse<String> r = stack.post("/v1/messages", REQUEST,
        stack.jsonHeaders(Map.of("x-sim-scenario", "midstream_error")));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("event: content_block_delta"), "what was delivered stays delivered");
    assertTrue(r.body().endsWith("\n\n"));
    String last = Wire.lastEvent(r.body());
    assertTrue(last.startsWith("event: error\ndata: "), last);
    assertTrue(last.contains("overloaded_error"), last);
    assertFalse(r.body().contains("message_stop"));
  }

  @Test
  void aCutUpstreamBecomesAnErrorEventNotACleanEnd() {
    HttpResponse<String> r = stack.post("/v1/messages", REQUEST,
        stack.jsonHeaders(Map.of("x-sim-scenario", "disconnect")));
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("event: content_block_delta"));
    String last = Wire.lastEvent(r.body());
    assertTrue(last.startsWith("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\""), last);
    assertFalse(r.body().contains("message_stop"));
  }

  @Test
  void upstreamErrorsBeforeTheStreamKeepStatusBodyAndRetryAfter() {
    HttpResponse<String> r = stack.post("/v1/messages", REQUEST,
        stack.jsonHeaders(Map.of("x-sim-scenario", "rate_limited")));
    assertEquals(429, r.statusCode());
    assertTrue(r.headers().firstValue("retry-after").isPresent());
    assertTrue(r.body().contains("\"rate_limit_error\""), r.body());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
  }

  @Test
  void passesInvalidRequestErrorsFromUpstreamThrough() {
    String unknownModel = REQUEST.replace("claude-sonnet-4-6", "nonexistent-model-9");
    HttpResponse<String> r = stack.post("/v1/messages", unknownModel, stack.jsonHeaders(Map.of()));
    assertEquals(404, r.statusCode());
    assertTrue(r.body().contains("not_found_error"), r.body());
  }

  @Test
  void cancelsTheUpstreamStreamWhenTheClientDisconnects() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long cancelledBefore = stats.streamsCancelled();
    HttpClientAgent client = stack.vertx.createHttpClient();
    try {
      CompletableFuture<Void> gotData = new CompletableFuture<>();
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
          .setPort(stack.proxy.port()).setURI("/v1/messages")
          .putHeader("content-type", "application/json").putHeader("x-api-key", stack.callerKey)
          .putHeader("anthropic-version", "2023-06-01")
          .putHeader("x-sim-tokens-per-second", "5").putHeader("x-sim-output-tokens", "1000");
      HttpClientResponse response = TestStack.await(client.request(options)
          .compose(req -> req.send(Buffer.buffer(REQUEST.replace("Relay me", "Cancel me"))))
          .onSuccess(resp -> resp.handler(chunk -> gotData.complete(null))));
      assertEquals(200, response.statusCode());
      gotData.get(10, TimeUnit.SECONDS);
      assertEquals(1, stats.streamsOpen());
      response.request().connection().close();
      Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1, "the upstream stream to be cancelled");
      Wire.waitFor(() -> stats.streamsOpen() == 0, "no upstream stream left open");
    } finally {
      TestStack.await(client.close());
    }
  }

  private static String withoutIds(String body) {
    return body.replaceAll("\"(msg|toolu|req)_[A-Za-z0-9]+\"", "\"$1_ID\"");
  }
}
