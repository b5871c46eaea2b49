package dev.claudeproxy.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.claudeproxy.TestStack;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import io.vertx.core.http.WebSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The README's StreamClient example, run: a WebSocket client gets Claude's answer, then a normal close. */
class WebSocketChatTest {
  @Test
  void theExampleStreamsTheAnswerToAWebSocket() throws Exception {
    try (TestStack stack = TestStack.start(Map.of())) {
      WebSocketChat chat = new WebSocketChat();
      TestStack.await(stack.vertx.deployVerticle(chat));
      WebSocket ws = TestStack.await(stack.vertx.createWebSocketClient().connect(chat.port(), "127.0.0.1", "/"));
      StringBuilder text = new StringBuilder();
      CompletableFuture<Short> closed = new CompletableFuture<>();
      ws.textMessageHandler(text::append);
      ws.closeHandler(v -> closed.complete(ws.closeStatusCode()));
      ws.writeTextMessage("Hello from a WebSocket");
      assertEquals((short) 1000, closed.get(10, TimeUnit.SECONDS));
      JsonObject sent = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 1024).put("stream", true)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user")
              .put("content", "Hello from a WebSocket")));
      assertEquals(ReplyPlan.of(sent, stack.simulator.config()).text(), text.toString());
    }
  }
}
