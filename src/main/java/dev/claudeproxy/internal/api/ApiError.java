package dev.claudeproxy.internal.api;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * An error in the shape of Claude's Messages API: {@code {"type":"error","error":{"type":..,"message":..}}}.
 *
 * <p>This is the one place that maps an error type to its HTTP status and renders error bodies and SSE
 * {@code error} events, for the proxy and the simulator alike.
 */
public record ApiError(int status, String type, String message) {

  public static ApiError invalidRequest(String message) {
    return new ApiError(400, "invalid_request_error", message);
  }

  public static ApiError authentication(String message) {
    return new ApiError(401, "authentication_error", message);
  }

  public static ApiError permission(String message) {
    return new ApiError(403, "permission_error", message);
  }

  public static ApiError notFound(String message) {
    return new ApiError(404, "not_found_error", message);
  }

  public static ApiError methodNotAllowed(String message) {
    return new ApiError(405, "invalid_request_error", message);
  }

  public static ApiError tooLarge(String message) {
    return new ApiError(413, "request_too_large", message);
  }

  public static ApiError unsupportedMediaType(String message) {
    return new ApiError(415, "invalid_request_error", message);
  }

  public static ApiError rateLimited(String message) {
    return new ApiError(429, "rate_limit_error", message);
  }

  public static ApiError api(String message) {
    return new ApiError(500, "api_error", message);
  }

  public static ApiError unavailable(String message) {
    return new ApiError(503, "api_error", message);
  }

  public static ApiError timeout(String message) {
    return new ApiError(504, "timeout_error", message);
  }

  public static ApiError overloaded(String message) {
    return new ApiError(529, "overloaded_error", message);
  }

  /**
   * The proxy itself is at capacity: 503 with the API's {@code overloaded_error}, which clients and SDKs retry (with the
   * {@code retry-after} sent beside it).
   */
  public static ApiError atCapacity(String message) {
    return new ApiError(503, "overloaded_error", message);
  }

  /** The inner {@code error} object. */
  public JsonObject errorObject() {
    return new JsonObject().put("type", type).put("message", message);
  }

  /** The full body; {@code requestId} is added as {@code request_id} when not null. */
  public JsonObject toJson(String requestId) {
    JsonObject body = new JsonObject().put("type", "error").put("error", errorObject());
    if (requestId != null) {
      body.put("request_id", requestId);
    }
    return body;
  }

  /** The error as one complete SSE event, as the API sends it once a stream has started. */
  public Buffer toSseEvent() {
    return Buffer.buffer("event: error\ndata: " + toJson(null).encode() + "\n\n");
  }

  /** Rebuilds an error from an Anthropic-shaped body, or returns null when the body has no such shape. */
  public static ApiError fromJson(int status, JsonObject body) {
    if (body == null || !(body.getValue("error") instanceof JsonObject err)) {
      return null;
    }
    String type = err.getValue("type") instanceof String s ? s : "api_error";
    String message = err.getValue("message") instanceof String s ? s : "";
    return new ApiError(status, type, message);
  }
}
