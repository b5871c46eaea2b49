package dev.claudeproxy.internal.load;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.TestStack;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The load generator against the real proxy: it must pass clean streams and catch broken ones. */
class LoadGeneratorTest {
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("SIM_TTFT_MS", 20, "SIM_TOKENS_PER_SECOND", 200));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private static LoadReport run(String endpoint, int concurrency, long total, Map<String, String> headers) {
    return run(endpoint, concurrency, total, headers, 0);
  }

  private static LoadReport run(String endpoint, int concurrency, long total, Map<String, String> headers,
      long warmup) {
    return run(endpoint, concurrency, total, headers, warmup, false);
  }

  private static LoadReport run(String endpoint, int concurrency, long total, Map<String, String> headers,
      long warmup, boolean cutAndResume) {
    return run(endpoint, concurrency, total, headers, warmup, cutAndResume, false);
  }

  private static LoadReport run(String endpoint, int concurrency, long total, Map<String, String> headers,
      long warmup, boolean cutAndResume, boolean cancel) {
    LoadConfig config = new LoadConfig(List.of(URI.create(stack.proxyUrl())), endpoint, stack.callerKey, concurrency,
        total, null, Duration.ofMillis(200), LoadConfig.defaultTemplate(endpoint, "claude-sonnet-4-6", 1024), headers,
        25, 2, warmup, cutAndResume, cancel);
    return TestStack.await(new LoadGenerator(config, null).run(stack.vertx));
  }

  @Test
  void theSharesOfAManyProcessRunAddUpToOneReport() {
    LoadReport clean = run("messages", 10, 30, Map.of());
    LoadReport failing = run("messages", 5, 12, Map.of("x-sim-scenario", "midstream_error"));
    // Through JSON, as the processes' files carry them.
    List<JsonObject> shares = List.of(new JsonObject(clean.export().encode()),
        new JsonObject(failing.export().encode()));
    LoadConfig config = new LoadConfig(List.of(URI.create(stack.proxyUrl())), "messages", stack.callerKey, 15, 42,
        null, Duration.ZERO, LoadConfig.defaultTemplate("messages", "claude-sonnet-4-6", 1024), Map.of(), 25, 1, 0,
        false, false);
    LoadReport merged = LoadReport.merged(config, shares);
    JsonObject a = clean.summary();
    JsonObject b = failing.summary();
    JsonObject m = merged.summary();
    assertFalse(merged.clean(), m.encodePrettily());
    assertEquals(42, m.getJsonObject("streams").getLong("started"));
    assertEquals(a.getJsonObject("streams").getLong("completed") + b.getJsonObject("streams").getLong("completed"),
        m.getJsonObject("streams").getLong("completed"));
    assertEquals(12, m.getJsonObject("streams").getLong("failed"), m.encodePrettily());
    assertEquals(b.getJsonObject("errors"), m.getJsonObject("errors"));
    assertEquals(a.getLong("deltas") + b.getLong("deltas"), m.getLong("deltas"));
    assertEquals(a.getJsonObject("integrity").getLong("verified") + b.getJsonObject("integrity").getLong("verified"),
        m.getJsonObject("integrity").getLong("verified"));
    JsonObject ttft = m.getJsonObject("time_to_first_token_ms");
    assertEquals(a.getJsonObject("time_to_first_token_ms").getLong("count")
        + b.getJsonObject("time_to_first_token_ms").getLong("count"), ttft.getLong("count"));
    assertEquals(Math.max(a.getJsonObject("time_to_first_token_ms").getDouble("max"),
        b.getJsonObject("time_to_first_token_ms").getDouble("max")), ttft.getDouble("max"));
    assertEquals(Math.max(a.getDouble("seconds"), b.getDouble("seconds")), m.getDouble("seconds"));
    assertEquals(15, m.getJsonObject("config").getInteger("concurrency"));
    // The timelines add up second by second: no delta lost or counted twice, one sample a second.
    JsonArray timeline = merged.export().getJsonArray("timeline");
    long perSecond = 0;
    for (int i = 0; i < timeline.size(); i++) {
      perSecond += timeline.getJsonObject(i).getLong("deltas_per_s");
      if (i > 0) {
        assertTrue(Math.round(timeline.getJsonObject(i).getDouble("t"))
            > Math.round(timeline.getJsonObject(i - 1).getDouble("t")), timeline.encode());
      }
    }
    assertEquals(sum(clean.export().getJsonArray("timeline")) + sum(failing.export().getJsonArray("timeline")),
        perSecond);
  }

  private static long sum(JsonArray timeline) {
    long all = 0;
    for (int i = 0; i < timeline.size(); i++) {
      all += timeline.getJsonObject(i).getLong("deltas_per_s");
    }
    return all;
  }

  @Test
  void warmUpStreamsAreCheckedButNotTimed() {
    LoadReport report = run("messages", 20, 100, Map.of(), 60);
    JsonObject s = report.summary();
    assertTrue(report.clean(), s.encodePrettily());
    assertEquals(100, s.getJsonObject("streams").getLong("completed"));
    assertEquals(40, s.getJsonObject("time_to_first_token_ms").getLong("count"), s.encodePrettily());
    assertEquals(60, s.getJsonObject("config").getLong("warmup_streams"));
  }

  @Test
  void verifiesEveryStreamThroughTheProxy() throws Exception {
    for (String endpoint : new String[] {"messages", "chat"}) {
      LoadReport report = run(endpoint, 50, 300, Map.of());
      JsonObject s = report.summary();
      assertTrue(report.clean(), s.encodePrettily());
      assertEquals(300, s.getJsonObject("streams").getLong("completed"));
      assertEquals(300, s.getJsonObject("integrity").getLong("verified"));
      assertEquals(300 * 25, s.getLong("deltas"));
      assertEquals(300, s.getJsonObject("time_to_first_token_ms").getLong("count"));
    }
  }

  @Test
  void cutsEveryStreamAndResumesItWithNoEventLostOrRepeated() {
    // Paced streams are cut while the upstream still sends; unpaced ones mostly after it has finished.
    for (String pace : new String[] {"200", "0"}) {
      for (String endpoint : new String[] {"messages", "chat"}) {
        String what = endpoint + " at " + pace + " tokens/s";
        long upstreamCalls = stack.simulator.stats().streamsStarted();
        LoadReport report = run(endpoint, 20, 90, Map.of("x-sim-tokens-per-second", pace), 0, true);
        JsonObject s = report.summary();
        assertTrue(report.clean(), what + ": " + s.encodePrettily());
        assertEquals(90, s.getJsonObject("integrity").getLong("verified"), what);
        JsonObject resume = s.getJsonObject("resume");
        assertEquals(90, resume.getLong("cuts"), what);
        assertEquals(90, resume.getLong("resumed"), what);
        assertEquals(new JsonObject(), resume.getJsonObject("failed"), what);
        assertEquals(90, resume.getJsonObject("time_to_resume_ms").getLong("count"), what);
        for (String place : new String[] {"before_first_delta", "inside_content", "after_last_delta"}) {
          assertTrue(resume.getJsonObject("cut_at").getLong(place, 0L) > 0, what + ": no cut " + place);
        }
        // A resume reads what the worker kept: the upstream is asked once a stream.
        assertEquals(90, stack.simulator.stats().streamsStarted() - upstreamCalls, what);
      }
    }
  }

  @Test
  void cancelsEveryStreamAndTheProxyCancelsItsUpstreamCall() throws Exception {
    for (String endpoint : new String[] {"messages", "chat"}) {
      long cancelledUpstream = stack.simulator.stats().streamsCancelled();
      long completedUpstream = stack.simulator.stats().streamsCompleted();
      long started = stack.simulator.stats().streamsStarted();
      // Paced, so that most cuts fall while the upstream still sends.
      LoadReport report = run(endpoint, 20, 90, Map.of("x-sim-tokens-per-second", "200"), 0, false, true);
      JsonObject s = report.summary();
      assertTrue(report.clean(), endpoint + ": " + s.encodePrettily());
      assertEquals(90, s.getJsonObject("streams").getLong("completed"), endpoint);
      assertEquals(90, s.getJsonObject("integrity").getLong("verified"), endpoint);
      JsonObject cancel = s.getJsonObject("cancel");
      assertEquals(90, cancel.getLong("cancelled"), endpoint);
      for (String place : new String[] {"before_first_delta", "inside_content", "after_last_delta"}) {
        assertTrue(cancel.getJsonObject("cut_at").getLong(place, 0L) > 0, endpoint + ": no cut " + place);
      }
      assertTrue(s.getLong("deltas") < 90 * 25, endpoint + ": a cancelled stream reads only its start");
      assertEquals(90, stack.simulator.stats().streamsStarted() - started, endpoint);
      // The clients went away, and no upstream call is left running. On /v1/messages the proxy cancels the calls still
      // under way (a cut before the first delta always finds its call under way; one near the end may find it ended).
      // A /v1/chat stream is resumable: its client gone, it detaches and runs on for a reader, to its end here.
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (stack.simulator.stats().streamsCancelled() - cancelledUpstream
          + stack.simulator.stats().streamsCompleted() - completedUpstream < 90 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      long cancelled = stack.simulator.stats().streamsCancelled() - cancelledUpstream;
      assertEquals(90, cancelled + stack.simulator.stats().streamsCompleted() - completedUpstream,
          endpoint + ": every upstream call ended, cancelled or completed");
      long mustCancel = "chat".equals(endpoint) ? 0 : cancel.getJsonObject("cut_at").getLong("before_first_delta");
      assertTrue(mustCancel > 0 || "chat".equals(endpoint), cancel.encode());
      assertTrue(cancelled >= mustCancel, endpoint + ": " + cancelled + " upstream calls cancelled, " + cancel.encode());
      assertEquals(0, stack.simulator.stats().streamsOpen(), endpoint);
    }
  }

  @Test
  void timeToFirstTokenIsTheFirstContentNotTheFirstEvent() {
    // The simulator sends message_start at once and the first delta 300 ms later.
    for (String endpoint : new String[] {"messages", "chat"}) {
      LoadReport report = run(endpoint, 4, 8, Map.of("x-sim-ttft-ms", "300"));
      JsonObject ttft = report.summary().getJsonObject("time_to_first_token_ms");
      assertTrue(report.clean(), report.summary().encodePrettily());
      assertEquals(8, ttft.getLong("count"));
      assertTrue(ttft.getDouble("p50") >= 300, endpoint + ": " + ttft.encode());
    }
  }

  @Test
  void catchesStreamsThatBreak() {
    LoadReport cut = run("messages", 20, 40, Map.of("x-sim-scenario", "disconnect"));
    assertFalse(cut.clean());
    assertEquals(40, cut.summary().getJsonObject("errors").getLong("stream_error:api_error"), cut.summary().encode());
    LoadReport failing = run("chat", 20, 40, Map.of("x-sim-scenario", "midstream_error"));
    assertEquals(40, failing.summary().getJsonObject("errors").getLong("stream_error:overloaded_error"));
    LoadReport refused = run("messages", 10, 20, Map.of("x-sim-scenario", "rate_limited", "x-sim-should-retry",
        "false"));
    assertEquals(20, refused.summary().getJsonObject("errors").getLong("http_429:rate_limit_error"));
  }

  @Test
  void writesAJsonSummaryAndAnHtmlReport() throws Exception {
    LoadReport report = run("messages", 10, 30, Map.of());
    Path dir = Files.createTempDirectory("csp-load");
    report.writeJson(dir.resolve("summary.json"));
    report.writeHtml(dir.resolve("report.html"));
    JsonObject json = new JsonObject(Files.readString(dir.resolve("summary.json")));
    assertEquals(30, json.getJsonObject("streams").getLong("completed"));
    assertFalse(json.getJsonArray("timeline").isEmpty());
    String html = Files.readString(dir.resolve("report.html"));
    assertTrue(html.contains("new Chart(") && html.contains("\"completed\":30"));
  }
}
