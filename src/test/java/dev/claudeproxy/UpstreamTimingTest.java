package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Timer;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The upstream's share of a first token is metered apart from the proxy's, once per upstream attempt. */
class UpstreamTimingTest {
  private static final String MESSAGE = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":50,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("SIM_SLOW_FIRST_TOKEN_MS", 300));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private static Timer timer(String name, String... tags) {
    return stack.proxy.services().metrics().registry().get(name).tags(tags).timer();
  }

  /** Count and total milliseconds of a timer made at its first use: zero before it. */
  private static double[] sofar(String name, String... tags) {
    Timer t = stack.proxy.services().metrics().registry().find(name).tags(tags).timer();
    return t == null ? new double[] {0, 0} : new double[] {t.count(), t.totalTime(TimeUnit.MILLISECONDS)};
  }

  @Test
  void aSlowUpstreamHeadIsTheUpstreamsShareOfTheFirstToken() {
    Timer upstream = timer("claude_proxy_upstream_time_to_head");
    long count = upstream.count();
    double upstreamMs = upstream.totalTime(TimeUnit.MILLISECONDS);
    // A whole (not streamed) answer has no time to first token of its own: its first bytes are the first event.
    double[] firstToken = sofar("claude_proxy_time_to_first_event", "endpoint", "messages");

    // Not streamed: the simulator holds its whole answer, head included, for the slow first token.
    HttpResponse<String> r = stack.post("/v1/messages", String.format(MESSAGE, "take your time"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "slow_first_token")));
    assertEquals(200, r.statusCode(), r.body());

    assertEquals(count + 1, upstream.count());
    double upstreamAdded = upstream.totalTime(TimeUnit.MILLISECONDS) - upstreamMs;
    assertTrue(upstreamAdded >= 300, upstreamAdded + " ms");
    double[] firstTokenAfter = sofar("claude_proxy_time_to_first_event", "endpoint", "messages");
    assertEquals(firstToken[0] + 1, firstTokenAfter[0]);
    double firstTokenAdded = firstTokenAfter[1] - firstToken[1];
    assertTrue(firstTokenAdded >= upstreamAdded, "the client's wait " + firstTokenAdded
        + " ms includes the upstream's " + upstreamAdded + " ms");
  }

  @Test
  void everyAttemptIsMetered() {
    Timer upstream = timer("claude_proxy_upstream_time_to_head");
    long count = upstream.count();
    HttpResponse<String> r = stack.post("/v1/messages", String.format(MESSAGE, "second time lucky"),
        stack.jsonHeaders(Map.of("x-sim-scenario", "fail_then_succeed:1")));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(count + 2, upstream.count(), "the refused attempt and the one that succeeded");
  }

  @Test
  void theMeterIsPublished() {
    stack.post("/v1/messages", String.format(MESSAGE, "hello"), stack.jsonHeaders(Map.of()));
    HttpResponse<String> metrics = stack.send(HttpRequest.newBuilder(URI.create(stack.proxyUrl() + "/metrics"))
        .build());
    assertEquals(200, metrics.statusCode());
    assertTrue(metrics.body().contains("claude_proxy_upstream_time_to_head_seconds_bucket{le=\"0.001\"}"),
        metrics.body());
  }
}
