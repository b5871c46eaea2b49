package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.core.http.StreamResponse;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** With {@code UPSTREAM_PROTOCOL=h2c} streams go upstream over HTTP/2 in clear text, many to a connection. */
class Http2UpstreamTest {
  private static final int STREAMS = 40;
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("UPSTREAM_PROTOCOL", "h2c", "PROXY_WORKER_INSTANCES", 2));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void theSdkGetsTheSameStreamOverAnHttp2Upstream() {
    MessageCreateParams params = MessageCreateParams.builder().model("claude-sonnet-4-6").maxTokens(200)
        .addUserMessage("Tell me about multiplexing.").build();
    SimulatorStats stats = stack.simulator.stats();
    Message direct = stream(stack.direct(0), params);
    long before = stats.http2Requests();
    Message proxied = stream(stack.viaProxy(0), params);
    assertEquals(before + 1, stats.http2Requests(), "the proxied call went upstream over HTTP/2");
    assertFalse(direct.content().isEmpty());
    assertEquals(direct.content().toString(), proxied.content().toString());
    assertEquals(direct.usage().outputTokens(), proxied.usage().outputTokens());
    assertEquals(direct.stopReason(), proxied.stopReason());
  }

  @Test
  void manyStreamsShareAFewConnectionsAndCancelOneStreamAtATime() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long cancelledBefore = stats.streamsCancelled();
    HttpClientAgent client = stack.vertx.createHttpClient(new HttpClientOptions(),
        new PoolOptions().setHttp1MaxSize(STREAMS));
    // One after another, so that each worker's pool has its connection before the next stream asks for one (a
    // burst of first requests would rightly open a few connections at once).
    Future<Void> opened = Future.succeededFuture();
    for (int i = 0; i < STREAMS; i++) {
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
          .setPort(stack.proxy.port()).setURI("/v1/messages").putHeader("content-type", "application/json")
          .putHeader("x-api-key", stack.callerKey).putHeader("anthropic-version", "2023-06-01")
          .putHeader("x-sim-tokens-per-second", "5").putHeader("x-sim-output-tokens", "1000");
      String body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":2000,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"stream " + i + "\"}]}";
      opened = opened.compose(v -> client.request(options)).compose(req -> req.send(Buffer.buffer(body)))
          .compose(resp -> {
            assertEquals(200, resp.statusCode());
            io.vertx.core.Promise<Void> data = io.vertx.core.Promise.promise();
            resp.handler(chunk -> data.tryComplete());
            return data.future();
          });
    }
    try {
      TestStack.await(opened);
      assertEquals(STREAMS, stats.streamsOpen());
      long connections = stats.toJson().getLong("http2ConnectionsOpen");
      System.out.println(STREAMS + " upstream streams on " + connections + " HTTP/2 connections");
      assertTrue(connections >= 1 && connections <= 2, "one connection per worker at most: " + connections);
    } finally {
      TestStack.await(client.close());
    }
    Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + STREAMS, "every upstream stream cancelled");
    Wire.waitFor(() -> stats.streamsOpen() == 0, "no upstream stream left open");
    assertTrue(stats.toJson().getLong("http2ConnectionsOpen") >= 1, "a reset stream leaves its connection open");
  }

  @Test
  void aResetUpstreamStreamEndsWithAPlainSentenceNotTheResetCode() {
    java.net.http.HttpResponse<String> r = stack.post("/v1/messages", "{\"model\":\"claude-sonnet-4-6\","
        + "\"max_tokens\":500,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"cut\"}]}",
        stack.jsonHeaders(Map.of("x-sim-scenario", "disconnect")));
    assertEquals(200, r.statusCode());
    // The reset may come before any event was forwarded: then the error is the only event.
    String last = r.body().substring(r.body().lastIndexOf("event: "));
    assertTrue(last.startsWith("event: error\n"), last);
    String message = new io.vertx.core.json.JsonObject(last.substring(last.indexOf("data: ") + 6).trim())
        .getJsonObject("error").getString("message");
    assertEquals("The upstream connection was lost before the response finished", message);
  }

  @Test
  void anUnknownProtocolIsRefusedAtStart() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> ProxyConfig.from(TestStack.settings(Map.of("UPSTREAM_PROTOCOL", "h3"))));
    assertEquals("UPSTREAM_PROTOCOL must be auto, h2c or http1, got h3", e.getMessage());
  }

  private static Message stream(com.anthropic.client.AnthropicClient client, MessageCreateParams params) {
    MessageAccumulator accumulator = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> events = client.messages().createStreaming(params)) {
      events.stream().forEach(accumulator::accumulate);
    }
    return accumulator.message();
  }
}
