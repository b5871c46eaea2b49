package dev.claudeproxy.internal.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The user id put in front of a caller's bytes makes one valid object whatever those bytes look like. */
class RequestShaperTest {
  private static final String ID = "user_0123456789abcdef0123456789abcdef";

  private static String spliced(String object) {
    return RequestShaper.withUserId(Buffer.buffer(object), ID).toString();
  }

  @Test
  void anEmptyObjectGetsTheFieldAlone() {
    assertEquals("{\"metadata\":{\"user_id\":\"" + ID + "\"}}", spliced("{}"));
    assertEquals("{\"metadata\":{\"user_id\":\"" + ID + "\"} \n}", spliced("{ \n}"));
    assertEquals(new JsonObject().put("metadata", new JsonObject().put("user_id", ID)), new JsonObject(spliced("{ }")));
  }

  @Test
  void theFieldGoesBeforeTheFirstAndNothingElseMoves() {
    assertEquals("  {\"metadata\":{\"user_id\":\"" + ID + "\"},\"a\":1,\"b\":{\"c\":[]}}\n",
        spliced("  {\"a\":1,\"b\":{\"c\":[]}}\n"));
    JsonObject parsed = new JsonObject(spliced("\r\n{ \"model\" : \"m\" }"));
    assertEquals("m", parsed.getString("model"));
    assertEquals(ID, parsed.getJsonObject("metadata").getString("user_id"));
  }
}
