package dev.claudeproxy.internal.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * CPU time of processes from /proc: every thread's time on a CPU in nanoseconds
 * ({@code /proc/<pid>/task/<tid>/schedstat}), and the process's clock ticks ({@code /proc/<pid>/stat}, user and
 * system, all threads).
 */
final class CpuAccounting {
  /** Clock ticks a second ({@code getconf CLK_TCK}; 100 on Linux unless told otherwise). */
  static final long TICK = clockTick();

  private CpuAccounting() {}

  /** One process at one moment: each thread's nanoseconds on a CPU, by thread id, and the process's ticks as seconds. */
  record ProcessCpu(Map<String, Long> threadNanos, double tickSeconds) {}

  /** Seconds of CPU between two snapshots, in all and by process, and how they were counted. */
  record Used(double seconds, String countedBy, Map<Long, Double> byPid) {}

  /** utime + stime, in ticks, of a {@code /proc/<pid>/stat} line (the command name may hold spaces and parentheses). */
  static long statTicks(String stat) {
    String[] fields = stat.substring(stat.lastIndexOf(')') + 1).trim().split("\\s+");
    // After the name: state is field 3 of the line, so utime (14) and stime (15) are at 11 and 12 here.
    return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
  }

  /** A thread's nanoseconds on a CPU, the first field of its {@code schedstat}. */
  static long schedstatNanos(String schedstat) {
    return Long.parseLong(schedstat.trim().split("\\s+")[0]);
  }

  /** The processes' clock-tick totals, in seconds. */
  static double cpuSeconds(Collection<Long> pids) {
    long total = 0;
    for (long pid : pids) {
      total += statTicks(read(Path.of("/proc", Long.toString(pid), "stat")));
    }
    return (double) total / TICK;
  }

  /** For each process, every thread's time on a CPU in nanoseconds, and the process's clock-tick total. */
  static Map<Long, ProcessCpu> snapshot(Collection<Long> pids) {
    Map<Long, ProcessCpu> snapshot = new LinkedHashMap<>();
    for (long pid : pids) {
      Map<String, Long> threads = new LinkedHashMap<>();
      Path tasks = Path.of("/proc", Long.toString(pid), "task");
      try (Stream<Path> list = Files.list(tasks)) {
        for (Path task : (Iterable<Path>) list::iterator) {
          try {
            threads.put(task.getFileName().toString(), schedstatNanos(Files.readString(task.resolve("schedstat"))));
          } catch (IOException e) {
            // the thread ended while the list was read
          }
        }
      } catch (IOException e) {
        throw new BenchException("cannot list the threads of " + pid + ": " + e);
      }
      snapshot.put(pid, new ProcessCpu(threads, cpuSeconds(java.util.List.of(pid))));
    }
    return snapshot;
  }

  /**
   * Seconds of CPU between two snapshots, in all and by process, and how they were counted. Clock ticks are 10 ms, and
   * the kernel truncates user and system time apart, so a difference can be two ticks off: 5-10 % of a burst round of
   * nginx's. The threads' nanoseconds are exact, unless a thread ended between the snapshots (then its time is
   * missing, and the ticks say so): then that process's ticks are used, and the total counts as ticks.
   */
  static Used used(Map<Long, ProcessCpu> before, Map<Long, ProcessCpu> after, long tick) {
    Map<Long, Double> byPid = new LinkedHashMap<>();
    String counted = "schedstat";
    double total = 0;
    for (Map.Entry<Long, ProcessCpu> e : before.entrySet()) {
      ProcessCpu p0 = e.getValue();
      ProcessCpu p1 = after.get(e.getKey());
      long nanos = 0;
      for (Map.Entry<String, Long> t : p1.threadNanos().entrySet()) {
        nanos += t.getValue() - p0.threadNanos().getOrDefault(t.getKey(), 0L);
      }
      double exact = nanos / 1e9;
      double ticks = p1.tickSeconds() - p0.tickSeconds();
      boolean noneEnded = p1.threadNanos().keySet().containsAll(p0.threadNanos().keySet());
      double seconds;
      if (noneEnded && exact > ticks - 3.0 / tick) {
        seconds = exact;
      } else {
        seconds = ticks;
        counted = "ticks";
      }
      byPid.put(e.getKey(), seconds);
      total += seconds;
    }
    return new Used(total, counted, byPid);
  }

  static Used used(Map<Long, ProcessCpu> before, Map<Long, ProcessCpu> after) {
    return used(before, after, TICK);
  }

  /** Resident memory in MB ({@code VmRSS} of {@code /proc/<pid>/status}). */
  static double rssMb(long pid) {
    return rssMb(read(Path.of("/proc", Long.toString(pid), "status")));
  }

  static double rssMb(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.trim().split("\\s+")[1]) / 1024.0;
      }
    }
    return 0;
  }

  private static String read(Path path) {
    try {
      return Files.readString(path);
    } catch (IOException e) {
      throw new BenchException("cannot read " + path + ": " + e);
    }
  }

  private static long clockTick() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor();
      return Long.parseLong(out);
    } catch (IOException | NumberFormatException e) {
      return 100;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 100;
    }
  }
}
