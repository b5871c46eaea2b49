package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Raw streamed bytes, read with the Vert.x HTTP client and checked against the protocol page. */
class SseFramingTest {
  private static Vertx vertx;
  private static Simulator sim;
  private static HttpClient client;
  private static Context context;

  /** A raw response: status, headers, body and how many network chunks carried it. */
  record Raw(int status, MultiMap headers, String body, int chunks) {
  }

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withOutputTokens(40));
    client = vertx.createHttpClient();
    context = vertx.getOrCreateContext();
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(client.close());
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  static Raw post(JsonObject body, String... headers) {
    return onLoop(() -> client.request(HttpMethod.POST, sim.port(), "127.0.0.1", "/v1/messages")
        .compose(req -> {
          req.putHeader("content-type", "application/json").putHeader("anthropic-version", "2023-06-01");
          for (int i = 0; i < headers.length; i += 2) {
            req.putHeader(headers[i], headers[i + 1]);
          }
          return req.send(body.encode());
        })
        .compose(resp -> collect(resp)));
  }

  static <T> T onLoop(Supplier<Future<T>> work) {
    return SimTestSupport.onLoop(context, work);
  }

  private static Future<Raw> collect(HttpClientResponse resp) {
    List<Buffer> chunks = new ArrayList<>();
    resp.handler(chunks::add);
    return resp.end().map(v -> {
      Buffer all = Buffer.buffer();
      chunks.forEach(all::appendBuffer);
      return new Raw(resp.statusCode(), resp.headers(), all.toString(StandardCharsets.UTF_8), chunks.size());
    });
  }

  static JsonObject weatherTool() {
    JsonObject schema = new JsonObject()
        .put("type", "object")
        .put("properties", new JsonObject()
            .put("location", new JsonObject().put("type", "string"))
            .put("unit", new JsonObject().put("type", "string").put("enum", new JsonArray().add("c").add("f")))
            .put("days", new JsonObject().put("type", "integer").put("minimum", 1).put("maximum", 7))
            .put("detailed", new JsonObject().put("type", "boolean"))
            .put("threshold", new JsonObject().put("type", "number").put("minimum", 0.5).put("maximum", 2.5))
            .put("tags", new JsonObject().put("type", "array").put("items", new JsonObject().put("type", "string"))
                .put("minItems", 1))
            .put("window", new JsonObject().put("type", "object")
                .put("properties", new JsonObject().put("from", new JsonObject().put("type", "string"))
                    .put("hours", new JsonObject().put("type", "integer").put("minimum", 0)))
                .put("required", new JsonArray().add("from").add("hours"))))
        .put("required", new JsonArray().add("location").add("unit").add("days"));
    return new JsonObject().put("name", "get_weather").put("description", "Weather for a place")
        .put("input_schema", schema);
  }

  @Test
  void textStreamIsFramedExactlyAndCarriesThePlannedText() {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 1000, "Tell me about streams").put("stream", true);
    Raw raw = post(req);
    assertEquals(200, raw.status());
    assertEquals("text/event-stream; charset=utf-8", raw.headers().get("content-type"));
    assertEquals("no-cache", raw.headers().get("cache-control"));
    assertTrue(raw.headers().get("request-id").startsWith("req_"));
    for (String kind : new String[] {"requests", "tokens", "input-tokens", "output-tokens"}) {
      String prefix = "anthropic-ratelimit-" + kind + "-";
      assertTrue(Long.parseLong(raw.headers().get(prefix + "limit")) > 0, prefix + "limit");
      assertTrue(Long.parseLong(raw.headers().get(prefix + "remaining")) >= 0, prefix + "remaining");
      // RFC 3339, as the real API sends it.
      Instant.from(DateTimeFormatter.ISO_INSTANT.parse(raw.headers().get(prefix + "reset")));
    }
    assertFalse(raw.body().startsWith("id:") || raw.body().contains("\nid:"), "no id: fields");
    assertFalse(raw.body().contains("\nretry:"), "no retry: fields");

    SseTranscript t = SseTranscript.check(raw.body(), true);
    ReplyPlan plan = ReplyPlan.of(req, 40);
    assertEquals(List.of("text"), t.blocks.stream().map(b -> b.type).toList());
    assertEquals(plan.text(), t.text());
    assertEquals(40, t.blocks.get(0).deltas, "one delta per token");
    assertEquals("end_turn", t.stopReason());
    assertEquals(40, t.outputTokens());
    assertEquals(plan.inputTokens(), t.messageStart.getJsonObject("usage").getInteger("input_tokens"));
    assertEquals(1, t.messageStart.getJsonObject("usage").getInteger("output_tokens"));
    assertEquals(1, t.pings);
    assertEquals(List.of("message_start", "content_block_start", "ping", "content_block_delta"),
        t.names.subList(0, 4), "a ping right after the first content_block_start");
  }

  @Test
  void thinkingThenTextThenToolUse() {
    JsonObject req = SimTestSupport.request("claude-opus-4-6", 4096, "What's the weather in Paris?")
        .put("stream", true)
        .put("thinking", new JsonObject().put("type", "enabled").put("budget_tokens", 2048))
        .put("tools", new JsonArray().add(weatherTool()));
    Raw raw = post(req);
    SseTranscript t = SseTranscript.check(raw.body(), true);
    ReplyPlan plan = ReplyPlan.of(req, 40);
    assertEquals(List.of("thinking", "text", "tool_use"), t.blocks.stream().map(b -> b.type).toList());
    assertEquals(plan.thinking(), t.blocks.get(0).text.toString());
    assertEquals(21, t.blocks.get(0).deltas, "20 thinking tokens (half of 40) plus one signature delta");
    assertEquals(plan.blocks().get(0).signature(), t.blocks.get(0).signature);
    assertEquals(plan.text(), t.text());
    SseTranscript.Block tool = t.blocks.get(2);
    assertEquals("get_weather", tool.start.getString("name"));
    assertEquals(plan.toolUse().id(), tool.start.getString("id"));
    assertTrue(tool.jsonPieces.size() >= 3, "the input arrives in several pieces");
    JsonObject input = new JsonObject(tool.json.toString());
    assertEquals(plan.toolUse().input(), input);
    SchemaCheck.assertValid(weatherTool().getJsonObject("input_schema"), input);
    assertEquals("tool_use", t.stopReason());
    assertEquals(plan.outputTokens(), t.outputTokens());
  }

  @Test
  void midstreamErrorEndsTheBodyAfterTheConfiguredDeltas() {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 1000, "fail please").put("stream", true);
    Raw raw = post(req, "x-sim-scenario", "midstream_error");
    assertEquals(200, raw.status());
    SseTranscript t = SseTranscript.check(raw.body(), false);
    assertNotNull(t.error);
    assertEquals("overloaded_error", t.error.getString("type"));
    assertEquals("error", t.names.get(t.names.size() - 1));
    assertEquals(3, t.count("content_block_delta"), "SIM_FAULT_AFTER_DELTAS defaults to 3");
    assertEquals(0, t.count("message_stop"));
    assertTrue(raw.body().endsWith("\n\n"));
    assertTrue(ReplyPlan.of(req, 40).text().startsWith(t.text()), "the deltas before the error are real");
  }

  @Test
  void maxTokensZeroIsAnEmptyMessage() {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 0, "warm the cache").put("stream", true);
    SseTranscript t = SseTranscript.check(post(req).body(), true);
    assertEquals(List.of("message_start", "message_delta", "message_stop"), t.names);
    assertEquals("max_tokens", t.stopReason());
    assertEquals(0, t.outputTokens());
    assertEquals(0, t.messageStart.getJsonObject("usage").getInteger("output_tokens"));
  }

  @Test
  void nonStreamingReturnsTheSameContentAsTheStream() {
    JsonObject req = SimTestSupport.request("claude-haiku-4-5", 300, "same content please")
        .put("tools", new JsonArray().add(weatherTool()))
        .put("tool_choice", new JsonObject().put("type", "auto"));
    Raw whole = post(req);
    assertEquals(200, whole.status());
    assertEquals("application/json", whole.headers().get("content-type"));
    JsonObject message = new JsonObject(whole.body());
    SseTranscript t = SseTranscript.check(post(req.copy().put("stream", true)).body(), true);
    JsonArray content = message.getJsonArray("content");
    assertEquals(t.blocks.size(), content.size());
    assertEquals(t.text(), content.getJsonObject(0).getString("text"));
    assertEquals(new JsonObject(t.blocks.get(1).json.toString()), content.getJsonObject(1).getJsonObject("input"));
    assertEquals(t.stopReason(), message.getString("stop_reason"));
    assertEquals(t.outputTokens(), message.getJsonObject("usage").getInteger("output_tokens"));
    assertTrue(message.getString("id").startsWith("msg_"));
    assertEquals("standard", message.getJsonObject("usage").getString("service_tier"));
  }

  @Test
  void unicodeAndEscapesSurviveInToolInput() {
    JsonObject tool = new JsonObject().put("name", "echo").put("input_schema", new JsonObject()
        .put("type", "object")
        .put("properties", new JsonObject().put("mood", new JsonObject()
            .put("enum", new JsonArray().add("naïve \"quoted\" \\ 😀 line\nbreak")))));
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 500, "echo").put("stream", true)
        .put("tools", new JsonArray().add(tool)).put("tool_choice", new JsonObject().put("type", "any"));
    SseTranscript t = SseTranscript.check(post(req).body(), true);
    assertEquals(List.of("tool_use"), t.blocks.stream().map(b -> b.type).toList(), "no preamble under any");
    assertEquals("naïve \"quoted\" \\ 😀 line\nbreak", new JsonObject(t.blocks.get(0).json.toString())
        .getString("mood"));
  }

  @Test
  void slowStreamSendsEventsAsTheyAreDue() {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 1000, "slowly").put("stream", true);
    long t0 = System.nanoTime();
    Raw raw = post(req, "x-sim-tokens-per-second", "100", "x-sim-output-tokens", "10", "x-sim-jitter", "0",
        "x-sim-ttft-ms", "100");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    SseTranscript t = SseTranscript.check(raw.body(), true);
    assertEquals(10, t.outputTokens());
    // TTFT 100 ms, then nine more tokens 10 ms apart.
    assertTrue(ms >= 180, "took " + ms + " ms");
    assertTrue(ms < 3000, "took " + ms + " ms");
    assertTrue(raw.chunks() >= 5, "tokens are written as they come, not all at once: " + raw.chunks() + " chunks");
  }

  @Test
  void fullSpeedStreamRespectsASlowReaderAndStaysExact() {
    JsonObject req = SimTestSupport.request("claude-sonnet-4-5", 64_000, "as fast as possible").put("stream", true);
    Raw raw = onLoop(() -> client.request(HttpMethod.POST, sim.port(), "127.0.0.1", "/v1/messages")
        .compose(r -> r.putHeader("anthropic-version", "2023-06-01").putHeader("x-sim-output-tokens", "100000")
            .send(req.encode()))
        .compose(resp -> {
          // Not reading for a while fills the socket buffers; the simulator must wait for the drain, not drop.
          resp.pause();
          return vertx.timer(300).compose(v -> {
            Future<Raw> all = collect(resp);
            resp.resume();
            return all;
          });
        }));
    SseTranscript t = SseTranscript.check(raw.body(), true);
    ReplyPlan plan = ReplyPlan.of(req, 100_000);
    assertEquals(64_000, t.outputTokens());
    assertEquals("max_tokens", t.stopReason());
    assertEquals(plan.text(), t.text());
    assertTrue(raw.chunks() > 10, "written in many batches");
  }
}
