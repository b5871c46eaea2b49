package dev.claudeproxy.internal.http;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.DatabindCodec;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Logger;

/**
 * Checks of request bodies, done before anything goes upstream: the shapes every caller must get right. Deeper
 * rules (role order, model limits) are the upstream's to enforce, and its answer passes through.
 */
final class RequestChecks {
  private RequestChecks() {}

  /** A failed check, carried as a value up to the route that answers it. */
  static final class Invalid extends Exception {
    final ApiError error;

    Invalid(ApiError error) {
      super(error.message(), null, false, false);
      this.error = error;
    }
  }

  static Invalid invalid(String message) {
    return new Invalid(ApiError.invalidRequest(message));
  }

  /**
   * Parses a body strictly: a name given twice in an object is an error here, so that bytes this parses mean exactly
   * the object it gives. Otherwise as Vert.x's own mapper, trailing tokens refused.
   */
  private static final ObjectMapper STRICT = DatabindCodec.mapper().copy()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  /** As {@link #STRICT}, but a name given twice is read as the last value, as Vert.x reads it. */
  private static final ObjectMapper LENIENT = DatabindCodec.mapper().copy()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  private static final TypeReference<LinkedHashMap<String, Object>> OBJECT = new TypeReference<>() {};
  private static final Logger LOG = Logger.getLogger(RequestChecks.class.getName());

  /** The JSON object body, after checking the content type. */
  static JsonObject jsonBody(RoutingContext ctx) throws Invalid {
    return body(ctx).json();
  }

  /**
   * The JSON object body, after checking the content type, with the bytes as sent when they may go upstream as they
   * are (see {@link JsonBody}).
   */
  static JsonBody body(RoutingContext ctx) throws Invalid {
    String type = ctx.request().getHeader("content-type");
    if (type == null || !type.toLowerCase(Locale.ROOT).trim().startsWith("application/json")) {
      throw new Invalid(ApiError.unsupportedMediaType(
          "content-type must be application/json, got " + (type == null ? "none" : "\"" + type + "\"")));
    }
    Buffer body = ctx.body().buffer();
    if (body == null || body.length() == 0) {
      throw invalid("request body is empty: expected a JSON object");
    }
    byte[] bytes = body.getBytes();
    try {
      // Strictly: Jackson lets some malformed sequences (encoded surrogates) through, the API does not.
      java.nio.charset.StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
    } catch (java.nio.charset.CharacterCodingException e) {
      throw invalid("request body is not valid UTF-8");
    }
    int first = 0;
    while (first < bytes.length && Character.isWhitespace(bytes[first])) {
      first++;
    }
    if (first < bytes.length && bytes[first] != '{') {
      throw invalid("request body must be a JSON object");
    }
    try {
      return new JsonBody(body, new JsonObject(STRICT.readValue(bytes, OBJECT)));
    } catch (IOException strictFailure) {
      // Not one JSON object, or a name given twice: the lenient reading below tells which.
    }
    try {
      return JsonBody.built(new JsonObject(LENIENT.readValue(bytes, OBJECT)));
    } catch (IOException e) {
      // The parser's own words name its classes and limits: they go to the log; the caller learns what is wrong
      // and where, as the API says it ("The request body is not valid JSON: ...: line 1 column 9 (char 8)").
      LOG.info(() -> "request body is not valid JSON: " + firstLine(e.getMessage()));
      throw invalid("The request body is not valid JSON: " + notJson(e));
    }
  }

  /** What is wrong with a body the parser refused, and where, without the parser's own phrasing. */
  static String notJson(IOException e) {
    String what;
    if (e instanceof StreamConstraintsException) {
      what = "nested too deeply or a value too long";
    } else if (e instanceof JsonEOFException) {
      what = "unexpected end of data";
    } else if (e instanceof MismatchedInputException) {
      // The object was whole and more followed it (FAIL_ON_TRAILING_TOKENS); a body that is no object at all was
      // refused before parsing.
      what = "extra data after the JSON object";
    } else {
      what = "unexpected character";
    }
    JsonLocation at = e instanceof JsonProcessingException p ? p.getLocation() : null;
    if (at == null || at.getLineNr() < 1) {
      return what;
    }
    return what + ": line " + at.getLineNr() + " column " + at.getColumnNr() + " (char "
        + Math.max(0, at.getCharOffset() >= 0 ? at.getCharOffset() : at.getByteOffset()) + ")";
  }

  /** Checks the fields of a Messages API request that the proxy relies on or that are plainly mistyped. */
  static void messagesRequest(JsonObject body) throws Invalid {
    requiredString(body, "model");
    requiredCount(body, "max_tokens", 0);
    messages(body, "messages", Set.of("user", "assistant", "system"));
    optional(body, "stream", Boolean.class, "a boolean");
    systemPrompt(body);
    optional(body, "temperature", Number.class, "a number");
    optional(body, "top_p", Number.class, "a number");
    if (body.containsKey("top_k") && !isWhole(body.getValue("top_k"))) {
      throw invalid("top_k: must be an integer");
    }
    optionalArray(body, "stop_sequences", String.class, "an array of strings", "a string");
    optionalArray(body, "tools", JsonObject.class, "an array", "an object");
    optional(body, "tool_choice", JsonObject.class, "an object");
    optional(body, "thinking", JsonObject.class, "an object");
    optional(body, "metadata", JsonObject.class, "an object");
  }

  static void systemPrompt(JsonObject body) throws Invalid {
    Object system = body.getValue("system");
    if (system != null && !(system instanceof String) && !(system instanceof JsonArray)) {
      throw invalid("system: must be a string or an array of text blocks");
    }
  }

  static void messages(JsonObject body, String field, Set<String> roles) throws Invalid {
    if (!body.containsKey(field)) {
      throw invalid(field + ": field required");
    }
    if (!(body.getValue(field) instanceof JsonArray messages)) {
      throw invalid(field + ": must be an array");
    }
    if (messages.isEmpty()) {
      throw invalid(field + ": at least one message is required");
    }
    for (int i = 0; i < messages.size(); i++) {
      if (!(messages.getValue(i) instanceof JsonObject message)) {
        throw invalid(field + "." + i + ": must be an object");
      }
      if (!(message.getValue("role") instanceof String role) || !roles.contains(role)) {
        throw invalid(field + "." + i + ".role: must be one of " + String.join(", ", roles.stream().sorted().toList()));
      }
      Object content = message.getValue("content");
      // A system message may carry only a per-turn output_config (mid-conversation-system beta).
      boolean systemWithoutContent = role.equals("system") && content == null;
      if (!systemWithoutContent && !(content instanceof String) && !(content instanceof JsonArray)) {
        throw invalid(field + "." + i + ".content: must be a string or an array of content blocks");
      }
    }
  }

  static String requiredString(JsonObject body, String field) throws Invalid {
    if (!body.containsKey(field)) {
      throw invalid(field + ": field required");
    }
    if (!(body.getValue(field) instanceof String s) || s.isBlank()) {
      throw invalid(field + ": must be a non-empty string");
    }
    return s;
  }

  static long requiredCount(JsonObject body, String field, long min) throws Invalid {
    if (!body.containsKey(field)) {
      throw invalid(field + ": field required");
    }
    return count(body, field, min);
  }

  static long count(JsonObject body, String field, long min) throws Invalid {
    Object value = body.getValue(field);
    if (!isWhole(value)) {
      throw invalid(field + ": must be an integer");
    }
    long n = ((Number) value).longValue();
    if (n < min) {
      throw invalid(field + ": must be at least " + min);
    }
    return n;
  }

  static void optional(JsonObject body, String field, Class<?> type, String what) throws Invalid {
    Object value = body.getValue(field);
    if (body.containsKey(field) && !type.isInstance(value)) {
      throw invalid(field + ": must be " + what);
    }
  }

  /** When present, {@code field} must be an array ({@code what}) whose items are all {@code type} ({@code itemWhat}). */
  static void optionalArray(JsonObject body, String field, Class<?> type, String what, String itemWhat)
      throws Invalid {
    if (!body.containsKey(field)) {
      return;
    }
    if (!(body.getValue(field) instanceof JsonArray items)) {
      throw invalid(field + ": must be " + what);
    }
    for (int i = 0; i < items.size(); i++) {
      if (!type.isInstance(items.getValue(i))) {
        throw invalid(field + "." + i + ": must be " + itemWhat);
      }
    }
  }

  private static boolean isWhole(Object value) {
    return value instanceof Integer || value instanceof Long
        || value instanceof Number n && !(value instanceof Double d && (d != Math.rint(d) || d.isInfinite()))
            && !(value instanceof Float);
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "malformed";
    }
    int nl = message.indexOf('\n');
    return nl < 0 ? message : message.substring(0, nl);
  }
}
