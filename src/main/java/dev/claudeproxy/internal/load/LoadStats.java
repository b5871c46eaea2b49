package dev.claudeproxy.internal.load;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.DataFormatException;
import org.HdrHistogram.AbstractHistogram;
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
  /**
   * Resume mode: where the cuts fell, the resumes answered 200 and the time to their head, and those refused. Cancel
   * mode: where the cuts fell.
   */
  final Map<String, LongAdder> cuts = new ConcurrentHashMap<>();
  final LongAdder resumes = new LongAdder();
  final ConcurrentHistogram resumeTimes = new ConcurrentHistogram(MAX_MICROS, 3);
  final Map<String, LongAdder> resumeFailures = new ConcurrentHashMap<>();
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

  void cut(String place) {
    cuts.computeIfAbsent(place, p -> new LongAdder()).increment();
  }

  void resumed(long micros) {
    resumes.increment();
    resumeTimes.recordValue(micros);
  }

  /** A resume refused, by its status ({@code connection} when none came). */
  void resumeFailed(String status) {
    resumeFailures.computeIfAbsent(status, s -> new LongAdder()).increment();
  }

  /** Cancel mode's figures: the streams cancelled, and by where the cut fell. */
  JsonObject cancelSummary() {
    JsonObject places = counts(cuts);
    long all = places.stream().mapToLong(e -> (Long) e.getValue()).sum();
    return new JsonObject().put("cancelled", all).put("cut_at", places);
  }

  /** Resume mode's figures: cuts by place, resumes, failures by status, time to a resume's response head. */
  JsonObject resumeSummary() {
    JsonObject places = counts(cuts);
    long all = places.stream().mapToLong(e -> (Long) e.getValue()).sum();
    return new JsonObject().put("cuts", all).put("cut_at", places).put("resumed", resumes.sum())
        .put("failed", counts(resumeFailures)).put("time_to_resume_ms", percentiles(resumeTimes));
  }

  private static JsonObject counts(Map<String, LongAdder> counters) {
    JsonObject out = new JsonObject();
    new TreeMap<>(counters).forEach((key, n) -> out.put(key, n.sum()));
    return out;
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
    JsonObject errorJson = counts(errors);
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

  /**
   * Everything this run counted, whole (histograms included, compressed), for a run of many processes: each process
   * writes its own, and the one that started them adds them up with {@link #merge}.
   */
  synchronized JsonObject export(double seconds) {
    JsonObject counters = new JsonObject().put("started", started.sum()).put("completed", completed.sum())
        .put("failed", failed.sum()).put("deltas", deltas.sum()).put("bytes", bytes.sum())
        .put("verified", verified.sum()).put("mismatched", mismatched.sum()).put("resumes", resumes.sum());
    JsonObject examplesJson = new JsonObject();
    examples.forEach(examplesJson::put);
    return new JsonObject().put("seconds", seconds).put("counters", counters)
        .put("errors", counts(errors)).put("error_examples", examplesJson).put("cuts", counts(cuts))
        .put("resume_failures", counts(resumeFailures))
        .put("ttft", encode(ttft)).put("gaps", encode(gaps)).put("durations", encode(durations))
        .put("resume_times", encode(resumeTimes)).put("timeline", timeline.copy());
  }

  /** Adds what another process counted ({@link #export}) to this run's figures; the timelines add up by second. */
  synchronized void merge(JsonObject other) {
    JsonObject c = other.getJsonObject("counters");
    started.add(c.getLong("started"));
    completed.add(c.getLong("completed"));
    failed.add(c.getLong("failed"));
    deltas.add(c.getLong("deltas"));
    bytes.add(c.getLong("bytes"));
    verified.add(c.getLong("verified"));
    mismatched.add(c.getLong("mismatched"));
    resumes.add(c.getLong("resumes"));
    addCounts(errors, other.getJsonObject("errors"));
    addCounts(cuts, other.getJsonObject("cuts"));
    addCounts(resumeFailures, other.getJsonObject("resume_failures"));
    other.getJsonObject("error_examples").forEach(e -> examples.putIfAbsent(e.getKey(), (String) e.getValue()));
    ttft.add(decode(other.getString("ttft")));
    gaps.add(decode(other.getString("gaps")));
    durations.add(decode(other.getString("durations")));
    resumeTimes.add(decode(other.getString("resume_times")));
    // The timelines add up by the second their samples fall in (the processes started together, give or take a
    // moment), each process's last sample of a second standing for it, its deltas of that second all counted.
    TreeMap<Long, JsonObject> sum = bySecond(timeline);
    bySecond(other.getJsonArray("timeline")).forEach((second, sample) -> sum.merge(second, sample, (mine, theirs) -> {
      for (String field : new String[] {"active", "completed", "errors", "deltas_per_s"}) {
        mine.put(field, mine.getLong(field) + theirs.getLong(field));
      }
      return mine;
    }));
    timeline.clear();
    sum.values().forEach(timeline::add);
  }

  private static TreeMap<Long, JsonObject> bySecond(JsonArray samples) {
    TreeMap<Long, JsonObject> out = new TreeMap<>();
    for (int i = 0; i < samples.size(); i++) {
      JsonObject sample = samples.getJsonObject(i).copy();
      out.merge(Math.round(sample.getDouble("t")), sample, (earlier, later) ->
          later.put("deltas_per_s", earlier.getLong("deltas_per_s") + later.getLong("deltas_per_s")));
    }
    return out;
  }

  private static void addCounts(Map<String, LongAdder> counters, JsonObject more) {
    more.forEach(e -> counters.computeIfAbsent(e.getKey(), k -> new LongAdder()).add(((Number) e.getValue()).longValue()));
  }

  private static String encode(AbstractHistogram h) {
    ByteBuffer buffer = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int length = h.encodeIntoCompressedByteBuffer(buffer);
    return Base64.getEncoder().encodeToString(Arrays.copyOf(buffer.array(), length));
  }

  private static Histogram decode(String encoded) {
    try {
      return Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(encoded)), MAX_MICROS);
    } catch (DataFormatException e) {
      throw new IllegalArgumentException("a histogram that cannot be read: " + e.getMessage(), e);
    }
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
