package dev.claudeproxy.internal.bench;

import io.vertx.core.json.JsonObject;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Reads one proxy process from outside: its live heap after a full collection, descriptors, RSS and /metrics. */
final class SoakProbe {
  private final long pid;
  private final URI metrics;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** The last full histogram, for the classes that grew between two of them. */
  volatile SoakParse.Histogram lastHistogram;

  private final int proxyPort;
  private final int upstreamPort;
  private final Path commands;

  SoakProbe(long pid, URI metrics, int upstreamPort, Path work) throws IOException {
    this.pid = pid;
    this.metrics = metrics;
    this.proxyPort = metrics.getPort();
    this.upstreamPort = upstreamPort;
    this.commands = work.resolve("soak-jcmd-" + pid + ".txt").toAbsolutePath();
    Files.writeString(commands, "GC.class_histogram\nGC.heap_info\n");
  }

  /**
   * The process's descriptors by kind: sockets of clients (local port the proxy's), of the upstream (remote port the
   * simulator's), other sockets, pipes, epoll and event descriptors, files and the rest.
   */
  JsonObject descriptorKinds() {
    java.util.Map<String, Integer> inodes = new java.util.HashMap<>();
    for (String table : List.of("tcp", "tcp6")) {
      try {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/net/" + table))) {
          String[] f = line.trim().split("\\s+");
          if (f.length < 10 || !f[1].contains(":")) {
            continue;
          }
          int local = Integer.parseInt(f[1].substring(f[1].indexOf(':') + 1), 16);
          int remote = Integer.parseInt(f[2].substring(f[2].indexOf(':') + 1), 16);
          inodes.put(f[9], local == proxyPort ? (remote == 0 ? 3 : 0) : remote == upstreamPort ? 1 : 2);
        }
      } catch (IOException | RuntimeException e) {
        // no table: every socket counts as other
      }
    }
    String[] names = {"client_sockets", "upstream_sockets", "other_sockets", "listening_sockets"};
    java.util.Map<String, Long> kinds = new java.util.TreeMap<>();
    File[] fds = new File("/proc/" + pid + "/fd").listFiles();
    for (File fd : fds == null ? new File[0] : fds) {
      String target;
      try {
        target = Files.readSymbolicLink(fd.toPath()).toString();
      } catch (IOException e) {
        continue;
      }
      String kind;
      if (target.startsWith("socket:[")) {
        Integer k = inodes.get(target.substring(8, target.length() - 1));
        kind = names[k == null ? 2 : k];
      } else if (target.startsWith("pipe:")) {
        kind = "pipes";
      } else if (target.startsWith("anon_inode:")) {
        kind = target.substring(11).replace("[", "").replace("]", "");
      } else if (target.endsWith(".jar")) {
        kind = "jars";
      } else {
        kind = "files";
      }
      kinds.merge(kind, 1L, Long::sum);
    }
    JsonObject out = new JsonObject();
    kinds.forEach(out::put);
    return out;
  }

  /** Removes the command file of jcmd -f. */
  void close() throws IOException {
    Files.deleteIfExists(commands);
  }

  /** Runs jcmd on the process; its output, or an exception when it failed. */
  String jcmd(String... command) throws IOException, InterruptedException {
    List<String> cmd = new java.util.ArrayList<>(List.of(SoakProcesses.jcmd(), Long.toString(pid)));
    cmd.addAll(List.of(command));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + out);
    }
    return out;
  }

  /** Open descriptors of the process (/proc/<pid>/fd), or -1 when it cannot be read. */
  long descriptors() {
    String[] fds = new File("/proc/" + pid + "/fd").list();
    return fds == null ? -1 : fds.length;
  }

  /** The process's /proc/<pid>/status, or "" when it cannot be read. */
  String status() {
    try {
      return Files.readString(Path.of("/proc/" + pid + "/status"));
    } catch (IOException e) {
      return "";
    }
  }

  String metricsText() throws IOException, InterruptedException {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(metrics).timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException(metrics + " answered " + r.statusCode());
    }
    return r.body();
  }

  /** The proxy's open streams by its own gauge, or NaN when /metrics cannot be read. */
  double activeStreams() {
    try {
      return SoakParse.metric(metricsText(), "claude_proxy_active_streams");
    } catch (IOException e) {
      return Double.NaN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Double.NaN;
    }
  }

  /**
   * One sample: a full collection and the live heap it leaves (GC.class_histogram, which collects fully first), the
   * heap's and metaspace's use after it (GC.heap_info), descriptors, RSS, threads, and the proxy's meters. The meters
   * are read last: their request allocates buffers, which is when Netty's leak detector reports buffers collected
   * unreleased.
   */
  JsonObject sample() throws IOException, InterruptedException {
    long t0 = System.nanoTime();
    // Both commands in one attach (jcmd -f): a jcmd is a JVM of its own, a second of CPU on a loaded machine.
    String both = jcmd("-f", commands.toString());
    long gcMs = (System.nanoTime() - t0) / 1_000_000;
    SoakParse.Histogram h = SoakParse.histogram(both, Integer.MAX_VALUE);
    lastHistogram = h;
    String heapInfo = both.substring(both.indexOf("Total"));
    String status = status();
    JsonObject s = new JsonObject()
        .put("heap_live_bytes", h.bytes()).put("heap_live_instances", h.instances())
        .put("heap_used_kb", SoakParse.heapUsedKb(heapInfo)).put("metaspace_kb", SoakParse.metaspaceUsedKb(heapInfo))
        .put("histogram_ms", gcMs)
        .put("fds", descriptors()).put("fds_by_kind", descriptorKinds())
        .put("rss_kb", SoakParse.procStatus(status, "VmRSS")).put("threads", SoakParse.procStatus(status, "Threads"));
    try {
      String m = metricsText();
      s.put("active_streams", num(SoakParse.metric(m, "claude_proxy_active_streams")))
          .put("streams_ended", num(SoakParse.metric(m, "claude_proxy_stream_duration_seconds_count")))
          .put("http_requests", num(SoakParse.metric(m, "vertx_http_server_requests_total")))
          .put("http_connections", num(SoakParse.metric(m, "vertx_http_server_active_connections")))
          .put("direct_buffers_bytes", num(SoakParse.metric(m, "jvm_buffer_memory_used_bytes")));
    } catch (IOException e) {
      s.put("metrics_error", e.toString());
    }
    return s;
  }

  private static Object num(double v) {
    return Double.isNaN(v) ? null : v == Math.rint(v) && Math.abs(v) < 1e15 ? (Object) (long) v : (Object) v;
  }
}
