package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The proxy's meters as the bench reads them from its Prometheus page. */
class MetersTest {
  private static final String PAGE = String.join("\n",
      "# TYPE claude_proxy_time_to_first_token_seconds histogram",
      "claude_proxy_time_to_first_token_seconds_bucket{endpoint=\"messages\",role=\"http\",le=\"0.001\"} 10.0",
      "claude_proxy_time_to_first_token_seconds_bucket{endpoint=\"messages\",role=\"http\",le=\"0.002\"} 50.0",
      "claude_proxy_time_to_first_token_seconds_bucket{endpoint=\"messages\",role=\"http\",le=\"0.005\"} 99.0",
      "claude_proxy_time_to_first_token_seconds_bucket{endpoint=\"messages\",role=\"http\",le=\"+Inf\"} 100.0",
      "claude_proxy_time_to_first_token_seconds_bucket{endpoint=\"chat\",le=\"0.001\"} 7.0",
      "claude_proxy_stream_resumes_total{result=\"resumed\"} 12.0",
      "claude_proxy_stream_resumes_total{result=\"expired\"} 1.0",
      "claude_proxy_stream_detaches_total 3.0",
      "");

  @Test
  void readsOneHistogramsBucketsByBound() {
    Map<Double, Double> buckets = Meters.histogram(PAGE, "claude_proxy_time_to_first_token_seconds",
        "endpoint=\"messages\"");
    assertEquals(4, buckets.size());
    assertEquals(50.0, buckets.get(0.002));
    assertEquals(100.0, buckets.get(Double.POSITIVE_INFINITY));
  }

  @Test
  void takesTheBucketsHoldingP50AndP99OfWhatWasRecordedBetweenTwoScrapes() {
    Map<Double, Double> before = Map.of(0.001, 10.0, 0.002, 10.0, 0.005, 10.0, Double.POSITIVE_INFINITY, 10.0);
    Map<Double, Double> after = Map.of(0.001, 10.0, 0.002, 70.0, 0.005, 109.0, Double.POSITIVE_INFINITY, 110.0);
    ObjectNode q = Meters.bucketQuantilesMs(before, after);
    assertEquals(2.0, q.get("p50").asDouble(), 1e-9);
    assertEquals(5.0, q.get("p99").asDouble(), 1e-9);
    assertTrue(Double.isNaN(Meters.bucketQuantilesMs(after, after).get("p50").asDouble()));
  }

  @Test
  void readsACountersSeries() {
    Map<String, Double> resumes = Meters.counters(PAGE, "claude_proxy_stream_resumes");
    assertEquals(Map.of("claude_proxy_stream_resumes_total{result=\"resumed\"}", 12.0,
        "claude_proxy_stream_resumes_total{result=\"expired\"}", 1.0), resumes);
  }
}
