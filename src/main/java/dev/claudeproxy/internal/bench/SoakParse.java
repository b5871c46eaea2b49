package dev.claudeproxy.internal.bench;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The soak's reading of other tools' output: jcmd's GC.class_histogram and GC.heap_info, Prometheus text. */
final class SoakParse {
  private static final Pattern TOTAL = Pattern.compile("(?m)^Total\\s+(\\d+)\\s+(\\d+)\\s*$");
  private static final Pattern ROW = Pattern.compile("(?m)^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
  private static final Pattern HEAP_USED = Pattern.compile("(?m)^\\s*\\S.*heap\\s+total\\s+(\\d+)K,\\s+used\\s+(\\d+)K");
  private static final Pattern METASPACE_USED = Pattern.compile("(?m)^\\s*Metaspace\\s+used\\s+(\\d+)K");

  private SoakParse() {}

  /** A class histogram's total: live instances and their bytes. */
  record Histogram(long instances, long bytes, Map<String, Long> bytesByClass) {}

  /**
   * Parses {@code jcmd <pid> GC.class_histogram} (which collects fully first, so it counts live objects only): its
   * {@code Total} line, and the bytes of the {@code top} largest classes (the rows come largest first).
   *
   * @throws IllegalArgumentException when there is no Total line
   */
  static Histogram histogram(String out, int top) {
    Matcher total = TOTAL.matcher(out);
    if (!total.find()) {
      throw new IllegalArgumentException("no Total line in the class histogram: "
          + out.substring(0, Math.min(200, out.length())));
    }
    Map<String, Long> byClass = new LinkedHashMap<>();
    Matcher row = ROW.matcher(out);
    while (byClass.size() < top && row.find()) {
      byClass.merge(row.group(3), Long.parseLong(row.group(2)), Long::sum);
    }
    return new Histogram(Long.parseLong(total.group(1)), Long.parseLong(total.group(2)), byClass);
  }

  /** The heap's used KB in {@code jcmd <pid> GC.heap_info} (the first heap line, any collector), or -1. */
  static long heapUsedKb(String out) {
    Matcher m = HEAP_USED.matcher(out);
    return m.find() ? Long.parseLong(m.group(2)) : -1;
  }

  /** Metaspace's used KB in {@code jcmd <pid> GC.heap_info}, or -1. */
  static long metaspaceUsedKb(String out) {
    Matcher m = METASPACE_USED.matcher(out);
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /**
   * The sum over every series of the metric {@code name} (any labels) in Prometheus text, or NaN when there is none.
   * Comments and other metrics, including those whose name merely starts with {@code name}, are left out.
   */
  static double metric(String text, String name) {
    double sum = 0;
    boolean found = false;
    for (String line : text.split("\n")) {
      if (line.isEmpty() || line.charAt(0) == '#' || !line.startsWith(name)) {
        continue;
      }
      int end = name.length();
      if (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
        continue;
      }
      int space = line.lastIndexOf(' ');
      try {
        sum += Double.parseDouble(line.substring(space + 1).trim());
        found = true;
      } catch (NumberFormatException e) {
        // a value this reader does not know; the series is left out
      }
    }
    return found ? sum : Double.NaN;
  }

  /** The value of a {@code Key:   value kB} line of /proc/<pid>/status, or -1. */
  static long procStatus(String status, String key) {
    for (String line : status.split("\n")) {
      if (line.startsWith(key + ":")) {
        String[] parts = line.substring(key.length() + 1).trim().split("\\s+");
        return Long.parseLong(parts[0]);
      }
    }
    return -1;
  }

  /** Whether a log line is a report of Netty's leak detector (its lines start "LEAK: "). */
  static boolean isLeak(String line) {
    return line.contains("LEAK:");
  }
}
