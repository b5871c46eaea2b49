package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Resumable streams through one proxy: heap after GC per open stream, plain and resumable (the same slow streams,
 * plain first: a finished resumable stream stays readable for PROXY_RESUME_TTL_MS), then the proxy's CPU per stream
 * for resumable streams read whole and for the same streams cut and resumed ({@code --cut-and-resume}), each after a
 * rehearsal, and the time to a resume's head.
 */
final class ResumeCosts {
  private static final List<String> COUNTED = List.of("claude_proxy_stream_resumes", "claude_proxy_stream_detaches");

  private final Bench b;

  ResumeCosts(Bench bench) {
    this.b = bench;
  }

  ObjectNode measure(String url, Process proxy) {
    int n = b.quick ? 500 : 2000;
    ObjectNode out = Rounds.object();
    out.put("streams", n);
    ObjectNode memory = out.putObject("memory");
    memory.put("idle_heap_mb", Processes.heapAfterGcMb(proxy.pid()));
    Map<String, List<String>> memoryKinds = new LinkedHashMap<>();
    memoryKinds.put("plain", List.of());
    memoryKinds.put("resumable", List.of("-H", "x-stream-resumable:true"));
    for (Map.Entry<String, List<String>> kind : memoryKinds.entrySet()) {
      Bench.log("resume: heap at " + n + " open " + kind.getKey() + " streams");
      double before = Processes.heapAfterGcMb(proxy.pid());
      Bench.HeldStreams held = b.openStreams("resume-memory-" + kind.getKey(), url, n, b.key, kind.getValue());
      double heap = Processes.heapAfterGcMb(proxy.pid());
      ObjectNode m = memory.putObject(kind.getKey());
      m.put("heap_before_mb", before);
      m.put("heap_mb", heap);
      m.put("heap_kb_per_stream", (heap - before) * 1024 / n);
      m.set("summary", held.await());
    }
    int runs = b.quick ? 400 : 2000;
    List<String> args = Bench.concat(Bench.RESUME_SHAPE, List.of("-n", Integer.toString(runs)));
    Map<String, List<String>> kinds = new LinkedHashMap<>();
    kinds.put("plain", List.of());
    kinds.put("resumable", List.of("-H", "x-stream-resumable:true"));
    kinds.put("cut_and_resumed", List.of("--cut-and-resume"));
    // Rounds with the kinds taking turns, each kind's median round reported: a round is over in seconds, and a
    // collection or a compilation in one moves it by a third.
    Map<String, List<ObjectNode>> rounds = new LinkedHashMap<>();
    kinds.keySet().forEach(kind -> rounds.put(kind, new ArrayList<>()));
    for (int i = 0; i < (b.quick ? 1 : 3); i++) {
      for (Map.Entry<String, List<String>> kind : kinds.entrySet()) {
        Bench.log("resume: CPU per stream, " + kind.getKey() + ", round " + (i + 1));
        List<String> kindArgs = Bench.concat(args, kind.getValue());
        if (i == 0) {
          b.loadtest("resume-cost-" + kind.getKey() + "-rehearsal", url, kindArgs, b.key);
        }
        // What the proxy counted of the measured run: its resumes by result, and the clients that went away.
        Map<String, Map<String, Double>> seen = new LinkedHashMap<>();
        for (String name : COUNTED) {
          seen.put(name, Meters.countersAt(url, name));
        }
        ObjectNode summary = b.measured("resume-cost-" + kind.getKey() + "-" + i, url, kindArgs,
            Map.of("proxy", proxy.pid()), false, b.key, false);
        summary.put("cpu_us_per_stream", summary.get("cpu_seconds").asDouble() * 1e6 / runs);
        ObjectNode counted = summary.putObject("proxy_counted");
        for (String name : COUNTED) {
          ObjectNode series = counted.putObject(name);
          Map<String, Double> before = seen.get(name);
          Meters.countersAt(url, name).forEach((s, value) -> {
            double was = before.getOrDefault(s, 0.0);
            if (value != was) {
              series.put(s, value - was);
            }
          });
        }
        rounds.get(kind.getKey()).add(summary);
      }
    }
    ObjectNode cost = out.putObject("cost");
    rounds.forEach((kind, summaries) -> cost.set(kind, Rounds.medianRound(summaries)));
    ObjectNode cut = (ObjectNode) cost.get("cut_and_resumed");
    ObjectNode whole = (ObjectNode) cost.get("resumable");
    long resumed = cut.path("resume").path("resumed").asLong();
    out.put("cpu_us_per_resume", resumed != 0
        ? (cut.get("cpu_seconds").asDouble() - whole.get("cpu_seconds").asDouble()) * 1e6 / resumed : Double.NaN);
    return out;
  }

  /** {@code --resume-only}: the simulator, the HTTP/2 proxy and the load generator alone, warmed, then the costs. */
  void runAlone() {
    b.loadgen = b.startLoadGenerator("loadgen");
    b.startSimulator();
    Map<String, String> env = FullBench.with(b.proxyEnv(), "PROXY_PORT", b.ports.proxyH2c(), "UPSTREAM_PROTOCOL",
        "h2c", "PROXY_USAGE_FILE", b.work.resolve("usage-h2c.jsonl"));
    Process proxy = b.startProxy("proxy-h2c", b.jar, env);
    for (int port : new int[] {b.ports.simulator(), b.ports.proxyH2c()}) {
      b.processes.waitPort(port);
    }
    String url = Ports.url(b.ports.proxyH2c());
    Bench.log("resume: warming up");
    for (List<String> extra : List.of(List.<String>of(), List.of("--cut-and-resume"))) {
      b.loadtest("warmup", url, Bench.concat(Bench.RESUME_SHAPE, List.of("-n", "2000", "-H",
          "x-sim-tokens-per-second:0"), extra), b.key);
      b.loadtest("warmup", url, Bench.concat(Bench.RESUME_SHAPE, List.of("-n", "2000"), extra), b.key);
    }
    ObjectNode out = measure(url, proxy);
    Bench.writeJson(b.work.resolve("resume.json"), out);
    System.out.println(String.join("\n", ResultsMarkdown.resumeLines(out)));
    Bench.log("done: " + b.work + "/resume.json");
  }
}
