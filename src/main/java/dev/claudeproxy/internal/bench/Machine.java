package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the bench ran on, for the head of bench/results.md. */
final class Machine {
  private Machine() {}

  static ObjectNode describe() {
    ObjectNode m = Rounds.object();
    m.put("cores", Runtime.getRuntime().availableProcessors());
    m.put("kernel", read("/proc/sys/kernel/osrelease", "unknown"));
    m.put("java", Processes.run(List.of("java", "-version")).stderr().strip().split("\n")[0]);
    m.put("nginx", Processes.run(List.of("nginx", "-v")).stderr().strip());
    m.put("open_files", openFiles(read("/proc/self/limits", "")));
    m.put("apparatus", String.join(" ", Bench.concat(Bench.APPARATUS, Bench.LOADGEN_JVM)));
    Boolean autogroup = autogroup();
    if (autogroup == null) {
      m.putNull("autogroup");
    } else {
      m.put("autogroup", autogroup);
    }
    return m;
  }

  /** The soft open-file limit in a {@code /proc/<pid>/limits} text (-1 when unlimited or not found). */
  static long openFiles(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max open files")) {
        String soft = line.substring("Max open files".length()).trim().split("\\s+")[0];
        return "unlimited".equals(soft) ? -1 : Long.parseLong(soft);
      }
    }
    return -1;
  }

  /** Whether the kernel groups tasks by session for scheduling (null when it cannot tell). */
  static Boolean autogroup() {
    String v = read("/proc/sys/kernel/sched_autogroup_enabled", null);
    return v == null ? null : "1".equals(v);
  }

  private static String read(String path, String otherwise) {
    try {
      return Files.readString(Path.of(path)).strip();
    } catch (IOException e) {
      return otherwise;
    }
  }
}
