package dev.claudeproxy;

import dev.claudeproxy.bus.BusAddresses;
import dev.claudeproxy.internal.server.ProxyServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.errors.InternalServerException;
import com.anthropic.models.messages.MessageCreateParams;
import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A closed client cancels upstream at once; failures before the first byte are retried, none after it. */
class CancelAndRetryTest {
  private static final String STREAM = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":2000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("SIM_RETRY_AFTER_S", 0.2));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  @Test
  void aClosedStreamCancelsUpstreamPromptlyAndStillReportsItsUsage() throws Exception {
    LinkedBlockingQueue<JsonObject> outcomes = new LinkedBlockingQueue<>();
    MessageConsumer<Buffer> usage = stack.vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(),
        m -> outcomes.add(m.body().toJsonObject()));
    TestStack.await(usage.completion());
    SimulatorStats stats = stack.simulator.stats();
    long cancelledBefore = stats.streamsCancelled();
    HttpClientAgent client = stack.vertx.createHttpClient();
    try {
      HttpClientResponse response = openSlowStream(client, String.format(STREAM, "cancel me"), 3);
      long closedAt = System.nanoTime();
      response.request().connection().close();
      Wire.waitFor(() -> stats.streamsCancelled() == cancelledBefore + 1, "the upstream cancel");
      long millis = (System.nanoTime() - closedAt) / 1_000_000;
      System.out.println("upstream cancelled " + millis + " ms after the client closed");
      assertTrue(millis < 1_000, "cancel took " + millis + " ms");
      JsonObject outcome = outcomes.poll(5, TimeUnit.SECONDS);
      assertEquals("cancelled", outcome.getString("outcome"));
      assertTrue(outcome.getJsonObject("usage").getInteger("output_tokens") >= 1, outcome.encode());
      assertTrue(outcome.getJsonObject("usage").getInteger("input_tokens") >= 1, outcome.encode());
    } finally {
      TestStack.await(usage.unregister());
      TestStack.await(client.close());
    }
  }

  @Test
  void aClosedNonStreamingRequestCancelsUpstreamToo() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long before = stats.messagesCancelled();
    HttpClientAgent client = stack.vertx.createHttpClient();
    try {
      RequestOptions options = jsonRequest().putHeader("x-sim-tokens-per-second", "20")
          .putHeader("x-sim-output-tokens", "400");
      CompletableFuture<Void> sent = new CompletableFuture<>();
      client.request(options).onSuccess(req -> {
        req.end(String.format(STREAM, "slow whole answer").replace("\"stream\":true,", ""));
        req.connection().closeHandler(v -> { });
        stack.vertx.setTimer(300, id -> {
          req.connection().close();
          sent.complete(null);
        });
      });
      sent.get(5, TimeUnit.SECONDS);
      Wire.waitFor(() -> stats.messagesCancelled() == before + 1, "the upstream cancel");
    } finally {
      TestStack.await(client.close());
    }
  }

  @Test
  void retriesOverloadedUpstreamsBeforeTheFirstByte() {
    long requestsBefore = stack.simulator.stats().requests();
    long started = System.nanoTime();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "retry twice"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "fail_then_succeed:2")));
    long millis = (System.nanoTime() - started) / 1_000_000;
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    assertEquals(3, stack.simulator.stats().requests() - requestsBefore, "two refusals, then the answer");
    assertTrue(millis >= 400, "retry-after (0.2 s) was honoured twice: " + millis + " ms");
  }

  @Test
  void givesUpAfterTheConfiguredAttemptsWithTheUpstreamsAnswer() {
    long requestsBefore = stack.simulator.stats().requests();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "never works"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "overloaded")));
    assertEquals(529, r.statusCode());
    assertTrue(r.body().contains("overloaded_error"));
    assertTrue(r.headers().firstValue("retry-after").isPresent());
    assertEquals("false", r.headers().firstValue("x-should-retry").orElse("none"), "the proxy has retried already");
    assertEquals(3, stack.simulator.stats().requests() - requestsBefore, "UPSTREAM_MAX_ATTEMPTS defaults to 3");
  }

  @Test
  void anSdkWithItsDefaultRetriesDoesNotMultiplyTheProxysAttempts() {
    long requestsBefore = stack.simulator.stats().requests();
    MessageCreateParams params = MessageCreateParams.builder().model("claude-sonnet-4-6").maxTokens(100)
        .addUserMessage("overloaded for good").putAdditionalHeader("x-sim-scenario", "overloaded").build();
    // The SDK's default: two retries of its own on a 529, unless the answer says not to.
    InternalServerException e = assertThrows(InternalServerException.class,
        () -> TestStack.sdk(stack.proxyUrl(), stack.callerKey, 2).messages().create(params));
    assertEquals(529, e.statusCode());
    assertEquals(List.of("false"), e.headers().values("x-should-retry"));
    assertEquals(3, stack.simulator.stats().requests() - requestsBefore,
        "UPSTREAM_MAX_ATTEMPTS attempts for one SDK call, not three times as many");
  }

  @Test
  void clientsMayBeAllowedToRetryOnTopOfTheProxy() {
    try (TestStack lenient = TestStack.start(Map.of("PROXY_CLIENT_SHOULD_RETRY", true, "SIM_RETRY_AFTER_S", 0))) {
      HttpResponse<String> r = lenient.post("/v1/messages", String.format(STREAM, "retry if you like"),
          lenient.jsonHeaders(Map.of("x-sim-scenario", "overloaded")));
      assertEquals(529, r.statusCode());
      assertEquals("none", r.headers().firstValue("x-should-retry").orElse("none"), "the upstream's headers as sent");
    }
  }

  @Test
  void anUpstreamRefusalThatWasNotRetriedKeepsItsOwnHeaders() {
    long requestsBefore = stack.simulator.stats().requests();
    HttpResponse<String> r = stack.post("/v1/messages", "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":10000000,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", stack.jsonHeaders(Map.of()));
    assertEquals(400, r.statusCode(), r.body());
    assertFalse(r.headers().firstValue("x-should-retry").isPresent(), "nothing added to an answer not retried");
    assertEquals(1, stack.simulator.stats().requests() - requestsBefore);
  }

  @Test
  void obeysXShouldRetryFalse() {
    long requestsBefore = stack.simulator.stats().requests();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "do not retry"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "rate_limited", "x-sim-should-retry", "false")));
    assertEquals(429, r.statusCode());
    assertEquals("false", r.headers().firstValue("x-should-retry").orElse(""));
    assertEquals(1, stack.simulator.stats().requests() - requestsBefore);
  }

  @Test
  void neverRetriesOnceBytesReachedTheClient() {
    long requestsBefore = stack.simulator.stats().requests();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "fail midway"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "midstream_error")));
    assertEquals(200, r.statusCode());
    assertTrue(Wire.lastEvent(r.body()).startsWith("event: error\n"));
    assertEquals(1, stack.simulator.stats().requests() - requestsBefore);
  }

  @Test
  void aCutUpstreamConnectionEndsTheStreamWithAPlainSentence() {
    HttpResponse<String> r = stack.post("/v1/messages", String.format(STREAM, "cut me off"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "disconnect")));
    assertEquals(200, r.statusCode());
    String last = Wire.lastEvent(r.body());
    assertTrue(last.startsWith("event: error\n"), last);
    JsonObject error = new JsonObject(last.substring(last.indexOf("data: ") + 6).trim()).getJsonObject("error");
    assertEquals("api_error", error.getString("type"));
    assertEquals("The upstream connection was lost before the response finished", error.getString("message"));
  }

  @Test
  void reportsAnUnreachableUpstreamAfterRetrying() throws Exception {
    java.nio.file.Path users = java.nio.file.Files.createTempDirectory("csp").resolve("users.json");
    String key = dev.claudeproxy.internal.users.ApiKeys.generate();
    dev.claudeproxy.internal.users.UsersFile.addKey(users, "tester", key);
    // Nothing listens on port 1: every attempt fails to connect. A Vert.x of its own, since all the workers on one
    // event bus serve all its HTTP verticles.
    io.vertx.core.Vertx vertx = io.vertx.core.Vertx.vertx();
    ProxyServer unreachable = TestStack.await(ProxyServer.start(vertx, TestStack.settings(Map.of(
        "ANTHROPIC_BASE_URL", "http://127.0.0.1:1", "UPSTREAM_RETRY_BASE_MS", 5,
        "PROXY_USERS", users.toString(), "PROXY_USAGE_FILE", users.resolveSibling("usage.jsonl").toString()))));
    try {
      java.net.http.HttpRequest.Builder request = java.net.http.HttpRequest.newBuilder(
              java.net.URI.create("http://127.0.0.1:" + unreachable.port() + "/v1/messages"))
          .POST(java.net.http.HttpRequest.BodyPublishers.ofString(String.format(STREAM, "anyone there?")));
      stack.jsonHeaders(Map.of("x-api-key", key)).forEach(request::header);
      HttpResponse<String> r = stack.send(request.build());
      assertEquals(502, r.statusCode(), r.body());
      JsonObject error = new JsonObject(r.body()).getJsonObject("error");
      assertEquals("api_error", error.getString("type"));
      assertEquals("The upstream API could not be reached after 3 attempts", error.getString("message"));
      assertEquals("false", r.headers().firstValue("x-should-retry").orElse("none"));
    } finally {
      TestStack.await(unreachable.shutdown());
      TestStack.await(vertx.close());
    }
  }

  private RequestOptions jsonRequest() {
    return new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(stack.proxy.port())
        .setURI("/v1/messages").putHeader("content-type", "application/json").putHeader("x-api-key", stack.callerKey)
        .putHeader("anthropic-version", "2023-06-01");
  }

  /** Opens a stream of a token every 1/tps seconds and returns once its first bytes arrived. */
  private HttpClientResponse openSlowStream(HttpClientAgent client, String body, int tps) throws Exception {
    CompletableFuture<Void> gotData = new CompletableFuture<>();
    RequestOptions options = jsonRequest().putHeader("x-sim-tokens-per-second", Integer.toString(tps))
        .putHeader("x-sim-output-tokens", "1000");
    HttpClientResponse response = TestStack.await(client.request(options)
        .compose(req -> req.send(Buffer.buffer(body)))
        .onSuccess(resp -> resp.handler(chunk -> {
          if (chunk.toString().contains("content_block_delta")) {
            gotData.complete(null);
          }
        })));
    assertEquals(200, response.statusCode());
    gotData.get(10, TimeUnit.SECONDS);
    return response;
  }
}
