package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.api.Outcome;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.io.IOException;

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
  /** Whether the upstream gave its final count (a {@code message_delta}'s usage, or a whole Message's). */
  private boolean finalCount;
  private final OutputEstimate output = new OutputEstimate();

  /**
   * Takes one upstream event. Only the events that carry facts are read, and of {@code message_start} and
   * {@code message_delta} only the fields kept here, by a streaming parser that builds no tree; deltas pass by
   * untouched.
   */
  public void observe(SseEvent event) {
    String name = event.name();
    if (name == null) {
      return;
    }
    switch (name) {
      case "message_start", "message_delta" -> read(event, name.equals("message_start"));
      case "message_stop" -> sawStop = true;
      case "error" -> {
        JsonObject data = decode(event);
        upstreamError = data != null && data.getValue("error") instanceof JsonObject e ? e
            : new JsonObject().put("type", "api_error").put("message", "malformed upstream error event");
      }
      default -> {
        // nothing to learn
      }
    }
  }

  /**
   * Reads {@code message.id}, {@code message.model} and {@code message.usage} of a {@code message_start}, or
   * {@code delta.stop_reason} and {@code usage} of a {@code message_delta}, checking that the whole event is one JSON
   * object.
   */
  private void read(SseEvent event, boolean start) {
    if (!event.readDataObject(start ? this::startField : this::deltaEventField)) {
      malformed = true;
    }
  }

  private boolean startField(JsonParser p, String name, JsonToken value) throws IOException {
    return value == JsonToken.START_OBJECT && name.equals("message") && JsonFields.fields(p, this::messageField);
  }

  private boolean deltaEventField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.START_OBJECT && name.equals("usage")) {
      finalCount = true;
      return JsonFields.fields(p, this::usageField);
    }
    return value == JsonToken.START_OBJECT && name.equals("delta") && JsonFields.fields(p, this::deltaField);
  }

  private boolean messageField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_STRING && name.equals("id")) {
      messageId = p.getText();
      return true;
    }
    if (value == JsonToken.VALUE_STRING && name.equals("model")) {
      model = p.getText();
      return true;
    }
    return value == JsonToken.START_OBJECT && name.equals("usage") && JsonFields.fields(p, this::usageField);
  }

  private boolean deltaField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_STRING && name.equals("stop_reason")) {
      stopReason = p.getText();
      return true;
    }
    return false;
  }

  /** The counters directly inside a usage object; nested objects (a breakdown by cache TTL, tool use) are skipped. */
  private boolean usageField(JsonParser p, String name, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT) {
      usage.put(name, p.getNumberValue());
      return true;
    }
    return false;
  }

  /** Takes the facts of a whole (non-streaming) Message: its model, usage and stop reason. */
  public void observeMessage(JsonObject message) {
    model = message.getString("model");
    messageId = message.getString("id");
    if (message.getValue("stop_reason") instanceof String reason) {
      stopReason = reason;
    }
    merge(message.getJsonObject("usage"));
    finalCount = true;
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

  /** The estimate of the output the content deltas carried (see {@link #summary}). */
  OutputEstimate output() {
    return output;
  }

  /** Has {@code parser}'s {@link SseParser#forward} hand this stream's content deltas to the output estimate. */
  public void countContentOf(SseParser parser) {
    parser.countContent(output);
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

  /** The usage so far in the {@link dev.claudeproxy.bus.StreamBus#H_USAGE} form: counted, or estimated. */
  public String progress() {
    long out = counter("output_tokens");
    boolean estimated = false;
    if (!finalCount && output.tokens() > out) {
      out = output.tokens();
      estimated = true;
    }
    return counter("input_tokens") + "," + out + "," + counter("cache_creation_input_tokens") + ","
        + counter("cache_read_input_tokens") + "," + (estimated ? "e" : "") + "," + (model == null ? "" : model);
  }

  private long counter(String name) {
    return usage.getValue(name) instanceof Number n ? n.longValue() : 0;
  }

  /**
   * The summary sent with the bus {@code end} event. A stream that ended without the upstream's final count (cut,
   * cancelled, failed, timed out) has the output tokens estimated from the content deltas it received, unless the
   * last count the upstream gave is higher; then {@code output_tokens_estimated} is true.
   */
  public JsonObject summary(Outcome outcome) {
    JsonObject counted = usage.copy();
    boolean estimated = false;
    if (!finalCount && output.deltas() > 0) {
      long reported = usage.getValue("output_tokens") instanceof Number n ? n.longValue() : 0;
      if (output.tokens() > reported) {
        counted.put("output_tokens", output.tokens());
        estimated = true;
      }
    }
    JsonObject s = new JsonObject().put("outcome", outcome.wire()).put("usage", counted);
    if (estimated) {
      s.put("output_tokens_estimated", true);
    }
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
