package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The /proc parsing and the CPU arithmetic of the bench: nanoseconds when every thread lived, else ticks. */
class CpuAccountingTest {
  @Test
  void readsUserAndSystemTicksAfterACommandNameWithSpacesAndParentheses() {
    // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
    String stat = "4242 (java (C2) x) S 1 4242 4242 0 -1 4194560 1000 0 5 0 1234 56 7 8 20 0 30 0\n";
    assertEquals(1234 + 56, CpuAccounting.statTicks(stat));
  }

  @Test
  void readsASchedstatsNanoseconds() {
    assertEquals(123456789012L, CpuAccounting.schedstatNanos("123456789012 5555 77\n"));
  }

  @Test
  void readsResidentMemoryAndTheHeapUsed() {
    assertEquals(2.0, CpuAccounting.rssMb("Name:\tjava\nVmRSS:\t    2048 kB\nVmData:\t 1 kB\n"));
    assertEquals(1.5, Processes.heapUsedMb(" garbage-first heap   total 3145728K, used 1536K [0x0000000740000000,"));
  }

  @Test
  void countsNanosecondsWhenEveryThreadLived() {
    var before = Map.of(1L, new CpuAccounting.ProcessCpu(threads("1", 1_000_000_000L, "2", 500_000_000L), 1.50));
    // A new thread (3) counts from zero; 1.25 s of nanoseconds against 1.20 s of ticks.
    var after = Map.of(1L, new CpuAccounting.ProcessCpu(threads("1", 1_900_000_000L, "2", 700_000_000L, "3",
        150_000_000L), 2.70));
    CpuAccounting.Used used = CpuAccounting.used(before, after, 100);
    assertEquals("schedstat", used.countedBy());
    assertEquals(1.25, used.seconds(), 1e-9);
    assertEquals(1.25, used.byPid().get(1L), 1e-9);
  }

  @Test
  void countsTicksForAProcessOneOfWhoseThreadsEnded() {
    var before = new LinkedHashMap<Long, CpuAccounting.ProcessCpu>();
    before.put(1L, new CpuAccounting.ProcessCpu(threads("1", 0L), 0.0));
    before.put(2L, new CpuAccounting.ProcessCpu(threads("5", 100L, "6", 0L), 1.00));
    var after = new LinkedHashMap<Long, CpuAccounting.ProcessCpu>();
    after.put(1L, new CpuAccounting.ProcessCpu(threads("1", 500_000_000L), 0.50));
    after.put(2L, new CpuAccounting.ProcessCpu(threads("5", 200_000_100L), 1.30)); // thread 6 ended
    CpuAccounting.Used used = CpuAccounting.used(before, after, 100);
    assertEquals("ticks", used.countedBy());
    assertEquals(0.5, used.byPid().get(1L), 1e-9);
    assertEquals(0.3, used.byPid().get(2L), 1e-9);
    assertEquals(0.8, used.seconds(), 1e-9);
  }

  @Test
  void countsTicksWhenTheNanosecondsFallShortOfThemByMoreThanThreeTicks() {
    var before = Map.of(1L, new CpuAccounting.ProcessCpu(threads("1", 0L), 0.0));
    // 0.96 s of nanoseconds: within three ticks (0.03 s) of 1.00 s would be above 0.97.
    var after = Map.of(1L, new CpuAccounting.ProcessCpu(threads("1", 960_000_000L), 1.00));
    assertEquals("ticks", CpuAccounting.used(before, after, 100).countedBy());
    var close = Map.of(1L, new CpuAccounting.ProcessCpu(threads("1", 980_000_000L), 1.00));
    assertEquals("schedstat", CpuAccounting.used(before, close, 100).countedBy());
  }

  @Test
  void readsTheSoftOpenFileLimit() {
    String limits = "Limit                     Soft Limit           Hard Limit           Units     \n"
        + "Max open files            20000                1048576              files     \n";
    assertEquals(20000, Machine.openFiles(limits));
  }

  private static Map<String, Long> threads(Object... idsAndNanos) {
    Map<String, Long> m = new LinkedHashMap<>();
    for (int i = 0; i < idsAndNanos.length; i += 2) {
      m.put((String) idsAndNanos[i], (Long) idsAndNanos[i + 1]);
    }
    return m;
  }
}
