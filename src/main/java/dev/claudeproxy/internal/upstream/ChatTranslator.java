package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.ChatEvents;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;

/** Turns Messages API stream events into the browser chat events of {@link ChatEvents}, numbering them from 1. */
final class ChatTranslator {
  private final StreamFacts facts;
  private final Map<Integer, ToolCall> tools = new HashMap<>();
  private long nextId = 1;

  private static final class ToolCall {
    final String id;
    final String name;
    final StringBuilder json = new StringBuilder();

    ToolCall(String id, String name) {
      this.id = id;
      this.name = name;
    }
  }

  ChatTranslator(StreamFacts facts) {
    this.facts = facts;
  }

  /**
   * Appends the chat events for one upstream event to {@code out}.
   *
   * @return how many chat events were appended
   */
  int translate(SseEvent event, Buffer out) {
    String name = event.name();
    if (name == null) {
      return 0;
    }
    switch (name) {
      case "message_start", "message_delta" -> {
        return emit(out, ChatEvents.USAGE, facts.usage().copy());
      }
      case "message_stop" -> {
        JsonObject done = new JsonObject().put("stop_reason", facts.stopReason()).put("usage", facts.usage().copy());
        return emit(out, ChatEvents.DONE, done);
      }
      case "error" -> {
        return emit(out, ChatEvents.ERROR, new JsonObject().put("type", "error").put("error", facts.upstreamError()));
      }
      case "content_block_start" -> {
        JsonObject data = facts.decode(event);
        JsonObject block = data == null ? null : data.getJsonObject("content_block");
        if (block != null && "tool_use".equals(block.getString("type"))) {
          tools.put(data.getInteger("index", -1), new ToolCall(block.getString("id"), block.getString("name")));
        }
        return 0;
      }
      case "content_block_delta" -> {
        return delta(facts.decode(event), out);
      }
      case "content_block_stop" -> {
        JsonObject data = facts.decode(event);
        ToolCall call = data == null ? null : tools.remove(data.getInteger("index", -1));
        if (call == null) {
          return 0;
        }
        Object input;
        try {
          input = call.json.length() == 0 ? new JsonObject() : new JsonObject(call.json.toString());
        } catch (DecodeException e) {
          input = call.json.toString();
        }
        return emit(out, ChatEvents.TOOL_USE,
            new JsonObject().put("id", call.id).put("name", call.name).put("input", input));
      }
      default -> {
        return 0;
      }
    }
  }

  private int delta(JsonObject data, Buffer out) {
    JsonObject delta = data == null ? null : data.getJsonObject("delta");
    if (delta == null) {
      return 0;
    }
    switch (String.valueOf(delta.getString("type"))) {
      case "text_delta" -> {
        return emit(out, ChatEvents.TEXT, new JsonObject().put("text", delta.getString("text", "")));
      }
      case "thinking_delta" -> {
        return emit(out, ChatEvents.THINKING, new JsonObject().put("text", delta.getString("thinking", "")));
      }
      case "input_json_delta" -> {
        ToolCall call = tools.get(data.getInteger("index", -1));
        if (call != null) {
          call.json.append(delta.getString("partial_json", ""));
        }
        return 0;
      }
      default -> {
        return 0;
      }
    }
  }

  private int emit(Buffer out, String name, JsonObject data) {
    ChatEvents.append(out, nextId++, name, data);
    return 1;
  }

  long nextId() {
    return nextId;
  }
}
