package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Rounds of one measurement reduced to one figure: medians, and how the CPU of the runs was counted. */
final class Rounds {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Rounds() {}

  /** The middle value (the upper of the two middle ones for an even count). */
  static JsonNode median(List<JsonNode> values) {
    List<JsonNode> sorted = new ArrayList<>(values);
    sorted.sort(Comparator.comparingDouble(JsonNode::doubleValue));
    return sorted.get(sorted.size() / 2);
  }

  static double medianOf(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    sorted.sort(null);
    return sorted.get(sorted.size() / 2);
  }

  /** The round with the median CPU per delta, with every round's figure attached. */
  static ObjectNode medianRound(List<ObjectNode> summaries) {
    List<ObjectNode> ordered = new ArrayList<>(summaries);
    ordered.sort(Comparator.comparingDouble(s -> s.path("cpu_us_per_delta").doubleValue()));
    ObjectNode chosen = ordered.get(ordered.size() / 2).deepCopy();
    ArrayNode perDelta = chosen.putArray("rounds_us_per_delta");
    ArrayNode countedBy = chosen.putArray("rounds_counted_by");
    for (ObjectNode s : summaries) {
      perDelta.add(s.get("cpu_us_per_delta"));
      countedBy.add(s.has("cpu_counted_by") ? s.get("cpu_counted_by").asText() : "ticks");
    }
    return chosen;
  }

  /**
   * The first round's summary with its p50 and p99 replaced by the medians over all rounds, every p99 attached; the
   * same for what the proxy's own meters saw, when they were read.
   */
  static ObjectNode medianTtft(List<ObjectNode> summaries) {
    ObjectNode first = summaries.get(0);
    ObjectNode chosen = first.deepCopy();
    ObjectNode ttft = chosen.with("time_to_first_token_ms");
    for (String q : List.of("p50", "p99")) {
      ttft.set(q, median(summaries.stream().map(s -> s.path("time_to_first_token_ms").get(q)).toList()));
    }
    ArrayNode p99 = chosen.putArray("rounds_p99_ms");
    summaries.forEach(s -> p99.add(s.path("time_to_first_token_ms").get("p99")));
    if (first.has("inside_ms")) {
      ObjectNode inside = NODES.objectNode();
      for (Iterator<String> meters = first.get("inside_ms").fieldNames(); meters.hasNext(); ) {
        String meter = meters.next();
        ObjectNode m = inside.putObject(meter);
        for (String q : List.of("p50", "p99")) {
          m.set(q, median(summaries.stream().map(s -> s.get("inside_ms").get(meter).get(q)).toList()));
        }
      }
      chosen.set("inside_ms", inside);
    }
    return chosen;
  }

  /** How many measured runs had their CPU counted in each way ({@code schedstat} or {@code ticks}), by way. */
  static Map<String, Integer> cpuCountedBy(JsonNode results) {
    Map<String, Integer> counts = new TreeMap<>();
    for (JsonNode runs : results.path("cpu")) {
      for (JsonNode chosen : runs) {
        List<JsonNode> both = chosen.has("batch") ? List.of(chosen, chosen.get("batch")) : List.of(chosen);
        for (JsonNode c : both) {
          List<String> ways = new ArrayList<>();
          if (c.has("rounds_counted_by")) {
            c.get("rounds_counted_by").forEach(w -> ways.add(w.asText()));
          } else {
            ways.add(c.path("cpu_counted_by").asText("ticks"));
          }
          ways.forEach(w -> counts.merge(w, 1, Integer::sum));
        }
      }
    }
    return counts;
  }

  static double nan(JsonNode x) {
    return x == null || x.isMissingNode() || x.isNull() ? Double.NaN : x.doubleValue();
  }

  static ObjectNode object() {
    return NODES.objectNode();
  }
}
