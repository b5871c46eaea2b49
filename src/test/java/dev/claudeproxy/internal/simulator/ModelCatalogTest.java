package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model catalog as data: the built-in list, a SIM_MODELS file in its place, and the limits it sets. */
class ModelCatalogTest {
  @TempDir
  Path dir;

  @Test
  void builtInListHasTodaysModelsNewestFirst() {
    ModelCatalog c = ModelCatalog.builtIn();
    // Claude Code 2.1.197's defaults and the AI SDK's default for claude-sonnet-4-6.
    assertLimits(c, "claude-opus-4-8", 1_000_000, 128_000);
    assertLimits(c, "claude-sonnet-5", 1_000_000, 128_000);
    assertLimits(c, "claude-opus-4-7", 1_000_000, 128_000);
    assertLimits(c, "claude-sonnet-4-6", 200_000, 128_000);
    assertLimits(c, "claude-haiku-4-5", 200_000, 64_000);
    assertEquals("claude-haiku-4-5", c.find("claude-haiku-4-5-20251001").id(), "dated ids are aliases");
    assertEquals("Claude Opus 4.8", c.find("claude-opus-4-8").displayName());
    Set<String> ids = new HashSet<>();
    Instant previous = Instant.MAX;
    for (ModelCatalog.ModelInfo m : c.models()) {
      assertTrue(ids.add(m.id()), m.id());
      Instant created = Instant.parse(m.createdAt());
      assertFalse(created.isAfter(previous), m.id() + " is listed after a newer model");
      previous = created;
    }
    assertNull(c.find("claude-3-haiku-20240307"), "retired models are not listed");
  }

  private static void assertLimits(ModelCatalog c, String id, int input, int output) {
    ModelCatalog.ModelInfo m = c.find(id);
    assertNotNull(m, id);
    assertEquals(input, m.maxInputTokens(), id);
    assertEquals(output, m.maxTokens(), id);
  }

  @Test
  void unknownClaudeIdsGetTheUnknownModelLimitsOthersNothing() {
    ModelCatalog c = ModelCatalog.builtIn();
    ModelCatalog.ModelInfo m = c.resolve("claude-next-1", false);
    assertEquals(200_000, m.maxInputTokens());
    assertEquals(128_000, m.maxTokens());
    assertNull(c.resolve("claude-next-1", true));
    assertNull(c.resolve("gpt-5", false));
    assertEquals("claude-opus-4-8", c.resolve("claude-opus-4-8", true).id());
  }

  private Path catalogFile(String json) throws IOException {
    Path f = dir.resolve("models.json");
    Files.writeString(f, json);
    return f;
  }

  @Test
  void simModelsFileReplacesTheListAndSetsTheContextWindow() throws IOException {
    Path f = catalogFile("{\"unknown_model\":{\"max_input_tokens\":40,\"max_tokens\":7},\"models\":["
        + "{\"id\":\"claude-tiny-1\",\"display_name\":\"Claude Tiny 1\",\"created_at\":\"2026-12-01T00:00:00Z\","
        + "\"max_input_tokens\":50,\"max_tokens\":20},"
        + "{\"id\":\"claude-wide-1\",\"display_name\":\"Claude Wide 1\",\"created_at\":\"2026-11-01T00:00:00Z\","
        + "\"max_input_tokens\":50,\"max_tokens\":20,\"context_1m_beta\":true,\"aliases\":[\"claude-wide\"]}]}");
    SimulatorConfig config = SimulatorConfig.from(new Settings(new JsonObject()
        .put("SIM_MODELS", f.toString()).put("SIM_PORT", "0").put("SIM_INSTANCES", "1").put("SIM_TTFT_MS", "0")
        .put("SIM_TOKENS_PER_SECOND", "0")));
    Vertx vertx = Vertx.vertx();
    try {
      Simulator sim = SimTestSupport.start(vertx, config);
      HttpResponse<String> list = SimTestSupport.get(sim, "/v1/models", "anthropic-version", "2023-06-01");
      JsonArray data = new JsonObject(list.body()).getJsonArray("data");
      assertEquals(List.of("claude-tiny-1", "claude-wide-1"),
          data.stream().map(o -> ((JsonObject) o).getString("id")).toList());
      assertEquals(50, data.getJsonObject(0).getInteger("max_input_tokens"));

      JsonObject shortPrompt = SimTestSupport.request("claude-tiny-1", 20, "hi");
      assertEquals(200, SimTestSupport.post(sim, "/v1/messages", shortPrompt.encode()).statusCode());
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages",
          shortPrompt.copy().put("max_tokens", 21).encode()), 400, "invalid_request_error",
          "max_tokens: 21 > 20, which is the maximum allowed number of output tokens for claude-tiny-1");
      // 50 tokens is about 200 characters: 300 do not fit, and the count is the one usage would report.
      JsonObject longPrompt = SimTestSupport.request("claude-tiny-1", 20, "x".repeat(300));
      int tokens = ReplyPlan.estimateInputTokens(longPrompt);
      assertTrue(tokens > 50);
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", longPrompt.encode()), 400,
          "invalid_request_error", "prompt is too long: " + tokens + " tokens > 50 maximum");
      // A window just big enough takes it: the limit is exact.
      JsonObject fits = SimTestSupport.request("claude-tiny-1", 20, "x".repeat(180));
      assertTrue(ReplyPlan.estimateInputTokens(fits) <= 50);
      assertEquals(200, SimTestSupport.post(sim, "/v1/messages", fits.encode()).statusCode());
      // count_tokens counts, it does not refuse.
      JsonObject countBody = longPrompt.copy();
      countBody.remove("max_tokens");
      HttpResponse<String> counted = SimTestSupport.post(sim, "/v1/messages/count_tokens", countBody.encode());
      assertEquals(200, counted.statusCode(), counted.body());
      assertEquals(tokens, new JsonObject(counted.body()).getInteger("input_tokens"));

      // The 1M-context beta widens a model that supports it, and only that one.
      String wide = SimTestSupport.request("claude-wide", 20, "x".repeat(300)).encode();
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", wide), 400, "invalid_request_error",
          "> 50 maximum");
      assertEquals(200, SimTestSupport.post(sim, "/v1/messages", wide, "anthropic-beta",
          "output-128k-2025-02-19," + ModelCatalog.CONTEXT_1M_BETA).statusCode());
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", longPrompt.encode(),
          "anthropic-beta", ModelCatalog.CONTEXT_1M_BETA), 400, "invalid_request_error", "prompt is too long");

      // Unknown claude-* ids take the file's unknown_model limits.
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages",
          SimTestSupport.request("claude-other-1", 8, "hi").encode()), 400, "invalid_request_error", "8 > 7");
    } finally {
      SimTestSupport.await(vertx.close());
    }
  }

  @Test
  void builtInCatalogRefusesAPromptBeyondTheWindow() {
    Vertx vertx = Vertx.vertx();
    try {
      Simulator sim = SimTestSupport.start(vertx, SimTestSupport.fast());
      // About 4 characters a token: 840,000 characters are over claude-haiku-4-5's 200,000-token window.
      JsonObject req = SimTestSupport.request("claude-haiku-4-5", 100, "word ".repeat(168_000));
      int tokens = ReplyPlan.estimateInputTokens(req);
      InvalidRequestTest.assertError(SimTestSupport.post(sim, "/v1/messages", req.encode()), 400,
          "invalid_request_error", "prompt is too long: " + tokens + " tokens > 200000 maximum");
      // The same prompt fits claude-opus-4-8's million.
      assertEquals(200, SimTestSupport.post(sim, "/v1/messages", req.put("model", "claude-opus-4-8").encode())
          .statusCode());
    } finally {
      SimTestSupport.await(vertx.close());
    }
  }

  @Test
  void badFilesAndSettingsStopTheStart() throws IOException {
    for (String bad : new String[] {
        "not json", "{\"models\":[]}", "{\"models\":[{\"id\":\"claude-x\"}]}",
        "{\"models\":[{\"id\":\"claude-x\",\"display_name\":\"X\",\"created_at\":\"yesterday\","
            + "\"max_input_tokens\":1,\"max_tokens\":1}]}",
        "{\"models\":[{\"id\":\"claude-x\",\"display_name\":\"X\",\"created_at\":\"2026-01-01T00:00:00Z\","
            + "\"max_input_tokens\":0,\"max_tokens\":1}]}",
        "{\"models\":[{\"id\":\"claude-x\",\"display_name\":\"X\",\"created_at\":\"2026-01-01T00:00:00Z\","
            + "\"max_input_tokens\":1,\"max_tokens\":1,\"aliases\":[\"claude-x\"]}]}"}) {
      Path f = catalogFile(bad);
      ConfigException e = assertThrows(ConfigException.class, () -> SimulatorConfig.from(new Settings(
          new JsonObject().put("SIM_MODELS", f.toString()))), bad);
      assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }
    ConfigException missing = assertThrows(ConfigException.class, () -> SimulatorConfig.from(new Settings(
        new JsonObject().put("SIM_MODELS", dir.resolve("absent.json").toString()))));
    assertTrue(missing.getMessage().startsWith("SIM_MODELS"), missing.getMessage());
    assertTrue(SimulatorConfig.from(new Settings(new JsonObject().put("SIM_STRICT_MODELS", "true"))).strictModels());
    assertFalse(SimulatorConfig.from(new Settings(new JsonObject())).strictModels());
  }
}
