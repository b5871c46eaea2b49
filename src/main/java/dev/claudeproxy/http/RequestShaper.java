package dev.claudeproxy.http;

import dev.claudeproxy.users.Caller;
import dev.claudeproxy.users.Limits;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Shapes a request on the server's side before it goes upstream: caps {@code max_tokens}, puts the tier's system
 * prompt before the caller's (both kept), and sets {@code metadata.user_id} to an opaque id of the user so that an
 * upstream abuse report can be mapped back to them.
 */
final class RequestShaper {
  /** Opaque ids by secret and user: an HMAC per request would be paid on every request for the same answer. */
  private static final java.util.Map<String, String> OPAQUE_IDS = new java.util.concurrent.ConcurrentHashMap<>();
  private static final int MAX_CACHED_IDS = 100_000;

  private RequestShaper() {}

  static JsonObject shape(JsonObject request, Caller caller, String userIdSecret, boolean withMetadata) {
    Limits limits = caller.limits();
    if (limits.maxTokens() != null && request.getValue("max_tokens") instanceof Number n
        && n.longValue() > limits.maxTokens()) {
      request.put("max_tokens", limits.maxTokens());
    }
    if (limits.system() != null) {
      Object system = request.getValue("system");
      JsonObject tierBlock = new JsonObject().put("type", "text").put("text", limits.system());
      if (system == null) {
        request.put("system", limits.system());
      } else if (system instanceof String text) {
        request.put("system", new JsonArray().add(tierBlock).add(new JsonObject().put("type", "text").put("text",
            text)));
      } else if (system instanceof JsonArray blocks) {
        JsonArray both = new JsonArray().add(tierBlock);
        blocks.forEach(both::add);
        request.put("system", both);
      }
    }
    if (withMetadata) {
      JsonObject metadata = request.getValue("metadata") instanceof JsonObject m ? m : new JsonObject();
      request.put("metadata", metadata.put("user_id", opaqueUserId(caller.userId(), userIdSecret)));
    }
    return request;
  }

  /** {@code user_} and 32 hex digits of HMAC-SHA256(secret, user id): stable, and no use without the secret. */
  static String opaqueUserId(String userId, String secret) {
    String key = secret.length() + ":" + secret + userId;
    String cached = OPAQUE_IDS.get(key);
    if (cached != null) {
      return cached;
    }
    String id = computeOpaqueUserId(userId, secret);
    if (OPAQUE_IDS.size() < MAX_CACHED_IDS) {
      OPAQUE_IDS.put(key, id);
    }
    return id;
  }

  private static String computeOpaqueUserId(String userId, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] digest = mac.doFinal(userId.getBytes(StandardCharsets.UTF_8));
      return "user_" + HexFormat.of().formatHex(digest, 0, 16);
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }
}
