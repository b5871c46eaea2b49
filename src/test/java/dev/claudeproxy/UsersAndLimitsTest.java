package dev.claudeproxy;

import dev.claudeproxy.internal.users.UsageLedger;

import dev.claudeproxy.internal.server.ProxyServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.json.JsonArray;
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
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Access is enforced and counted at the proxy: tiers and overrides from the users file, limits refused before
 * anything goes upstream, requests shaped on the server, usage by day and model, metrics and access lines.
 */
class UsersAndLimitsTest {
  private static final String ALICE = ApiKeys.generate();
  private static final String SOLO = ApiKeys.generate();
  private static final String THRIFTY = ApiKeys.generate();
  private static final String OPS = ApiKeys.generate();
  private static final String PROMPT = "A secret prompt nobody should log";
  private static final List<String> LOG_LINES = new CopyOnWriteArrayList<>();
  private static final Handler CAPTURE = new Handler() {
    @Override
    public void publish(LogRecord record) {
      LOG_LINES.add(record.getLoggerName() + " " + record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  private static TestStack stack;
  private static Path users;

  @BeforeAll
  static void start() throws Exception {
    Logger.getLogger("").addHandler(CAPTURE);
    Logger.getLogger(AccessLog.LOGGER).addHandler(CAPTURE);
    users = Files.createTempDirectory("csp-users").resolve("users.json");
    Files.writeString(users, """
        {"tiers": {
           "team": {"models": ["claude-sonnet-4-6", "claude-haiku-4-5"], "maxTokens": 12, "requestsPerMinute": 100,
                    "tokensPerMinute": 1000000, "concurrentStreams": 4, "dailyTokens": 5000000,
                    "system": "Answer as the Acme assistant."},
           "tiny": {"dailyTokens": 30, "requestsPerMinute": 3}},
         "users": [
           {"id": "alice", "keys": ["%s"], "tier": "team"},
           {"id": "solo", "keys": ["%s"], "tier": "team", "limits": {"concurrentStreams": 1, "maxTokens": 2000}},
           {"id": "thrifty", "keys": ["%s"], "tier": "tiny"},
           {"id": "ops", "keys": ["%s"], "admin": true}]}
        """.formatted(ApiKeys.hash(ALICE), ApiKeys.hash(SOLO), ApiKeys.hash(THRIFTY), ApiKeys.hash(OPS)));
    stack = TestStack.start(Map.of("PROXY_USERS", users.toString()));
  }

  @AfterAll
  static void stop() {
    stack.close();
    Logger.getLogger("").removeHandler(CAPTURE);
    Logger.getLogger(AccessLog.LOGGER).removeHandler(CAPTURE);
  }

  private static String body(String model, int maxTokens, boolean stream, String text) {
    return new JsonObject().put("model", model).put("max_tokens", maxTokens).put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  private static HttpResponse<String> post(String key, String body, Map<String, String> extra) {
    return stack.post("/v1/messages", body, stack.jsonHeaders(mapWith(extra, "x-api-key", key)));
  }

  private static Map<String, String> mapWith(Map<String, String> m, String k, String v) {
    Map<String, String> out = new java.util.HashMap<>(m);
    out.put(k, v);
    return out;
  }

  @Test
  void aModelOutsideTheTierIs403BeforeGoingUpstream() {
    long before = stack.simulator.stats().requests();
    HttpResponse<String> r = post(ALICE, body("claude-opus-4-6", 10, true, "hi"), Map.of());
    assertEquals(403, r.statusCode(), r.body());
    assertEquals("permission_error", new JsonObject(r.body()).getJsonObject("error").getString("type"));
    assertEquals(before, stack.simulator.stats().requests());
  }

  @Test
  void listsOnlyTheModelsATierAllows() {
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/models"))
        .header("x-api-key", ALICE).build());
    assertEquals(200, r.statusCode());
    List<String> ids = new JsonObject(r.body()).getJsonArray("data").stream()
        .map(m -> ((JsonObject) m).getString("id")).toList();
    assertEquals(List.of("claude-sonnet-4-6", "claude-haiku-4-5"), ids);
    HttpResponse<String> other = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl()
        + "/v1/models/claude-opus-4-6")).header("x-api-key", ALICE).build());
    assertEquals(404, other.statusCode());
    HttpResponse<String> all = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/models"))
        .header("x-api-key", OPS).header("anthropic-version", "2023-06-01").build());
    assertTrue(new JsonObject(all.body()).getJsonArray("data").size() > 2, "no limit: the upstream's list");
  }

  @Test
  void chatConfigOffersTheTiersModelsAndItsTokenCap() {
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/chat/config"))
        .header("x-api-key", ALICE).build());
    assertEquals(200, r.statusCode(), r.body());
    JsonObject config = new JsonObject(r.body());
    assertEquals("alice", config.getString("user"));
    assertEquals("team", config.getString("tier"));
    assertEquals(new JsonArray().add("claude-sonnet-4-6").add("claude-haiku-4-5"), config.getJsonArray("models"));
    assertEquals("claude-sonnet-4-6", config.getString("model"), "the configured default, which the tier allows");
    assertEquals(12, config.getInteger("max_tokens"), "the chat default capped by the tier");
  }

  @Test
  void shapesTheRequestWithTheTierPromptAndTheTokenCap() {
    HttpResponse<String> r = post(ALICE, body("claude-sonnet-4-6", 500, false, PROMPT), Map.of());
    assertEquals(200, r.statusCode(), r.body());
    JsonObject message = new JsonObject(r.body());
    assertEquals("max_tokens", message.getString("stop_reason"), "max_tokens was capped at 12");
    assertEquals(12, message.getJsonObject("usage").getInteger("output_tokens"));
    // The reply is seeded by the system prompt the upstream saw: the tier's.
    JsonObject shaped = new JsonObject(body("claude-sonnet-4-6", 12, false, PROMPT))
        .put("system", "Answer as the Acme assistant.");
    String expected = ReplyPlan.of(shaped, SimulatorConfig.from(TestStack.settings(Map.of()))).text();
    assertEquals(expected, message.getJsonArray("content").getJsonObject(0).getString("text"));
  }

  @Test
  void aSecondStreamOverAConcurrencyLimitOfOneIsRefused() throws Exception {
    CompletableFuture<HttpResponse<String>> first = stack.http().sendAsync(HttpRequest.newBuilder(
            URI.create(stack.proxyUrl() + "/v1/messages"))
        .header("content-type", "application/json").header("x-api-key", SOLO)
        .header("anthropic-version", "2023-06-01").header("x-sim-tokens-per-second", "20")
        .POST(HttpRequest.BodyPublishers.ofString(body("claude-sonnet-4-6", 20, true, "first"))).build(),
        HttpResponse.BodyHandlers.ofString());
    Wire.waitFor(() -> stack.simulator.stats().streamsOpen() == 1, "the first stream to be open");
    HttpResponse<String> second = post(SOLO, body("claude-sonnet-4-6", 20, true, "second"), Map.of());
    assertEquals(429, second.statusCode());
    assertEquals("rate_limit_error", new JsonObject(second.body()).getJsonObject("error").getString("type"));
    assertTrue(second.headers().firstValue("retry-after").isPresent());
    assertEquals(200, first.get().statusCode());
    Wire.waitFor(() -> post(SOLO, body("claude-sonnet-4-6", 5, true, "third"), Map.of()).statusCode() == 200,
        "a place to be free again once the first stream ended");
  }

  @Test
  void theDailyBudgetStopsTheNextRequestOnceSpent() throws Exception {
    HttpResponse<String> first = post(THRIFTY, body("claude-sonnet-4-6", 40, true, "spend it"), Map.of());
    assertEquals(200, first.statusCode());
    Wire.waitFor(() -> ((UsageLedger) stack.proxy.services().ledger()).tokensToday("thrifty") >= 30, "the usage to be recorded");
    HttpResponse<String> next = post(THRIFTY, body("claude-sonnet-4-6", 5, true, "more"), Map.of());
    assertEquals(429, next.statusCode());
    assertTrue(new JsonObject(next.body()).getJsonObject("error").getString("message").contains("daily"));
    long retryAfter = Long.parseLong(next.headers().firstValue("retry-after").orElseThrow());
    assertTrue(retryAfter >= 1 && retryAfter <= 86_400, "until midnight UTC: " + retryAfter);
  }

  @Test
  void usageCountsCompletedAndCancelledStreamsAndAdminsSeeEveryone() throws Exception {
    HttpResponse<String> done = post(ALICE, body("claude-haiku-4-5", 12, true, "count me"), Map.of());
    assertEquals(200, done.statusCode());
    // A stream the client abandons part-way still counts what it used.
    var client = stack.vertx.createHttpClient();
    var options = new io.vertx.core.http.RequestOptions().setMethod(io.vertx.core.http.HttpMethod.POST)
        .setHost("127.0.0.1").setPort(stack.proxy.port()).setURI("/v1/messages")
        .putHeader("content-type", "application/json").putHeader("x-api-key", ALICE)
        .putHeader("anthropic-version", "2023-06-01").putHeader("x-sim-tokens-per-second", "5");
    CompletableFuture<Void> gotDelta = new CompletableFuture<>();
    var response = TestStack.await(client.request(options)
        .compose(req -> req.send(body("claude-haiku-4-5", 12, true, "abandon me")))
        .onSuccess(resp -> resp.handler(chunk -> {
          if (chunk.toString().contains("content_block_delta")) {
            gotDelta.complete(null);
          }
        })));
    gotDelta.get();
    response.request().connection().close();
    Wire.waitFor(() -> usageFor(ALICE, "claude-haiku-4-5").getLong("requests", 0L) == 2, "both to be counted");
    JsonObject haiku = usageFor(ALICE, "claude-haiku-4-5");
    assertTrue(haiku.getLong("output_tokens") > 12, "the completed 12 and part of the cancelled one: " + haiku);
    assertTrue(haiku.getLong("output_tokens") < 24, haiku.encode());
    assertTrue(haiku.getLong("input_tokens") > 0);
    TestStack.await(client.close());

    JsonObject own = usage(ALICE);
    assertEquals("self", own.getString("scope"));
    own.getJsonArray("days").forEach(d -> ((JsonObject) d).getJsonArray("users")
        .forEach(u -> assertEquals("alice", ((JsonObject) u).getString("user"))));
    post(THRIFTY, body("claude-sonnet-4-6", 3, true, "someone else"), Map.of());
    JsonObject all = usage(OPS);
    assertEquals("all", all.getString("scope"));
    assertTrue(all.encode().contains("\"alice\""));
  }

  @Test
  void usageSurvivesARestart() throws Exception {
    post(ALICE, body("claude-sonnet-4-6", 5, true, "remember me"), Map.of());
    Wire.waitFor(() -> usageFor(ALICE, "claude-sonnet-4-6").getLong("requests", 0L) > 0, "usage");
    JsonObject before = ((UsageLedger) stack.proxy.services().ledger()).report(null, 1);
    stack.proxy.services().ledger().sync();
    // A second proxy on the same journal, as after a restart.
    var vertx = io.vertx.core.Vertx.vertx();
    try {
      ProxyServer restarted = TestStack.await(ProxyServer.start(vertx, TestStack.settings(Map.of(
          "PROXY_USERS", users.toString(), "ANTHROPIC_BASE_URL", stack.simulatorUrl(),
          "PROXY_USAGE_FILE", stack.usageFile().toString()))));
      assertEquals(before, ((UsageLedger) restarted.services().ledger()).report(null, 1));
      TestStack.await(restarted.shutdown());
    } finally {
      TestStack.await(vertx.close());
    }
  }

  @Test
  void metricsAndAccessLinesCarryNoSecrets() throws Exception {
    post(ALICE, body("claude-sonnet-4-6", 5, true, PROMPT), Map.of());
    post("sk-csp-wrong-key-" + "x".repeat(20), body("claude-sonnet-4-6", 5, true, PROMPT), Map.of());
    HttpResponse<String> metrics = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/metrics"))
        .build());
    assertEquals(200, metrics.statusCode());
    String scrape = metrics.body();
    for (String meter : List.of("claude_proxy_time_to_first_token_seconds_bucket",
        "claude_proxy_stream_duration_seconds_bucket", "claude_proxy_active_streams",
        "claude_proxy_events_forwarded_total", "claude_proxy_bytes_forwarded_bytes_total",
        "claude_proxy_upstream_responses_total{status=\"200\"}", "claude_proxy_rejections_total",
        "claude_proxy_tokens_total{kind=\"output\",model=\"claude-sonnet-4-6\",tier=\"team\"}")) {
      assertTrue(scrape.contains(meter), meter + " in\n" + scrape);
    }
    assertFalse(scrape.contains("alice"), "no user ids as labels");

    Wire.waitFor(() -> LOG_LINES.stream().anyMatch(l -> l.contains("\"user\":\"alice\"")
        && l.contains("\"outcome\":\"completed\"") && l.contains("output_tokens")), "alice's access line");
    String line = LOG_LINES.stream().filter(l -> l.startsWith(AccessLog.LOGGER) && l.contains("\"user\":\"alice\"")
        && l.contains("\"path\":\"/v1/messages\"") && l.contains("\"streaming\":true")
        && l.contains("\"outcome\":\"completed\"")).findFirst().orElseThrow();
    JsonObject fields = new JsonObject(line.substring(AccessLog.LOGGER.length() + 1));
    for (String field : List.of("request_id", "user", "model", "status", "ttft_ms", "duration_ms", "input_tokens",
        "output_tokens", "outcome")) {
      assertTrue(fields.containsKey(field), field + " in " + line);
    }
    assertTrue(LOG_LINES.stream().anyMatch(l -> l.contains("\"status\":401")), "the refused request is logged");
    for (String secret : List.of(ALICE, SOLO, THRIFTY, OPS, "sk-csp-wrong-key", TestStack.UPSTREAM_KEY, PROMPT)) {
      assertTrue(LOG_LINES.stream().noneMatch(l -> l.contains(secret)), "a log line holds a secret");
    }
  }

  private static JsonObject usage(String key) {
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/usage?days=2"))
        .header("x-api-key", key).build());
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body());
  }

  private static JsonObject usageFor(String key, String model) {
    for (Object day : usage(key).getJsonArray("days")) {
      for (Object user : ((JsonObject) day).getJsonArray("users")) {
        for (Object m : ((JsonObject) user).getJsonArray("models")) {
          if (((JsonObject) m).getString("model").equals(model)) {
            return (JsonObject) m;
          }
        }
      }
    }
    return new JsonObject();
  }
}
