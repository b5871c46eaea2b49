package dev.claudeproxy.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.claudeproxy.ClaudeStream;
import dev.claudeproxy.ClaudeStreamEvent;
import dev.claudeproxy.StreamClient;
import dev.claudeproxy.TestStack;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The README's resume example, run: an answer left part-way by one client is read to its end by another. */
class ResumableAnswerTest {
  @Test
  void theExampleResumesAnAnswerWhereItsReaderLeftIt() throws Exception {
    try (TestStack stack = TestStack.start(Map.of())) {
      StreamClient before = ResumableAnswer.clientFor(stack.vertx);
      StreamClient after = ResumableAnswer.clientFor(stack.vertx);
      JsonObject body = new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", 1024)
          .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "Pick me up")));
      StringBuilder text = new StringBuilder();
      CompletableFuture<ResumableAnswer.Bookmark> left = new CompletableFuture<>();
      ClaudeStream stream = TestStack.await(ResumableAnswer.ask(before, body));
      stream.handler(event -> {
        append(text, event);
        if (text.length() > 20 && !left.isDone()) {
          left.complete(ResumableAnswer.leave(stream));
        }
      });
      ClaudeStream again = TestStack.await(ResumableAnswer.comeBack(after, left.get(10, TimeUnit.SECONDS)));
      CompletableFuture<Void> ended = new CompletableFuture<>();
      again.handler(event -> append(text, event)).endHandler(ended::complete)
          .exceptionHandler(ended::completeExceptionally);
      ended.get(10, TimeUnit.SECONDS);
      assertEquals(ReplyPlan.of(body.copy().put("stream", true), stack.simulator.config()).text(), text.toString());
      TestStack.await(before.close());
      TestStack.await(after.close());
    }
  }

  private static void append(StringBuilder text, ClaudeStreamEvent event) {
    if ("content_block_delta".equals(event.name())) {
      text.append(event.json().getJsonObject("delta").getString("text", ""));
    }
  }
}
