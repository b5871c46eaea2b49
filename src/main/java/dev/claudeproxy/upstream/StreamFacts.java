package dev.claudeproxy.upstream;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;

/**
 * What a stream told us about itself: usage, stop reason, whether it finished or failed.
 *
 * <p>Usage counters in {@code message_start} and {@code message_delta} are cumulative totals, so each one seen
 * overwrites the last rather than adding to it.
 */
public final class StreamFacts {
  private final JsonObject usage = new JsonObject();
  private String model;
  private String messageId;
  private String stopReason;
  private boolean sawStop;
  private JsonObject upstreamError;
  private boolean malformed;

  /**
   * Takes one upstream event. Only the events that carry facts are decoded; deltas pass by untouched.
   *
   * @return the decoded data of the event when it was decoded, else null
   */
  public JsonObject observe(SseEvent event) {
    String name = event.name();
    if (name == null) {
      return null;
    }
    switch (name) {
      case "message_start" -> {
        JsonObject data = decode(event);
        JsonObject message = data == null ? null : data.getJsonObject("message");
        if (message != null) {
          model = message.getString("model");
          messageId = message.getString("id");
          merge(message.getJsonObject("usage"));
        }
        return data;
      }
      case "message_delta" -> {
        JsonObject data = decode(event);
        if (data != null) {
          JsonObject delta = data.getJsonObject("delta");
          if (delta != null && delta.getString("stop_reason") != null) {
            stopReason = delta.getString("stop_reason");
          }
          merge(data.getJsonObject("usage"));
        }
        return data;
      }
      case "message_stop" -> {
        sawStop = true;
        return null;
      }
      case "error" -> {
        JsonObject data = decode(event);
        upstreamError = data != null && data.getValue("error") instanceof JsonObject e ? e
            : new JsonObject().put("type", "api_error").put("message", "malformed upstream error event");
        return data;
      }
      default -> {
        return null;
      }
    }
  }

  /** Takes the facts of a whole (non-streaming) Message: its model, usage and stop reason. */
  public void observeMessage(JsonObject message) {
    model = message.getString("model");
    messageId = message.getString("id");
    if (message.getValue("stop_reason") instanceof String reason) {
      stopReason = reason;
    }
    merge(message.getJsonObject("usage"));
    sawStop = true;
  }

  JsonObject decode(SseEvent event) {
    String data = event.data();
    if (data == null) {
      malformed = true;
      return null;
    }
    try {
      return new JsonObject(data);
    } catch (DecodeException | ClassCastException e) {
      malformed = true;
      return null;
    }
  }

  private void merge(JsonObject counters) {
    if (counters == null) {
      return;
    }
    for (String key : counters.fieldNames()) {
      Object value = counters.getValue(key);
      if (value instanceof Number) {
        usage.put(key, value);
      }
    }
  }

  public JsonObject usage() {
    return usage;
  }

  public String stopReason() {
    return stopReason;
  }

  public boolean sawStop() {
    return sawStop;
  }

  public JsonObject upstreamError() {
    return upstreamError;
  }

  /** Whether an event that should carry JSON did not. */
  public boolean malformed() {
    return malformed;
  }

  public String model() {
    return model;
  }

  public String messageId() {
    return messageId;
  }

  /** The summary sent with the bus {@code end} event. */
  public JsonObject summary(String outcome) {
    JsonObject s = new JsonObject().put("outcome", outcome).put("usage", usage.copy());
    if (stopReason != null) {
      s.put("stop_reason", stopReason);
    }
    if (model != null) {
      s.put("model", model);
    }
    if (upstreamError != null) {
      s.put("error", upstreamError.copy());
    }
    return s;
  }
}
