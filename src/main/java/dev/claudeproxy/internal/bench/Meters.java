package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The proxy's own meters, read from its Prometheus page. */
final class Meters {
  /** A bucket's bound; {@code [{,]}: a clustered node's series carry {@code role="…"}, which ends in {@code le="} too. */
  private static final Pattern LE = Pattern.compile("[{,]le=\"([^\"]+)\"");

  /**
   * The proxy's own meters: from a request's arrival to its first content delta (the first token) and to its first
   * event (message_start), and from each upstream attempt's start to the upstream's head; each a histogram's name and
   * the text its series must hold.
   */
  static final Map<String, List<String>> INSIDE = inside();

  private Meters() {}

  private static Map<String, List<String>> inside() {
    Map<String, List<String>> m = new LinkedHashMap<>();
    m.put("first_token", List.of("claude_proxy_time_to_first_token_seconds", "endpoint=\"messages\""));
    m.put("first_event", List.of("claude_proxy_time_to_first_event_seconds", "endpoint=\"messages\""));
    m.put("upstream_head", List.of("claude_proxy_upstream_time_to_head_seconds", ""));
    return m;
  }

  /** The cumulative bucket counts of one histogram in a Prometheus page, by upper bound in seconds. */
  static Map<Double, Double> histogram(String page, String name, String match) {
    Map<Double, Double> buckets = new TreeMap<>();
    for (String line : page.split("\n")) {
      if (line.startsWith(name + "_bucket{") && line.contains(match)) {
        Matcher m = LE.matcher(line);
        if (m.find()) {
          buckets.put(parse(m.group(1)), parse(line.substring(line.lastIndexOf(' ') + 1)));
        }
      }
    }
    return buckets;
  }

  static Map<Double, Double> histogramAt(String url, String meter) {
    List<String> m = INSIDE.get(meter);
    return histogram(Processes.get(url + "/metrics"), m.get(0), m.get(1));
  }

  /** For what was recorded between two scrapes: the upper bound (ms) of the bucket holding its p50, and its p99. */
  static ObjectNode bucketQuantilesMs(Map<Double, Double> before, Map<Double, Double> after) {
    TreeMap<Double, Double> counts = new TreeMap<>();
    after.forEach((le, c) -> counts.put(le, c - before.getOrDefault(le, 0.0)));
    double total = counts.isEmpty() ? 0 : counts.lastEntry().getValue();
    ObjectNode out = Rounds.object();
    for (Map.Entry<String, Double> q : Map.of("p50", 0.5, "p99", 0.99).entrySet().stream()
        .sorted(Map.Entry.comparingByKey()).toList()) {
      double value = Double.NaN;
      if (total != 0) {
        for (Map.Entry<Double, Double> e : counts.entrySet()) {
          if (e.getValue() >= q.getValue() * total) {
            value = e.getKey() * 1000;
            break;
          }
        }
      }
      out.put(q.getKey(), value);
    }
    return out;
  }

  /** Each series of the Prometheus counter {@code name} in a page, by its name and labels. */
  static Map<String, Double> counters(String page, String name) {
    Map<String, Double> out = new LinkedHashMap<>();
    for (String line : page.split("\n")) {
      if (line.startsWith(name + "_total")) {
        int space = line.lastIndexOf(' ');
        out.put(line.substring(0, space), parse(line.substring(space + 1)));
      }
    }
    return out;
  }

  static Map<String, Double> countersAt(String url, String name) {
    return counters(Processes.get(url + "/metrics"), name);
  }

  private static double parse(String s) {
    return switch (s.trim()) {
      case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(s.trim());
    };
  }
}
