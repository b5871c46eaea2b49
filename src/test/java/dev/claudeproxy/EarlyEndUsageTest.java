package dev.claudeproxy;

import dev.claudeproxy.bus.BusAddresses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.bus.StreamBus;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.simulator.SimulatorStats;
import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A stream that ends before the upstream's final count (the client cancels or disconnects, the upstream fails, cuts
 * or stalls, the worker goes) is charged the output the worker received, estimated from the deltas' text, and the
 * record says it is an estimate. The simulator's count is exact: one token a delta, and it sends
 * {@value #FAULT_AFTER} deltas before a fault.
 */
class EarlyEndUsageTest {
  private static final int FAULT_AFTER = 60;
  private static final String FREE = ApiKeys.generate();
  private static final String CAPPED = ApiKeys.generate();
  private static final String BODY = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":4000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";
  private static final List<String> ACCESS = new CopyOnWriteArrayList<>();
  private static final Handler CAPTURE = new Handler() {
    @Override
    public void publish(LogRecord record) {
      ACCESS.add(record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  /** Held here: java.util.logging keeps loggers only weakly, and a collected one would lose the handler. */
  private static final Logger ACCESS_LOGGER = Logger.getLogger(AccessLog.LOGGER);
  private static final LinkedBlockingQueue<JsonObject> RECORDS = new LinkedBlockingQueue<>();
  private static TestStack stack;
  private static MessageConsumer<Buffer> usage;

  @BeforeAll
  static void start() throws Exception {
    ACCESS_LOGGER.addHandler(CAPTURE);
    Path users = Files.createTempDirectory("csp-early").resolve("users.json");
    Files.writeString(users, """
        {"users": [{"id": "free", "keys": ["%s"]},
                   {"id": "capped", "keys": ["%s"], "limits": {"tokensPerMinute": 60}}]}
        """.formatted(ApiKeys.hash(FREE), ApiKeys.hash(CAPPED)));
    stack = TestStack.start(Map.of("PROXY_USERS", users.toString(), "SIM_FAULT_AFTER_DELTAS", FAULT_AFTER,
        "SIM_OUTPUT_TOKENS", 1000, "UPSTREAM_IDLE_TIMEOUT_MS", 600));
    usage = stack.vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(), m -> RECORDS.add(m.body().toJsonObject()));
    TestStack.await(usage.completion());
  }

  @AfterAll
  static void stop() {
    stack.close();
    ACCESS_LOGGER.removeHandler(CAPTURE);
  }

  @BeforeEach
  void clear() {
    RECORDS.clear();
  }

  private static HttpResponse<String> post(String text, Map<String, String> headers) {
    return post(FREE, text, headers);
  }

  private static HttpResponse<String> post(String key, String text, Map<String, String> headers) {
    Map<String, String> h = stack.jsonHeaders(headers);
    h.put("x-api-key", key);
    return stack.post("/v1/messages", String.format(BODY, text), h);
  }

  /** The usage record of the one call made, checked to be an estimate within 10 % of {@code exact}. */
  private static JsonObject estimated(String outcome, long exact) throws InterruptedException {
    JsonObject record = RECORDS.poll(10, TimeUnit.SECONDS);
    assertTrue(record != null, "no usage record");
    assertEquals(outcome, record.getString("outcome"), record.encode());
    assertEquals(Boolean.TRUE, record.getBoolean("output_tokens_estimated"), record.encode());
    long output = record.getJsonObject("usage").getLong("output_tokens");
    assertTrue(Math.abs(output - exact) <= exact / 10, output + " estimated, " + exact + " sent: " + record.encode());
    return record;
  }

  @Test
  void aMidStreamErrorIsChargedTheDeltasBeforeIt() throws Exception {
    HttpResponse<String> r = post("error", Map.of("x-sim-scenario", "midstream_error"));
    assertEquals(FAULT_AFTER, Wire.count(r.body(), "event: content_block_delta"));
    estimated("upstream_error", FAULT_AFTER);
  }

  @Test
  void anUpstreamDisconnectIsChargedTheDeltasBeforeIt() throws Exception {
    post("cut", Map.of("x-sim-scenario", "disconnect"));
    estimated("failed", FAULT_AFTER);
  }

  @Test
  void anUpstreamThatStallsIsChargedTheDeltasBeforeIt() throws Exception {
    post("stall", Map.of("x-sim-scenario", "stall"));
    estimated("timeout", FAULT_AFTER);
  }

  @Test
  void aClientCancelIsChargedWhatTheUpstreamSent() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long before = stats.deltas();
    earlyClientEnd(response -> response.request().reset());
    JsonObject record = RECORDS.poll(10, TimeUnit.SECONDS);
    RECORDS.add(record);
    estimated("cancelled", stats.deltas() - before);
  }

  @Test
  void aClientDisconnectIsChargedWhatTheUpstreamSent() throws Exception {
    SimulatorStats stats = stack.simulator.stats();
    long before = stats.deltas();
    earlyClientEnd(response -> response.request().connection().close());
    JsonObject record = RECORDS.poll(10, TimeUnit.SECONDS);
    RECORDS.add(record);
    estimated("cancelled", stats.deltas() - before);
  }

  /** Reads a paced stream until 40 deltas came, then ends it with {@code end}. */
  private static void earlyClientEnd(Consumer<HttpClientResponse> end) throws Exception {
    HttpClientAgent client = stack.vertx.createHttpClient();
    try {
      RequestOptions options = new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1")
          .setPort(stack.proxy.port()).setURI("/v1/messages").putHeader("content-type", "application/json")
          .putHeader("x-api-key", FREE).putHeader("anthropic-version", "2023-06-01")
          .putHeader("x-sim-tokens-per-second", "50");
      AtomicInteger deltas = new AtomicInteger();
      CompletableFuture<HttpClientResponse> enough = new CompletableFuture<>();
      TestStack.await(client.request(options).compose(req -> req.send(String.format(BODY, "cancel me")))
          .onSuccess(resp -> resp.handler(chunk -> {
            if (deltas.addAndGet(Wire.count(chunk.toString(), "event: content_block_delta")) >= 40) {
              enough.complete(resp);
            }
          })));
      end.accept(enough.get(30, TimeUnit.SECONDS));
      Wire.waitFor(() -> !RECORDS.isEmpty(), "the usage record");
    } finally {
      TestStack.await(client.close());
    }
  }

  @Test
  void theEstimateIsChargedToTheLimitsAndMarkedInTheJournalAndTheAccessLine() throws Exception {
    // The cap is 60 tokens a minute: an early end that counted 1 output token would leave room for more.
    post(CAPPED, "limit", Map.of("x-sim-scenario", "midstream_error"));
    JsonObject record = estimated("upstream_error", FAULT_AFTER);
    long output = record.getJsonObject("usage").getLong("output_tokens");
    HttpResponse<String> next = post(CAPPED, "again", Map.of());
    assertEquals(429, next.statusCode(), next.body());
    assertTrue(next.body().contains("tokens per minute"), next.body());

    HttpResponse<String> rows = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/usage"))
        .header("x-api-key", CAPPED).build());
    JsonObject row = new JsonObject(rows.body()).getJsonArray("days").getJsonObject(0).getJsonArray("users")
        .getJsonObject(0).getJsonArray("models").getJsonObject(0);
    assertTrue(row.getLong("estimated_output_tokens") >= output, row.encode());
    stack.proxy.services().ledger().sync();
    assertTrue(Files.readAllLines(stack.usageFile()).stream().anyMatch(l -> l.contains("\"user\":\"capped\"")
        && l.contains("\"estimated_output_tokens\":" + output)), "the journal line");
    try {
      Wire.waitFor(() -> ACCESS.stream().anyMatch(l -> l.contains("\"output_tokens\":" + output)
          && l.contains("\"output_tokens_estimated\":true")), "the access line");
    } catch (AssertionError e) {
      throw new AssertionError("no access line with the estimate in " + ACCESS, e);
    }
  }

  @Test
  void aLostWorkerChargesWhatTheUpstreamSent() throws Exception {
    try (TestStack own = TestStack.start(Map.of("PROXY_DRAIN_MS", 0))) {
      LinkedBlockingQueue<JsonObject> records = new LinkedBlockingQueue<>();
      MessageConsumer<Buffer> consumer = own.vertx.eventBus().consumer(BusAddresses.DEFAULT.usage(),
          m -> records.add(m.body().toJsonObject()));
      TestStack.await(consumer.completion());
      SimulatorStats stats = own.simulator.stats();
      CompletableFuture<HttpResponse<String>> response = own.http().sendAsync(HttpRequest.newBuilder(
              URI.create(own.proxyUrl() + "/v1/messages")).header("content-type", "application/json")
          .header("x-api-key", own.callerKey).header("anthropic-version", "2023-06-01")
          .header("x-sim-tokens-per-second", "50").header("x-sim-output-tokens", "1000")
          .POST(HttpRequest.BodyPublishers.ofString(String.format(BODY, "worker leaves"))).build(),
          HttpResponse.BodyHandlers.ofString());
      Wire.waitFor(() -> stats.deltas() >= 40, "the stream to be under way");
      TestStack.await(own.vertx.undeploy(own.proxy.workersDeployment()));
      response.get(10, TimeUnit.SECONDS);
      JsonObject record = records.poll(10, TimeUnit.SECONDS);
      long exact = stats.deltas();
      assertEquals("worker_stopped", record.getString("outcome"), record.encode());
      assertEquals(Boolean.TRUE, record.getBoolean("output_tokens_estimated"), record.encode());
      long output = record.getJsonObject("usage").getLong("output_tokens");
      assertTrue(Math.abs(output - exact) <= exact / 10, output + " estimated, " + exact + " sent");
    }
  }
}
