package dev.claudeproxy.internal.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.vertx.core.json.JsonObject;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The per-request lines are written without a map; they must read exactly as {@code JsonObject.encode()} would. */
class JsonLineTest {
  /** Quotes, backslashes, control characters, a slash, non-ASCII text and a character outside the BMP. */
  private static final String AWKWARD = "a\"b\\c\n\r\t\b\f\u0001\u001f/é😀\u2028<>&'";

  @Test
  void writesWhatJsonObjectEncodeWrites() {
    String line = new JsonLine().field("s", AWKWARD).field(AWKWARD, "name").field("n", -42L).field("max", Long.MAX_VALUE)
        .field("t", true).field("f", false).field("none", (String) null).field("i", (Object) 7)
        .field("o", (Object) "x").field("b", (Object) Boolean.TRUE).field("q", "only \"quotes\"")
        .field("back\\slash", "only a \\").field("c", "only a \u0007").toString();
    String expected = new JsonObject().put("s", AWKWARD).put(AWKWARD, "name").put("n", -42L)
        .put("max", Long.MAX_VALUE).put("t", true).put("f", false).putNull("none").put("i", 7).put("o", "x")
        .put("b", true).put("q", "only \"quotes\"").put("back\\slash", "only a \\").put("c", "only a \u0007")
        .encode();
    assertEquals(expected, line);
    assertEquals("{}", new JsonLine().toString());
  }

  @Test
  void anAccessLineWithManyFieldsKeepsEachOnceInOrder() {
    AccessLog.Entry entry = new AccessLog.Entry("req_2", "GET", "/");
    JsonObject expected = new JsonObject().put("request_id", "req_2").put("method", "GET").put("path", "/");
    for (int i = 0; i < 100; i++) {
      entry.put("f" + i, (long) i);
      expected.put("f" + i, (long) i);
    }
    for (int i = 0; i < 100; i += 7) {
      entry.put(new String("f" + i), "again " + i);
      expected.put("f" + i, "again " + i);
    }
    entry.put("method", "HEAD");
    expected.put("method", "HEAD");
    String line = entry.encode();
    String time = new JsonObject(line).getString("time");
    assertEquals("{\"time\":\"" + time + "\"," + expected.encode().substring(1), line, "each field once, in order");
  }

  @Test
  void anAccessLineKeepsItsFieldsInOrderAndReplacesInPlace() {
    AccessLog.Entry entry = new AccessLog.Entry("req_1", "POST", "/v1/messages");
    entry.user(AWKWARD, null, "api_key").put("status", 200).put("streaming", true).put("model", null)
        .put("status", 429).put("ttft_ms", 12L);
    entry.usage(new JsonObject().put("input_tokens", 3).put("output_tokens", 5L).put("cache_read_input_tokens", "x"));
    String line = entry.encode();
    JsonObject read = new JsonObject(line);
    Instant.parse(read.getString("time"));
    JsonObject expected = new JsonObject().put("time", read.getString("time")).put("request_id", "req_1")
        .put("method", "POST").put("path", "/v1/messages").put("user", AWKWARD).put("via", "api_key")
        .put("status", 429).put("streaming", true).put("ttft_ms", 12L).put("input_tokens", 3L)
        .put("output_tokens", 5L);
    assertEquals(expected.encode(), line);
    assertFalse(read.containsKey("model"), "a null value is left out");
    assertEquals("req_1", entry.requestId());
  }

  @Test
  void anInstantReadsAsInstantToString() {
    long[] seconds = {0, 1_763_800_000L, 1_763_800_001L, 1_763_800_000L, 253_402_300_799L};
    int[] nanos = {0, 1, 9, 10, 999, 1_000, 120_000, 999_000, 1_000_000, 5_000_000, 120_000_000, 999_999_999, 100_000,
        123_456_789, 100, 7_000_010};
    for (long second : seconds) {
      for (int nano : nanos) {
        Instant at = Instant.ofEpochSecond(second, nano);
        assertEquals(new JsonObject().put("time", at.toString()).encode(), new JsonLine().field("time", at).toString(),
            at::toString);
      }
    }
  }
}
