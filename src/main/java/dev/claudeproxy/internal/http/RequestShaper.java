package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.users.Caller;
import dev.claudeproxy.internal.users.Limits;
import io.vertx.core.buffer.Buffer;
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

  private static final byte[] USER_ID_FIELD = "\"metadata\":{\"user_id\":\"".getBytes(StandardCharsets.US_ASCII);

  private RequestShaper() {}

  /**
   * The body to send upstream. When the only change is {@code metadata.user_id} and the caller's bytes say exactly
   * what the object says, those bytes go on as they were sent, with {@code "metadata":{"user_id":...}} put in front
   * of their first field: no JSON written again for the length of a conversation. Otherwise the shaped object is
   * written anew.
   */
  static Buffer upstreamBody(JsonBody body, Caller caller, String userIdSecret, boolean withMetadata) {
    JsonObject request = body.json();
    Limits limits = caller.limits();
    boolean onlyMetadata = limits.system() == null && !capsMaxTokens(request, limits)
        && !(withMetadata && request.containsKey("metadata"));
    if (body.sent() == null || !onlyMetadata) {
      return shape(request, caller, userIdSecret, withMetadata).toBuffer();
    }
    return withMetadata ? withUserId(body.sent(), opaqueUserId(caller.userId(), userIdSecret)) : body.sent();
  }

  private static boolean capsMaxTokens(JsonObject request, Limits limits) {
    return limits.maxTokens() != null && request.getValue("max_tokens") instanceof Number n
        && n.longValue() > limits.maxTokens();
  }

  /**
   * {@code object} (the bytes of one JSON object with no {@code metadata}) with {@code "metadata":{"user_id":id}} as
   * its first field. {@code id} needs no escape ({@link #opaqueUserId}).
   */
  static Buffer withUserId(Buffer object, String id) {
    int open = 0;
    while (object.getByte(open) != '{') {
      open++;
    }
    int next = open + 1;
    while (next < object.length() && isJsonSpace(object.getByte(next))) {
      next++;
    }
    boolean empty = next < object.length() && object.getByte(next) == '}';
    Buffer out = Buffer.buffer(object.length() + USER_ID_FIELD.length + id.length() + 3);
    out.appendBuffer(object, 0, open + 1).appendBytes(USER_ID_FIELD).appendString(id, "US-ASCII")
        .appendByte((byte) '"').appendByte((byte) '}');
    if (!empty) {
      out.appendByte((byte) ',');
    }
    return out.appendBuffer(object, open + 1, object.length() - open - 1);
  }

  private static boolean isJsonSpace(byte b) {
    return b == ' ' || b == '\t' || b == '\n' || b == '\r';
  }

  static JsonObject shape(JsonObject request, Caller caller, String userIdSecret, boolean withMetadata) {
    Limits limits = caller.limits();
    if (capsMaxTokens(request, limits)) {
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
