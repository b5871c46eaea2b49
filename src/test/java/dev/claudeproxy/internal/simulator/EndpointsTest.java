package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Models listing and lookup, authentication, and the stats endpoint, against a simulator with an API key. */
class EndpointsTest {
  private static final String KEY = "sk-sim-test-key";
  private static Vertx vertx;
  private static Simulator sim;

  @BeforeAll
  static void setUp() {
    vertx = Vertx.vertx();
    sim = SimTestSupport.start(vertx, SimTestSupport.fast().withApiKey(KEY).withOutputTokens(5));
  }

  @AfterAll
  static void tearDown() {
    SimTestSupport.await(sim.close());
    SimTestSupport.await(vertx.close());
  }

  private static JsonObject models(String query) {
    HttpResponse<String> r = SimTestSupport.get(sim, "/v1/models" + query, "x-api-key", KEY, "anthropic-version",
        "2023-06-01");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("request-id").orElse("").startsWith("req_"));
    return new JsonObject(r.body());
  }

  @Test
  void modelsListIsPaginated() {
    JsonObject all = models("");
    JsonArray data = all.getJsonArray("data");
    assertEquals(sim.config().models().models().size(), data.size(), "default limit 20 covers the catalogue");
    assertFalse(all.getBoolean("has_more"));
    for (int i = 0; i < data.size(); i++) {
      JsonObject m = data.getJsonObject(i);
      assertEquals("model", m.getString("type"));
      assertTrue(m.getString("id").startsWith("claude-"));
      assertFalse(m.getString("display_name").isBlank());
      java.time.Instant.parse(m.getString("created_at"));
      assertTrue(m.getInteger("max_tokens") > 0);
    }
    // Walk forward three at a time and collect every id exactly once.
    List<String> walked = new ArrayList<>();
    String after = null;
    while (true) {
      JsonObject page = models("?limit=3" + (after == null ? "" : "&after_id=" + after));
      JsonArray d = page.getJsonArray("data");
      assertTrue(d.size() <= 3);
      d.forEach(o -> walked.add(((JsonObject) o).getString("id")));
      assertEquals(d.getJsonObject(0).getString("id"), page.getString("first_id"));
      assertEquals(d.getJsonObject(d.size() - 1).getString("id"), page.getString("last_id"));
      if (!page.getBoolean("has_more")) {
        break;
      }
      after = page.getString("last_id");
    }
    assertEquals(sim.config().models().models().stream().map(ModelCatalog.ModelInfo::id).toList(), walked);
    // before_id gives the page just before it.
    String fifth = walked.get(4);
    JsonObject before = models("?limit=2&before_id=" + fifth);
    assertEquals(walked.subList(2, 4), before.getJsonArray("data").stream()
        .map(o -> ((JsonObject) o).getString("id")).toList());
    assertTrue(before.getBoolean("has_more"));
    JsonObject empty = models("?after_id=" + walked.get(walked.size() - 1));
    assertTrue(empty.getJsonArray("data").isEmpty());
    assertNull(empty.getValue("first_id"));
    InvalidRequestTest.assertError(SimTestSupport.get(sim, "/v1/models?limit=0", "x-api-key", KEY,
        "anthropic-version", "2023-06-01"), 400, "invalid_request_error", "limit");
  }

  @Test
  void singleModel() {
    HttpResponse<String> r = SimTestSupport.get(sim, "/v1/models/claude-opus-4-8", "x-api-key", KEY,
        "anthropic-version", "2023-06-01");
    assertEquals(200, r.statusCode());
    assertEquals("Claude Opus 4.8", new JsonObject(r.body()).getString("display_name"));
    InvalidRequestTest.assertError(SimTestSupport.get(sim, "/v1/models/claude-unknown", "x-api-key", KEY,
        "anthropic-version", "2023-06-01"), 404, "not_found_error", "claude-unknown");
  }

  @Test
  void apiKeyIsRequiredUnderV1AsHeaderOrBearer() {
    String body = SimTestSupport.request("claude-sonnet-4-5", 10, "auth").encode();
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body), 401, "authentication_error",
        "");
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body, "x-api-key", "wrong"), 401,
        "authentication_error", "");
    InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", body, "authorization", "Bearer nope"),
        401, "authentication_error", "");
    InvalidRequestTest.assertError(SimTestSupport.get(sim, "/v1/models", "anthropic-version", "2023-06-01"), 401,
        "authentication_error", "");
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "x-api-key", KEY).statusCode());
    assertEquals(200, SimTestSupport.post(sim, "/v1/messages", body, "authorization", "Bearer " + KEY,
        "anthropic-version", "2026-10-21").statusCode());
  }

  @Test
  void statsNeedNoKey() {
    HttpResponse<String> r = SimTestSupport.get(sim, "/sim/stats");
    assertEquals(200, r.statusCode());
    JsonObject stats = new JsonObject(r.body());
    for (String k : new String[] {"streamsStarted", "streamsCompleted", "streamsCancelled", "streamsOpen",
        "requests", "errors"}) {
      assertTrue(stats.getValue(k) instanceof Number, k);
    }
    assertTrue(stats.getLong("requests") >= 1);
  }
}
