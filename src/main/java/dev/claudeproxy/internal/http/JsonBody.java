package dev.claudeproxy.internal.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;

/**
 * A request's JSON object and, when they say exactly what the object says, the bytes the caller sent.
 *
 * @param sent the caller's bytes, or null when they may not be sent on as they are: a body built by the proxy, or one
 *     with a name given twice in an object (which the API might read otherwise than the proxy's checks did)
 * @param json the object
 */
record JsonBody(Buffer sent, JsonObject json) {
  /** A body the proxy built: written anew before it goes upstream. */
  static JsonBody built(JsonObject json) {
    return new JsonBody(null, json);
  }
}
