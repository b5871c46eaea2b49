package dev.claudeproxy.internal.load;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/** What a load run saw, gathered from every event loop at once. Latencies are kept in microseconds. */
final class LoadStats {
  private static final long MAX_MICROS = 3_600_000_000L;

  final ConcurrentHistogram ttft = new ConcurrentHistogram(MAX_MICROS, 3);
  final ConcurrentHistogram gaps = new ConcurrentHistogram(MAX_MICROS, 3);
  final ConcurrentHistogram durations = new ConcurrentHistogram(MAX_MICROS, 3);
  final AtomicInteger active = new AtomicInteger();
  final LongAdder started = new LongAdder();
  final LongAdder completed = new LongAdder();
  final LongAdder failed = new LongAdder();
  final LongAdder deltas = new LongAdder();
  final LongAdder bytes = new LongAdder();
  final LongAdder verified = new LongAdder();
  final LongAdder mismatched = new LongAdder();
  final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
  final Map<String, String> examples = new ConcurrentHashMap<>();
  /** One sample a second: elapsed s, active, completed, errors, deltas in that second. */
  final JsonArray timeline = new JsonArray();
  private long lastDeltas;

  void error(String type, String example) {
    failed.increment();
    errors.computeIfAbsent(type, t -> new LongAdder()).increment();
    if (example != null) {
      examples.putIfAbsent(type, example);
    }
  }

  /** Takes the once-a-second sample; returns the deltas of the last second. */
  synchronized long sample(double elapsedSeconds) {
    long total = deltas.sum();
    long perSecond = total - lastDeltas;
    lastDeltas = total;
    timeline.add(new JsonObject().put("t", Math.round(elapsedSeconds * 10) / 10.0).put("active", active.get())
        .put("completed", completed.sum()).put("errors", failed.sum()).put("deltas_per_s", perSecond));
    return perSecond;
  }

  JsonObject summary(double seconds) {
    long done = completed.sum();
    long all = done + failed.sum();
    TreeMap<String, Long> byType = new TreeMap<>();
    errors.forEach((type, n) -> byType.put(type, n.sum()));
    JsonObject errorJson = new JsonObject();
    byType.forEach(errorJson::put);
    JsonObject exampleJson = new JsonObject();
    new TreeMap<>(examples).forEach(exampleJson::put);
    return new JsonObject()
        .put("seconds", Math.round(seconds * 100) / 100.0)
        .put("streams", new JsonObject().put("started", started.sum()).put("completed", done)
            .put("failed", failed.sum()).put("completion_rate", all == 0 ? 0 : (double) done / all))
        .put("deltas", deltas.sum())
        .put("deltas_per_second", seconds > 0 ? Math.round(deltas.sum() / seconds) : 0)
        .put("bytes", bytes.sum())
        .put("time_to_first_token_ms", percentiles(ttft))
        .put("gap_between_deltas_ms", percentiles(gaps))
        .put("stream_duration_ms", percentiles(durations))
        .put("errors", errorJson)
        .put("error_examples", exampleJson)
        .put("integrity", new JsonObject().put("verified", verified.sum()).put("mismatched", mismatched.sum()));
  }

  static JsonObject percentiles(Histogram h) {
    if (h.getTotalCount() == 0) {
      return new JsonObject().put("count", 0);
    }
    return new JsonObject().put("count", h.getTotalCount())
        .put("p50", ms(h.getValueAtPercentile(50))).put("p90", ms(h.getValueAtPercentile(90)))
        .put("p99", ms(h.getValueAtPercentile(99))).put("max", ms(h.getMaxValue()))
        .put("mean", Math.round(h.getMean()) / 1000.0);
  }

  /** The TTFT distribution in up to 40 even buckets, for the report's chart. */
  JsonArray ttftBuckets() {
    JsonArray out = new JsonArray();
    if (ttft.getTotalCount() == 0) {
      return out;
    }
    long max = Math.max(1, ttft.getValueAtPercentile(99.9));
    long width = Math.max(1, max / 40 + 1);
    for (var v : ttft.linearBucketValues(width)) {
      out.add(new JsonObject().put("ms", ms(v.getValueIteratedTo())).put("count", v.getCountAddedInThisIterationStep()));
      if (v.getValueIteratedTo() > max) {
        break;
      }
    }
    return out;
  }

  private static double ms(long micros) {
    return Math.round(micros / 10.0) / 100.0;
  }
}
