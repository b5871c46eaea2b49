package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.observe.AccessLog;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Time to first token is the time to the first content (a text, thinking or tool-input delta), not to the stream's
 * first event: with the simulator holding the content back {@value #DELAY_MS} ms after its message_start, the
 * metric and the access line's {@code ttft_ms} are at least that, and the first event ({@code first_event_ms},
 * {@code claude_proxy_time_to_first_event}) comes about that much sooner.
 */
class TimeToFirstTokenTest {
  private static final int DELAY_MS = 300;
  private static final Map<String, String> SLOW_FIRST_TOKEN = Map.of("x-sim-ttft-ms", Integer.toString(DELAY_MS));
  /** Held here: java.util.logging keeps loggers only weakly, and a collected one would lose the handler. */
  private static final Logger ACCESS_LOGGER = Logger.getLogger(AccessLog.LOGGER);
  private static final List<JsonObject> ACCESS = new CopyOnWriteArrayList<>();
  private static final Handler CAPTURE = new Handler() {
    @Override
    public void publish(LogRecord record) {
      ACCESS.add(new JsonObject(record.getMessage()));
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };
  private static TestStack stack;

  @BeforeAll
  static void start() {
    ACCESS_LOGGER.addHandler(CAPTURE);
    stack = TestStack.start();
    // A first stream loads and compiles the path, which on a busy machine can take longer than the delay itself.
    assertEquals(200, stack.post("/v1/messages", messages("warm up", 5), stack.jsonHeaders(Map.of())).statusCode());
  }

  @AfterAll
  static void stop() {
    stack.close();
    ACCESS_LOGGER.removeHandler(CAPTURE);
  }

  private static String messages(String text, int maxTokens) {
    return new JsonObject().put("model", "claude-sonnet-4-6").put("max_tokens", maxTokens).put("stream", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", text))).encode();
  }

  /** The access line of the answer whose {@code request-id} was {@code requestId} (passed on from the upstream). */
  private static JsonObject accessLine(String requestId) throws InterruptedException {
    Wire.waitFor(() -> ACCESS.stream().anyMatch(l -> requestId.equals(l.getString("upstream_request_id"))
        && l.containsKey("duration_ms")), "the access line of " + requestId);
    return ACCESS.stream().filter(l -> requestId.equals(l.getString("upstream_request_id"))).findFirst()
        .orElseThrow();
  }

  private static JsonObject timed(String path, String body) throws InterruptedException {
    HttpResponse<String> r = stack.post(path, body, stack.jsonHeaders(SLOW_FIRST_TOKEN));
    assertEquals(200, r.statusCode(), r.body());
    return accessLine(r.headers().firstValue("request-id").orElseThrow());
  }

  @Test
  void theAccessLineTimesTheFirstContentNotTheFirstEvent() throws Exception {
    JsonObject line = timed("/v1/messages", messages("time me", 50));
    assertTrue(line.getLong("ttft_ms") >= DELAY_MS, line.encode());
    assertTrue(line.getLong("ttft_ms") - line.getLong("first_event_ms") >= DELAY_MS * 2 / 3, line.encode());

    JsonObject chat = timed("/v1/chat", new JsonObject().put("max_tokens", 50).put("messages", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", "time the chat"))).encode());
    assertTrue(chat.getLong("ttft_ms") >= DELAY_MS, chat.encode());
    assertTrue(chat.getLong("ttft_ms") - chat.getLong("first_event_ms") >= DELAY_MS * 2 / 3, chat.encode());
  }

  @Test
  void aStreamWithNoContentHasNoTimeToFirstToken() throws Exception {
    HttpResponse<String> r = stack.post("/v1/messages", messages("say nothing", 50),
        stack.jsonHeaders(Map.of("x-sim-output-tokens", "0")));
    assertEquals(200, r.statusCode(), r.body());
    JsonObject line = accessLine(r.headers().firstValue("request-id").orElseThrow());
    assertFalse(line.containsKey("ttft_ms"), line.encode());
    assertTrue(line.containsKey("first_event_ms"), line.encode());
  }

  @Test
  void theMetricTimesTheFirstContent() throws Exception {
    String before = scrape();
    for (int i = 0; i < 3; i++) {
      timed("/v1/messages", messages("meter me " + i, 20));
    }
    String after = scrape();
    // The means of these three streams alone, from the growth of each timer's sum and count.
    double firstToken = mean(before, after, "claude_proxy_time_to_first_token_seconds");
    double firstEvent = mean(before, after, "claude_proxy_time_to_first_event_seconds");
    assertTrue(firstToken >= DELAY_MS / 1000.0, firstToken + " s\n" + after);
    assertTrue(firstToken - firstEvent >= DELAY_MS / 1000.0 * 2 / 3, "first event " + firstEvent + " s, first token "
        + firstToken + " s");
  }

  private static String scrape() {
    return stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/metrics")).build()).body();
  }

  private static double mean(String before, String after, String timer) {
    return (value(after, timer + "_sum") - value(before, timer + "_sum"))
        / (value(after, timer + "_count") - value(before, timer + "_count"));
  }

  /** A meter's value on {@code /v1/messages}; 0 when it has none yet. */
  private static double value(String scrape, String name) {
    Matcher m = Pattern.compile("(?m)^" + name + "\\{endpoint=\"messages\"[^}]*\\} (\\S+)$").matcher(scrape);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }
}
