package dev.claudeproxy.internal.load;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.simulator.ReplyPlan;
import dev.claudeproxy.internal.upstream.JsonFields;
import dev.claudeproxy.internal.upstream.SseEvent;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;

/**
 * Checks one stream as it arrives: the order of its events, that no delta is lost, repeated or reordered, and what
 * text it carried. On {@code /v1/messages} the events must follow the protocol's grammar (message_start, blocks in
 * index order, deltas inside their block, message_delta, message_stop); on {@code /v1/chat} the ids must count up
 * from 1 without a gap. Given the simulator's plan, a {@code /v1/messages} stream must also be, event by event and byte
 * for byte, what the simulator sent (pings aside): a stream joined from two connections, cut and resumed, included.
 *
 * <p>It also keeps the stream's position as the proxy counts it, where a resume starts after: on {@code /v1/messages}
 * the events received, pings not counted; on {@code /v1/chat} the last {@code id:}.
 */
final class StreamCheck {
  private final boolean chat;
  private final ReplyPlan plan;
  private ExpectedEvents expected;
  private long position;
  private final StringBuilder text = new StringBuilder();
  private String violation;
  private boolean started;
  private boolean stopped;
  private int nextBlock;
  private int openBlock = -1;
  private long nextId = 1;
  private String errorType;
  private int deltas;
  /** What the delta being read holds; reset for each. */
  private int readIndex;
  private String readType;
  private String readText;
  /** The readers of a delta's fields, made once rather than for every delta. */
  private final JsonFields.Field deltaEventField = this::deltaEventField;
  private final JsonFields.Field deltaField = this::deltaField;

  StreamCheck(boolean chat) {
    this(chat, null);
  }

  /** With a plan (null: none), a {@code /v1/messages} stream is compared with what the simulator sends for it. */
  StreamCheck(boolean chat, ReplyPlan plan) {
    this.chat = chat;
    this.plan = chat ? null : plan;
  }

  /**
   * Takes one event.
   *
   * @return true when the event is a delta (text, thinking or tool input)
   */
  boolean accept(SseEvent event) {
    if (violation != null || event.name() == null) {
      return false;
    }
    return chat ? chatEvent(event) : messagesEvent(event);
  }

  private boolean messagesEvent(SseEvent event) {
    String name = event.name();
    if (stopped) {
      return fail(name + " after message_stop");
    }
    switch (name) {
      case "ping" -> {
        return false;
      }
      case "error" -> {
        position++;
        errorType = errorTypeOf(event.data());
        return false;
      }
      case "message_start" -> {
        if (started) {
          return fail("a second message_start");
        }
        started = true;
        position++;
        if (plan != null) {
          isPlanned(event, messageId(event.data()));
        }
        return false;
      }
      default -> {
        if (!started) {
          return fail(name + " before message_start");
        }
      }
    }
    position++;
    if (plan != null && !isPlanned(event, null)) {
      return false;
    }
    if (name.equals("content_block_delta")) {
      return delta(event.data());
    }
    JsonObject data = json(event.data());
    if (data == null) {
      return fail("unreadable JSON in " + name);
    }
    switch (name) {
      case "content_block_start" -> {
        int index = data.getInteger("index", -1);
        if (openBlock != -1 || index != nextBlock) {
          return fail("content_block_start " + index + " out of order (expected " + nextBlock + ")");
        }
        openBlock = index;
        nextBlock++;
        return false;
      }
      case "content_block_stop" -> {
        if (data.getInteger("index", -1) != openBlock) {
          return fail("content_block_stop for a block that is not open");
        }
        openBlock = -1;
        return false;
      }
      case "message_delta" -> {
        return false;
      }
      case "message_stop" -> {
        if (openBlock != -1) {
          return fail("message_stop inside block " + openBlock);
        }
        stopped = true;
        return false;
      }
      default -> {
        return false;
      }
    }
  }

  /**
   * A {@code content_block_delta}, nearly every event of a stream: its index, delta type and text are read with a
   * streaming parser rather than into a tree, since the load generator reads every delta of thousands of streams.
   */
  private boolean delta(String data) {
    readIndex = -1;
    readType = null;
    readText = null;
    if (!JsonFields.readObject(data, deltaEventField)) {
      return fail("unreadable JSON in content_block_delta");
    }
    if (readIndex != openBlock) {
      return fail("a delta for block " + readIndex + " while block " + openBlock + " is open");
    }
    if ("text_delta".equals(readType) && readText != null) {
      text.append(readText);
    }
    deltas++;
    return true;
  }

  private boolean deltaEventField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NUMBER_INT && name.equals("index")) {
      readIndex = p.getIntValue();
      return true;
    }
    return value == JsonToken.START_OBJECT && name.equals("delta") && JsonFields.fields(p, deltaField);
  }

  private boolean deltaField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_STRING && name.equals("type")) {
      readType = p.getText();
      return true;
    }
    if (value == JsonToken.VALUE_STRING && name.equals("text")) {
      readText = p.getText();
      return true;
    }
    return false;
  }

  /**
   * Whether the event is the simulator's next (the first, message_start, names the stream's message id, which the
   * simulator draws at random); false, with the violation, when it is not.
   */
  private boolean isPlanned(SseEvent event, String messageId) {
    if (messageId != null) {
      expected = new ExpectedEvents(plan, messageId);
    } else if (expected == null) {
      return fail("message_start without a message id");
    }
    SseEvent want = expected.next();
    if (want == null) {
      return fail("event " + position + " (" + event.name() + ") after the last the simulator sent");
    }
    if (!want.raw().equals(event.raw())) {
      return fail("event " + position + " (" + event.name() + ") is not the simulator's (" + want.name() + ": "
          + want.raw().toString().strip() + ")");
    }
    return true;
  }

  private static String messageId(String data) {
    JsonObject start = json(data);
    JsonObject message = start == null ? null : start.getJsonObject("message");
    return message == null ? null : message.getString("id");
  }

  private boolean chatEvent(SseEvent event) {
    String id = idOf(event);
    if (!Long.toString(nextId).equals(id)) {
      return fail("event id " + id + " where " + nextId + " was due");
    }
    position = nextId;
    nextId++;
    JsonObject data = json(event.data());
    if (data == null) {
      return fail("unreadable JSON in " + event.name());
    }
    switch (event.name()) {
      case "text" -> {
        text.append(data.getString("text", ""));
        deltas++;
        return true;
      }
      case "thinking", "tool_use" -> {
        deltas++;
        return true;
      }
      case "done" -> {
        stopped = true;
        return false;
      }
      case "error" -> {
        errorType = errorTypeOf(event.data());
        return false;
      }
      default -> {
        return false;
      }
    }
  }

  private boolean fail(String what) {
    violation = what;
    return false;
  }

  private static String idOf(SseEvent event) {
    String raw = event.raw().toString();
    for (String line : raw.split("\n")) {
      if (line.startsWith("id:")) {
        return line.substring(3).trim();
      }
    }
    return null;
  }

  private static JsonObject json(String data) {
    try {
      return data == null ? null : new JsonObject(data);
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  private static String errorTypeOf(String data) {
    ApiError error = ApiError.fromJson(200, json(data));
    return error == null ? "api_error" : error.type();
  }

  /** A broken rule, or null. */
  String violation() {
    return violation;
  }

  boolean complete() {
    return stopped && violation == null && errorType == null;
  }

  String errorType() {
    return errorType;
  }

  String text() {
    return text.toString();
  }

  int deltas() {
    return deltas;
  }

  /** Where a resume of this stream starts after: the events accepted (pings not counted), or the last chat id. */
  long position() {
    return position;
  }
}
