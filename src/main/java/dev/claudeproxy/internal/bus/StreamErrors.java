package dev.claudeproxy.internal.bus;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.json.JsonObject;

/** The body of an {@code error} event on the bus: {@code {"status":502,"error":{"type":..,"message":..}}}. */
public final class StreamErrors {
  private StreamErrors() {}

  public static JsonObject encode(ApiError error) {
    return new JsonObject().put("status", error.status()).put("error", error.errorObject());
  }

  public static ApiError decode(JsonObject body) {
    ApiError error = ApiError.fromJson(body.getInteger("status", 500), body);
    return error != null ? error : ApiError.api("stream failed");
  }
}
