package dev.claudeproxy.internal.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.api.Outcome;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An access line's fields, their order and escaping, and when a line is written in a request's life. */
class AccessLogTest {
  /** Quotes, backslashes, control characters, a slash, non-ASCII text and a character outside the BMP. */
  private static final String AWKWARD = "a\"b\\c\n\r\t\b\f\u0001\u001f/é😀\u2028<>&'";
  /** Held here: java.util.logging keeps loggers only weakly, and a collected one would lose the handler. */
  private static final Logger LOGGER = Logger.getLogger(AccessLog.LOGGER);
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      lines.add(record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  private final AccessLog log = AccessLog.toLogger();

  @BeforeEach
  void capture() {
    LOGGER.addHandler(capture);
  }

  @AfterEach
  void release() {
    LOGGER.removeHandler(capture);
  }

  /** The lines of this test's requests (other tests' proxies may log on the same logger). */
  private List<JsonObject> linesOf(String requestId) {
    return lines.stream().map(JsonObject::new).filter(l -> requestId.equals(l.getString("request_id"))).toList();
  }

  @Test
  void anAccessLineWithManyFieldsKeepsEachOnceInOrder() {
    AccessLog.Entry entry = log.begin("req_2", "GET", "/");
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
  void anAccessLineKeepsItsFieldsInOrderEscapesAndReplacesInPlace() {
    AccessLog.Entry entry = log.begin("req_1", "POST", "/v1/messages");
    entry.user(AWKWARD, null, "api_key").put("status", 200).put("streaming", true).put("model", null)
        .put("status", 429).put("ttft_ms", 12L);
    entry.usage(new JsonObject().put("usage",
        new JsonObject().put("input_tokens", 3).put("output_tokens", 5L).put("cache_read_input_tokens", "x")));
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
  void aResponseOfTheProxysOwnIsWrittenWhenItEnds() {
    log.begin("req_ok", "GET", "/v1/usage").responded(200);
    log.begin("req_no", "GET", "/v1/nothing").responded(404);
    JsonObject ok = linesOf("req_ok").get(0);
    assertEquals(200, ok.getInteger("status"));
    assertEquals("completed", ok.getString("outcome"));
    assertTrue(ok.containsKey("duration_ms"), ok.encode());
    assertEquals("rejected", linesOf("req_no").get(0).getString("outcome"));
  }

  @Test
  void aStreamIsWrittenOnceBothItsEndAndItsUsageAreInWhateverTheirOrder() {
    JsonObject report = new JsonObject().put("usage", new JsonObject().put("input_tokens", 7).put("output_tokens", 9))
        .put("output_tokens_estimated", true);
    AccessLog.Entry endFirst = log.begin("req_a", "POST", "/v1/messages");
    endFirst.streamEnded(Outcome.CANCELLED, 200);
    assertTrue(linesOf("req_a").isEmpty(), "not before the usage");
    endFirst.usage(report);
    AccessLog.Entry usageFirst = log.begin("req_b", "POST", "/v1/messages");
    usageFirst.usage(report);
    assertTrue(linesOf("req_b").isEmpty(), "not before the end");
    usageFirst.streamEnded(Outcome.COMPLETED, null);
    usageFirst.writeWithoutUsage();
    for (String id : List.of("req_a", "req_b")) {
      List<JsonObject> written = linesOf(id);
      assertEquals(1, written.size(), "written once: " + written);
      JsonObject line = written.get(0);
      assertEquals(9, line.getLong("output_tokens"), line.encode());
      assertEquals(true, line.getBoolean("output_tokens_estimated"), line.encode());
    }
    assertEquals("cancelled", linesOf("req_a").get(0).getString("outcome"));
    assertEquals(200, linesOf("req_a").get(0).getInteger("status"));
    assertFalse(linesOf("req_b").get(0).containsKey("status"), "no head went to the client");
  }

  @Test
  void aStreamWhoseUsageNeverComesIsWrittenWithoutItOnceItHasWaitedLongEnough() {
    AccessLog.Entry entry = log.begin("req_lost", "POST", "/v1/messages");
    long now = System.currentTimeMillis();
    assertFalse(entry.waitedLongerThan(0, now + 1_000), "an open stream does not wait for its usage yet");
    entry.streamEnded(Outcome.WORKER_LOST, 200);
    assertFalse(entry.waitedLongerThan(10_000, System.currentTimeMillis()));
    assertTrue(entry.waitedLongerThan(10_000, System.currentTimeMillis() + 10_001));
    entry.writeWithoutUsage();
    assertFalse(entry.waitedLongerThan(10_000, System.currentTimeMillis() + 10_001), "written: nothing to wait for");
    JsonObject line = linesOf("req_lost").get(0);
    assertEquals("worker_lost", line.getString("outcome"));
    assertFalse(line.containsKey("output_tokens"), line.encode());
  }
}
