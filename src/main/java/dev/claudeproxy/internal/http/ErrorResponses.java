package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** Writes {@link ApiError}s as HTTP responses, each with a fresh {@code request-id}. */
final class ErrorResponses {
  private static final char[] ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".toCharArray();

  private ErrorResponses() {}

  static void send(HttpServerResponse response, ApiError error) {
    if (response.headWritten() || response.ended() || response.closed()) {
      return;
    }
    String given = response.headers().get("request-id");
    String requestId = given != null ? given : newRequestId();
    response.setStatusCode(error.status())
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .putHeader("request-id", requestId)
        .end(error.toJson(requestId).encode());
  }

  /** An id in the API's {@code req_...} form, for answers the proxy gives itself. */
  static String newRequestId() {
    char[] id = new char[24];
    for (int i = 0; i < id.length; i++) {
      // An identifier, not a secret: a per-thread generator, without SecureRandom's lock and entropy reads.
      id[i] = ALPHABET[java.util.concurrent.ThreadLocalRandom.current().nextInt(ALPHABET.length)];
    }
    return "req_" + new String(id);
  }
}
