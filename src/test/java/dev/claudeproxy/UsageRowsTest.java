package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Only upstream calls that carry usage make usage rows: refusals, model listings and token counts make none. */
class UsageRowsTest {
  private static final String BODY = "{\"model\":\"%s\",\"max_tokens\":20,\"stream\":%s,\"temperature\":%s,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @Test
  void callsWithoutUsageMakeNoRows() throws Exception {
    try (TestStack stack = TestStack.start()) {
      Map<String, String> headers = stack.jsonHeaders(Map.of());
      // Refused by the upstream before any reply: a model it does not know, a body it rejects, a rate limit.
      assertEquals(404, stack.post("/v1/messages", String.format(BODY, "not-a-model", true, 1), headers)
          .statusCode());
      assertEquals(400, stack.post("/v1/messages", String.format(BODY, "claude-sonnet-4-6", true, 7), headers)
          .statusCode());
      assertEquals(429, stack.post("/v1/messages", String.format(BODY, "claude-sonnet-4-6", false, 1),
          stack.jsonHeaders(Map.of("x-sim-scenario", "rate_limited", "x-sim-should-retry", "false"))).statusCode());
      // Calls that go upstream but use no tokens.
      assertEquals(200, stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/models"))
          .header("x-api-key", stack.callerKey).build()).statusCode());
      assertEquals(200, stack.post("/v1/messages/count_tokens", "{\"model\":\"claude-sonnet-4-6\",\"messages\":"
          + "[{\"role\":\"user\",\"content\":\"count me\"}]}", headers).statusCode());

      // A stream that did use tokens is a row, and the only one.
      assertEquals(200, stack.post("/v1/messages", String.format(BODY, "claude-sonnet-4-6", true, 1), headers)
          .statusCode());
      Wire.waitFor(() -> !usageRows(stack).isEmpty(), "the stream's row");
      List<JsonObject> rows = usageRows(stack);
      assertEquals(1, rows.size(), rows.toString());
      assertEquals("claude-sonnet-4-6", rows.get(0).getString("model"));
      assertEquals(1, rows.get(0).getLong("requests"), rows.toString());
      stack.proxy.services().ledger().sync();
      List<String> journal = Files.readAllLines(stack.usageFile());
      assertEquals(1, journal.size(), journal.toString());
      assertTrue(journal.get(0).contains("\"model\":\"claude-sonnet-4-6\""), journal.toString());
    }
  }

  private static List<JsonObject> usageRows(TestStack stack) {
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/usage"))
        .header("x-api-key", stack.callerKey).build());
    assertEquals(200, r.statusCode(), r.body());
    return new JsonObject(r.body()).getJsonArray("days").stream()
        .flatMap(d -> ((JsonObject) d).getJsonArray("users").stream())
        .flatMap(u -> ((JsonObject) u).getJsonArray("models").stream()).map(m -> (JsonObject) m).toList();
  }
}
