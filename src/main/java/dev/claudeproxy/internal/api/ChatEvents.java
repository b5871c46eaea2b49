package dev.claudeproxy.internal.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * The wire format of {@code POST /v1/chat}: small SSE events for browsers, each with an {@code id:}.
 *
 * <ul>
 *   <li>{@code text}: {@code {"text":"..."}}, a piece of the answer
 *   <li>{@code thinking}: {@code {"text":"..."}}, a piece of the model's thinking
 *   <li>{@code tool_use}: {@code {"id","name","input"}}, once a tool call's input is complete
 *   <li>{@code usage}: token counts so far ({@code input_tokens}, {@code output_tokens}, cache counters)
 *   <li>{@code done}: {@code {"stop_reason","usage"}}, the last event of a complete answer
 *   <li>{@code error}: {@code {"type":"error","error":{"type","message"}}}, the last event of a failed one
 * </ul>
 */
public final class ChatEvents {
  public static final String TEXT = "text";
  public static final String THINKING = "thinking";
  public static final String TOOL_USE = "tool_use";
  public static final String USAGE = "usage";
  public static final String DONE = "done";
  public static final String ERROR = "error";

  private ChatEvents() {}

  /** Appends one event to {@code out}. */
  public static void append(Buffer out, long id, String name, JsonObject data) {
    out.appendString("id: ").appendString(Long.toString(id))
        .appendString("\nevent: ").appendString(name)
        .appendString("\ndata: ").appendString(data.encode()).appendString("\n\n");
  }

  public static Buffer error(long id, ApiError error) {
    Buffer out = Buffer.buffer(128);
    append(out, id, ERROR, error.toJson(null));
    return out;
  }
}
