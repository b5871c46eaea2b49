package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/chat}: small SSE events for browsers, each with an id. */
class ChatEndpointTest {
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start();
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  record Event(String id, String name, JsonObject data) {}

  @Test
  void deliversTheSameTextTheUpstreamSends() {
    JsonObject chat = new JsonObject()
        .put("system", "You are terse.")
        .put("max_tokens", 300)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Hello, chat")));
    HttpResponse<String> r = stack.post("/v1/chat", chat.encode(), stack.jsonHeaders(Map.of()));
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
    List<Event> events = parse(r.body());

    // The request the proxy sends upstream is a Messages request with the server's default model.
    JsonObject upstreamRequest = chat.copy().put("model", stack.proxy.config().chatModel()).put("stream", true);
    ReplyPlan plan = ReplyPlan.of(upstreamRequest, SimulatorConfig.from(TestStack.settings(Map.of())));
    StringBuilder text = new StringBuilder();
    events.stream().filter(e -> e.name.equals("text")).forEach(e -> text.append(e.data.getString("text")));
    assertFalse(text.isEmpty());
    assertEquals(plan.text(), text.toString());

    for (int i = 0; i < events.size(); i++) {
      assertEquals(Integer.toString(i + 1), events.get(i).id, "ids count from 1");
    }
    Event usage = events.stream().filter(e -> e.name.equals("usage")).findFirst().orElseThrow();
    assertTrue(usage.data.getInteger("input_tokens") > 0);
    Event done = events.get(events.size() - 1);
    assertEquals("done", done.name);
    assertEquals(plan.stopReason(), done.data.getString("stop_reason"));
    assertEquals(plan.outputTokens(), done.data.getJsonObject("usage").getInteger("output_tokens"));
  }

  @Test
  void endsWithAnErrorEventWhenTheUpstreamFailsMidStream() {
    String chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Fail part-way\"}]}";
    HttpResponse<String> r = stack.post("/v1/chat", chat,
        stack.jsonHeaders(Map.of("x-sim-scenario", "midstream_error")));
    List<Event> events = parse(r.body());
    assertTrue(events.stream().anyMatch(e -> e.name.equals("text")));
    Event last = events.get(events.size() - 1);
    assertEquals("error", last.name);
    assertEquals("overloaded_error", last.data.getJsonObject("error").getString("type"));
    assertEquals(Integer.toString(events.size()), last.id);
    assertTrue(events.stream().noneMatch(e -> e.name.equals("done")));
  }

  @Test
  void addsItsOwnErrorEventWithTheNextIdWhenTheUpstreamIsCut() {
    String chat = "{\"messages\":[{\"role\":\"user\",\"content\":\"Cut me off\"}]}";
    HttpResponse<String> r = stack.post("/v1/chat", chat, stack.jsonHeaders(Map.of("x-sim-scenario", "disconnect")));
    List<Event> events = parse(r.body());
    Event last = events.get(events.size() - 1);
    assertEquals("error", last.name);
    assertEquals("api_error", last.data.getJsonObject("error").getString("type"));
    assertEquals(Integer.toString(events.size()), last.id);
  }

  @Test
  void rejectsBadChatRequestsBeforeGoingUpstream() {
    long before = stack.simulator.stats().requests();
    for (String body : List.of("{}", "{\"messages\":[]}", "{\"messages\":\"hi\"}",
        "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            + "\"max_tokens\":\"lots\"}", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temprature\":1}")) {
      HttpResponse<String> r = stack.post("/v1/chat", body, stack.jsonHeaders(Map.of()));
      assertEquals(400, r.statusCode(), body);
      assertEquals("invalid_request_error", new JsonObject(r.body()).getJsonObject("error").getString("type"));
    }
    assertEquals(before, stack.simulator.stats().requests());
  }

  @Test
  void chatConfigAnswersForTheKeyWithoutAskingTheUpstream() {
    long before = stack.simulator.stats().requests();
    HttpResponse<String> r = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/v1/chat/config"))
        .header("authorization", "Bearer " + stack.callerKey).build());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("application/json"));
    JsonObject config = new JsonObject(r.body());
    assertEquals("tester", config.getString("user"));
    assertEquals(stack.proxy.config().chatModel(), config.getString("model"));
    assertEquals(stack.proxy.config().chatMaxTokens(), config.getInteger("max_tokens"));
    assertTrue(config.containsKey("models") && config.getValue("models") == null, "any model: " + config);
    assertEquals(before, stack.simulator.stats().requests(), "the upstream is not asked");

    HttpResponse<String> refused = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl()
        + "/v1/chat/config")).header("authorization", "Bearer sk-csp-not-a-key").build());
    assertEquals(401, refused.statusCode());
    assertEquals("authentication_error", new JsonObject(refused.body()).getJsonObject("error").getString("type"));
  }

  static List<Event> parse(String body) {
    List<Event> events = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      if (block.isBlank()) {
        continue;
      }
      String id = null;
      String name = null;
      String data = null;
      for (String line : block.split("\n")) {
        if (line.startsWith("id: ")) {
          id = line.substring(4);
        } else if (line.startsWith("event: ")) {
          name = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data = line.substring(6);
        }
      }
      assertNotNull(name, block);
      events.add(new Event(id, name, new JsonObject(data)));
    }
    return events;
  }
}
