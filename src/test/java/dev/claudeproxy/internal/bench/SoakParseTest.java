package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The soak's reading of jcmd's and Prometheus' output. */
class SoakParseTest {
  /** What {@code jcmd <pid> -f} prints for GC.class_histogram then GC.heap_info (JDK 17, G1), rows cut. */
  private static final String BOTH = """
      25775:
       num     #instances         #bytes  class name (module)
      -------------------------------------------------------
         1:         27504        3841864  [B (java.base@17.0.15)
         2:         22057         529368  java.lang.String (java.base@17.0.15)
         3:          3997         485808  java.lang.Class (java.base@17.0.15)
      1609:             1             16  sun.util.resources.LocaleData$LocaleDataStrategy (java.base@17.0.15)
      Total        138989        8517368
       garbage-first heap   total 397312K, used 155570K [0x0000000687400000, 0x0000000800000000)
        region size 4096K, 36 young (147456K), 2 survivors (8192K)
       Metaspace       used 15179K, committed 15424K, reserved 1114112K
        class space    used 1627K, committed 1728K, reserved 1048576K
      """;

  @Test
  void histogramTotalAndLargestClasses() {
    SoakParse.Histogram h = SoakParse.histogram(BOTH, 2);
    assertEquals(138989, h.instances());
    assertEquals(8517368, h.bytes());
    assertEquals(List.of("[B", "java.lang.String"), List.copyOf(h.bytesByClass().keySet()));
    assertEquals(3841864L, h.bytesByClass().get("[B"));
  }

  @Test
  void histogramWithoutTotalIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> SoakParse.histogram("123:\nNo such process\n", 5));
  }

  @Test
  void heapInfo() {
    assertEquals(155570, SoakParse.heapUsedKb(BOTH));
    assertEquals(15179, SoakParse.metaspaceUsedKb(BOTH));
    assertEquals(-1, SoakParse.heapUsedKb("nothing"));
    assertEquals(1024, SoakParse.heapUsedKb(" serial heap   total 4928K, used 1024K [0x1, 0x2)\n"));
  }

  @Test
  void prometheusSumsEverySeriesOfOneName() {
    String text = """
        # HELP claude_proxy_active_streams Streams open
        # TYPE claude_proxy_active_streams gauge
        claude_proxy_active_streams{endpoint="messages"} 3.0
        claude_proxy_active_streams{endpoint="chat"} 2.0
        claude_proxy_active_streams_total 99.0
        claude_proxy_stream_duration_seconds_count{outcome="completed"} 1000000.0
        claude_proxy_stream_duration_seconds_count{outcome="cancelled"} 5.0
        """;
    assertEquals(5.0, SoakParse.metric(text, "claude_proxy_active_streams"));
    assertEquals(1000005.0, SoakParse.metric(text, "claude_proxy_stream_duration_seconds_count"));
    assertTrue(Double.isNaN(SoakParse.metric(text, "claude_proxy_missing")));
    assertEquals(7.0, SoakParse.metric("up 7\n", "up"));
  }

  @Test
  void procStatusAndLeakLines() {
    String status = "Name:\tjava\nThreads:\t31\nVmRSS:\t  1559000 kB\n";
    assertEquals(1559000, SoakParse.procStatus(status, "VmRSS"));
    assertEquals(31, SoakParse.procStatus(status, "Threads"));
    assertEquals(-1, SoakParse.procStatus(status, "VmSwap"));
    assertTrue(SoakParse.isLeak("SEVERE: LEAK: ByteBuf.release() was not called before it's garbage-collected."));
    assertFalse(SoakParse.isLeak("{\"outcome\":\"completed\"}"));
  }

  @Test
  void sharesAddUp() {
    long sum = 0;
    for (int i = 1; i <= 7; i++) {
      sum += SoakCommand.share(1_000_003, 7, i);
    }
    assertEquals(1_000_003, sum);
    assertEquals(142857, SoakCommand.share(1_000_003, 7, 1));
  }
}
