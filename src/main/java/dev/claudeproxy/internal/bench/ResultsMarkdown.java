package dev.claudeproxy.internal.bench;

import static dev.claudeproxy.internal.bench.ResultFormat.f2;
import static dev.claudeproxy.internal.bench.ResultFormat.fixed;
import static dev.claudeproxy.internal.bench.ResultFormat.str;
import static dev.claudeproxy.internal.bench.Rounds.nan;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.function.Function;

/** bench/results.md from the bench's results (as target/bench/results.json holds them), and its sections apart. */
final class ResultsMarkdown {
  private ResultsMarkdown() {}

  static void write(Path file, JsonNode r, boolean quick) {
    try {
      Files.writeString(file, render(r, quick));
    } catch (IOException e) {
      throw new BenchException("cannot write " + file + ": " + e);
    }
  }

  /** A CPU table's row: the run with the simulator writing each event on its own, and its batched twin's figure. */
  static String row(String label, JsonNode s) {
    JsonNode t = s.path("time_to_first_token_ms");
    return "| " + label + " | " + str(s.path("streams").get("completed")) + "/" + str(s.path("streams").get("started"))
        + " | " + str(s.get("deltas")) + " | " + f2(nan(s.get("cpu_seconds"))) + " | "
        + f2(nan(s.get("cpu_us_per_delta"))) + " | " + f2(nan(s.path("batch").get("cpu_us_per_delta"))) + " | "
        + str(t.get("p50")) + " | " + str(t.get("p99")) + " |";
  }

  private static double d(JsonNode x, String... path) {
    JsonNode n = x;
    for (String p : path) {
      n = n.path(p);
    }
    return nan(n);
  }

  private static Iterable<Map.Entry<String, JsonNode>> fields(JsonNode x) {
    return x::fields;
  }

  /** The CPU per forwarded delta, and per short stream, as markdown. */
  static List<String> cpuLines(JsonNode r) {
    List<String> lines = new ArrayList<>(List.of("## CPU per forwarded delta", "",
        "The simulator wrote each SSE event on its own (`SIM_WRITE=event`: a write, a flush and an HTTP/1.1 chunk"
            + " or HTTP/2 frame per event, as Claude's API sends them): the headline figures. Each run was followed on"
            + " its path by the same run with the simulator packing the events due together into one write"
            + " (`x-sim-write: batch`, about 16 KB a write in a burst: the kinder shape, and the only one before),"
            + " whose CPU per delta (its own median round) is the *batched* column. *per_request* is the cost of a"
            + " short request: streams of one delta each, 200 at a time, so its CPU per delta is the CPU per stream."
            + " The bare Vert.x pass-through (`bench/BarePassThrough.java`: Vert.x's HTTP server relaying to the"
            + " simulator with its HTTP client over HTTP/2, no authentication, no bus, no meters, no access line) is"
            + " the floor of a Vert.x proxy on each shape.", ""));
    for (Map.Entry<String, JsonNode> shape : fields(r.path("cpu"))) {
      String name = shape.getKey();
      JsonNode runs = shape.getValue();
      String unit = "per_request".equals(name) ? "stream" : "delta";
      double nginx = d(runs, "nginx", "cpu_us_per_delta");
      Function<String, Double> batched = path -> d(runs, path, "batch", "cpu_us_per_delta")
          / d(runs, "nginx", "batch", "cpu_us_per_delta");
      lines.addAll(List.of("### " + name, "",
          "| path | streams ok | deltas | CPU s | CPU µs/" + unit + " | batched: CPU µs/" + unit + " | TTFT p50 ms |"
              + " TTFT p99 ms |",
          "|---|---|---|---|---|---|---|---|",
          row("direct to the simulator", runs.get("direct")), row("nginx (proxy_buffering off)", runs.get("nginx")),
          row("bare Vert.x pass-through (HTTP/2 upstream; no auth, no bus)", runs.get("bare")),
          row("Claude Stream Proxy, HTTP/1.1 upstream", runs.get("proxy")),
          row("Claude Stream Proxy, HTTP/2 upstream", runs.get("proxy_h2c"))));
      JsonNode cluster = runs.get("cluster");
      double single = d(runs, "proxy_h2c", "cpu_us_per_delta");
      JsonNode share = cluster.path("cpu_us_per_delta_by_process");
      double bare = d(runs, "bare", "cpu_us_per_delta");
      lines.add(row("Claude Stream Proxy, cluster: HTTP node + worker node (HTTP/2 upstream)", cluster));
      for (String[] node : new String[][] {{"HTTP node", "http"}, {"worker node", "worker"}}) {
        ObjectNode part = cluster.deepCopy();
        part.set("cpu_seconds", cluster.path("cpu_seconds_by_process").get(node[1]));
        part.set("cpu_us_per_delta", share.get(node[1]));
        part.putObject("time_to_first_token_ms");
        part.putObject("batch").set("cpu_us_per_delta",
            cluster.path("batch").path("cpu_us_per_delta_by_process").get(node[1]));
        lines.add(row("&nbsp;&nbsp;of which the " + node[0], part));
      }
      double clusterUs = d(cluster, "cpu_us_per_delta");
      lines.addAll(List.of("",
          "Proxy / nginx CPU per " + unit + ": **" + f2(d(runs, "proxy", "cpu_us_per_delta") / nginx) + "x** with"
              + " HTTP/1.1 upstream, **" + f2(single / nginx) + "x** with HTTP/2 upstream (target: at most 2x); with"
              + " the simulator's writes batched, " + f2(batched.apply("proxy")) + "x and "
              + f2(batched.apply("proxy_h2c")) + "x.", "",
          "The floor: the bare Vert.x pass-through / nginx **" + f2(bare / nginx) + "x** ("
              + f2(batched.apply("bare")) + "x batched); the HTTP/2-upstream proxy / the bare pass-through **"
              + f2(single / bare) + "x** (" + f2(batched.apply("proxy_h2c") / batched.apply("bare")) + "x batched; "
              + ResultFormat.signed2(single - bare) + " µs of CPU per " + unit + "; the bare pass-through writes each upstream"
              + " chunk to the client as it comes, the proxy a pass's chunks in one write).", "",
          "Cluster / single-process HTTP/2 upstream: **" + f2(clusterUs / single) + "x**; cluster / nginx: **"
              + f2(clusterUs / nginx) + "x**. The clustered hop costs " + f2(clusterUs - single) + " µs of CPU per "
              + unit + ": the two processes spend " + f2(clusterUs) + " µs per " + unit + " (the HTTP node "
              + f2(nan(share.get("http"))) + ", the worker " + f2(nan(share.get("worker"))) + ") where one process"
              + " doing both halves spends " + f2(single) + ".", ""));
      JsonNode nginxRounds = runs.path("nginx").path("rounds_us_per_delta");
      if (nginxRounds.size() > 1) {
        List<String> perRound = new ArrayList<>();
        for (String[] p : new String[][] {{"nginx", "nginx"}, {"bare pass-through", "bare"},
            {"HTTP/1.1 upstream", "proxy"}, {"HTTP/2 upstream", "proxy_h2c"}, {"cluster", "cluster"}}) {
          List<String> xs = new ArrayList<>();
          runs.path(p[1]).path("rounds_us_per_delta").forEach(x -> xs.add(f2(nan(x))));
          perRound.add(p[0] + " " + String.join(" / ", xs));
        }
        BiFunction<String, String, String> byRound = (a, b) -> {
          JsonNode xa = runs.path(a).path("rounds_us_per_delta");
          JsonNode xb = runs.path(b).path("rounds_us_per_delta");
          List<String> out = new ArrayList<>();
          for (int i = 0; i < Math.min(xa.size(), xb.size()); i++) {
            out.add(f2(nan(xa.get(i)) / nan(xb.get(i))) + "x");
          }
          return String.join(" / ", out);
        };
        lines.addAll(List.of("Each path's median of " + nginxRounds.size() + " rounds, the paths taking turns within"
            + " each round. CPU µs per " + unit + " by round: " + String.join("; ", perRound) + ". HTTP/2 upstream /"
            + " nginx by round: " + byRound.apply("proxy_h2c", "nginx") + "; bare pass-through / nginx by round: "
            + byRound.apply("bare", "nginx") + "; cluster / HTTP/2 upstream by round: "
            + byRound.apply("cluster", "proxy_h2c") + ".", ""));
      }
    }
    return lines;
  }

  /** The resumable streams' figures as markdown. */
  static List<String> resumeLines(JsonNode r) {
    JsonNode mem = r.path("memory");
    JsonNode cost = r.path("cost");
    JsonNode resume = cost.path("cut_and_resumed").path("resume");
    JsonNode t = resume.path("time_to_resume_ms");
    List<String> lines = new ArrayList<>(List.of("## Resumable streams", "",
        "Through the HTTP/2 proxy. Heap after GC per open stream, " + str(r.get("streams")) + " slow streams (one"
            + " token a second) each, over the heap before them:", "",
        "| streams | completed / failed | heap before MB | heap with them open MB | heap KB/stream |",
        "|---|---|---|---|---|"));
    for (String kind : List.of("plain", "resumable")) {
      JsonNode m = mem.path(kind);
      JsonNode s = m.path("summary").path("streams");
      lines.add("| " + kind + " | " + str(s.get("completed")) + " / " + str(s.get("failed")) + " | "
          + fixed(d(m, "heap_before_mb"), 1) + " | " + fixed(d(m, "heap_mb"), 1) + " | "
          + fixed(d(m, "heap_kb_per_stream"), 1) + " |");
    }
    lines.addAll(List.of("", "The cost of a resume: the same streams (" + String.join(" ", Bench.RESUME_SHAPE) + ", "
            + str(cost.path("plain").path("streams").get("started")) + " in all) plain, resumable and read whole, and"
            + " resumable cut at a random event and resumed on the same proxy; the proxy's CPU per stream (the median"
            + " of the rounds, the kinds taking turns in each).", "",
        "| streams | completed / failed | proxy CPU s | CPU µs/stream | rounds, µs/stream | TTFT p50 ms |"
            + " TTFT p99 ms |", "|---|---|---|---|---|---|---|"));
    for (String kind : List.of("plain", "resumable", "cut_and_resumed")) {
      JsonNode s = cost.path(kind);
      JsonNode tt = s.path("time_to_first_token_ms");
      double perStream = d(s, "cpu_us_per_stream") / d(s, "cpu_us_per_delta");
      List<String> every = new ArrayList<>();
      s.path("rounds_us_per_delta").forEach(us -> every.add(fixed(nan(us) * perStream, 0)));
      lines.add("| " + kind + " | " + str(s.path("streams").get("completed")) + " / "
          + str(s.path("streams").get("failed")) + " | " + f2(d(s, "cpu_seconds")) + " | "
          + fixed(d(s, "cpu_us_per_stream"), 0) + " | " + String.join(", ", every) + " | " + str(tt.get("p50"))
          + " | " + str(tt.get("p99")) + " |");
    }
    lines.addAll(List.of("", "Resumes: " + str(resume.get("resumed")) + " of " + str(resume.get("cuts")) + " cuts ("
        + ResultFormat.dumps(resume.get("cut_at")) + "), failed " + ResultFormat.dumps(resume.get("failed")) + "; time to a resume's"
        + " response head p50 " + str(t.get("p50")) + " ms, p99 " + str(t.get("p99")) + " ms, max "
        + str(t.get("max")) + " ms; CPU per resume over reading the stream whole "
        + fixed(d(r, "cpu_us_per_resume"), 0) + " µs. The proxy counted: "
        + ResultFormat.dumps(cost.path("cut_and_resumed").get("proxy_counted")) + ".", ""));
    return lines;
  }

  /** The whole of bench/results.md. */
  static String render(JsonNode r, boolean quick) {
    JsonNode m = r.path("machine");
    List<String> counted = new ArrayList<>();
    Rounds.cpuCountedBy(r).forEach((k, v) -> counted.add(k + " " + v));
    List<String> warmed = new ArrayList<>();
    for (Map.Entry<String, JsonNode> w : fields(r.path("warmup"))) {
      if (!"loadgen".equals(w.getKey())) {
        List<String> methods = new ArrayList<>();
        w.getValue().path("compiled_methods").forEach(x -> methods.add(str(x)));
        warmed.add(w.getKey() + ": " + String.join(", ", methods));
      }
    }
    JsonNode loadgenCompiled = r.path("warmup").path("loadgen").path("compiled_methods");
    List<String> idle = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : fields(r.path("idle_cpu_percent"))) {
      idle.add(e.getKey() + " " + fixed(nan(e.getValue()), 1));
    }
    List<String> lines = new ArrayList<>(List.of(
        "# Benchmark results",
        "",
        "Measured by `scripts/bench" + (quick ? " --quick" : "") + "` on " + r.path("date").asText() + ": "
            + str(m.get("cores")) + " cores, " + m.path("java").asText() + ", " + m.path("nginx").asText()
            + ", kernel " + m.path("kernel").asText() + ", open-file limit " + str(m.get("open_files"))
            + ". The simulator, the two proxies, the cluster's two nodes, nginx, the bare Vert.x pass-through (during"
            + " the CPU runs) and the load generator each ran as their own process on loopback. The simulator and the"
            + " load generator stand in for Claude and for clients on other machines"
            + (m.path("apparatus").asText().startsWith("chrt")
                ? ", so they ran as batch tasks, whose wake-ups do not preempt the proxy or nginx (`chrt --batch`), and"
                : "; `chrt` was missing, so they ran as ordinary tasks, and")
            + " one load-generator JVM did every run (`loadtest --runs-from-stdin`, one run a line), so that, warmed"
            + " with the proxies, it was not compiling in the middle of a measurement. All of them ran in the bench's"
            + " session"
            + (m.path("autogroup").asBoolean(false) ? ", so in one scheduling group of the kernel's autogroup (in"
                + " sessions of their own, each would get its share of the CPU first, and a batch task yields only"
                + " within its own group)" : "")
            + ". CPU is each process's time on a CPU (all threads, user and system) over the measured run, divided by"
            + " the deltas the load generator received and checked; it is counted in nanoseconds from each thread's"
            + " `/proc/<pid>/task/<tid>/schedstat` (clock ticks are 10 ms, a few percent of a burst round of"
            + " nginx's), or from the clock ticks of `/proc/<pid>/stat` when a thread ended during the run (counted: "
            + String.join(", ", counted) + ")."
            + " These machines are shared and noisy: compare figures within one run. Per-run details, with HTML"
            + " reports (latency distributions, active streams and throughput over time), are in `target/bench/`."
            + " Bursts are over in seconds, so each path runs the burst once unmeasured first, and bursts are measured"
            + " in rounds (below). The proxies ran with a fixed heap (`"
            + String.join(" ", Bench.PROXY_JVM.subList(1, Bench.PROXY_JVM.size())) + "`), as the README advises for"
            + " many streams, so that young collections are rare.",
        "",
        "Two proxies ran side by side: *HTTP/1.1 upstream* (`UPSTREAM_PROTOCOL=http1`, a socket per stream to the"
            + " simulator, as nginx does) and *HTTP/2 upstream* (`UPSTREAM_PROTOCOL=h2c`, many streams to a"
            + " connection; what `auto` picks for the built-in simulator, and what ALPN picks against Claude's API)."
            + " Beside them ran a *cluster*: an HTTP node (`PROXY_ROLE=http`: the clients, users, limits and usage)"
            + " and a worker node (`PROXY_ROLE=worker`, HTTP/2 upstream: the calls to the simulator), each a process"
            + " with the proxies' JVM flags, joined by Hazelcast on loopback, streams and their events crossing the"
            + " clustered event bus between them. Its CPU is the two processes' together; against the HTTP/2-upstream"
            + " proxy, which does the same work in one process, it is the price of the hop.",
        "",
        "Before measuring, each proxy was warmed up in rounds until its JIT compiler settled (methods compiled after"
            + " each round: " + String.join("; ", warmed) + ")."
            + (loadgenCompiled.size() == 2 ? " The load generator had compiled " + str(loadgenCompiled.get(0))
                + " methods by the end of the warm-up and " + str(loadgenCompiled.get(1)) + " by the end of the"
                + " first-token rounds." : "")
            + " With no stream open, over five seconds after the warm-up, they used (% of a core): "
            + String.join(", ", idle) + ".",
        "",
        "Other figures: [the simulator's capacity](simulator.md), [JMH microbenchmarks](jmh.md); what they say:"
            + " [analysis.md](analysis.md).",
        ""));
    lines.addAll(cpuLines(r));
    lines.addAll(List.of("## Time to first token added over going direct", "",
        "Steady state: the concurrency held over four times its number of five-second streams (100 tokens at 20"
            + " a second), so a fifth of it starts every second; the first round of streams (the ramp) run and checked"
            + " but not timed.", "",
        "| streams | proxy upstream | direct p50 | proxy p50 | added p50 | direct p99 | proxy p99 | added p99 |",
        "|---|---|---|---|---|---|---|---|"));
    String[][] proxies = {{"HTTP/1.1", "proxy"}, {"HTTP/2", "proxy_h2c"}, {"HTTP/2, cluster", "cluster"}};
    for (Map.Entry<String, JsonNode> e : fields(r.path("ttft"))) {
      JsonNode dd = e.getValue().path("direct").path("time_to_first_token_ms");
      for (String[] p : proxies) {
        JsonNode pp = e.getValue().path(p[1]).path("time_to_first_token_ms");
        lines.add("| " + e.getKey() + " | " + p[0] + " | " + str(dd.get("p50")) + " | " + str(pp.get("p50")) + " | "
            + f2(nan(pp.get("p50")) - nan(dd.get("p50"))) + " | " + str(dd.get("p99")) + " | " + str(pp.get("p99"))
            + " | " + f2(nan(pp.get("p99")) - nan(dd.get("p99"))) + " |");
      }
    }
    for (Map.Entry<String, JsonNode> e : fields(r.path("ttft"))) {
      JsonNode runs = e.getValue();
      if (runs.path("direct").path("rounds_p99_ms").size() > 1) {
        List<String> byRound = new ArrayList<>();
        for (String[] p : new String[][] {{"direct", "direct"}, {"HTTP/1.1 upstream", "proxy"},
            {"HTTP/2 upstream", "proxy_h2c"}, {"cluster", "cluster"}}) {
          List<String> xs = new ArrayList<>();
          runs.path(p[1]).path("rounds_p99_ms").forEach(x -> xs.add(str(x)));
          byRound.add(p[0] + " " + String.join(" / ", xs));
        }
        lines.addAll(List.of("", "At " + e.getKey() + " streams each figure is the median of "
            + runs.path("direct").path("rounds_p99_ms").size() + " rounds, the paths taking turns within each round;"
            + " p99 ms by round: " + String.join("; ", byRound) + "."));
      }
    }
    List<String> hops = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : fields(r.path("ttft"))) {
      BiFunction<JsonNode, String, Double> hop = (runs, q) -> d(runs, "cluster", "time_to_first_token_ms", q)
          - d(runs, "proxy_h2c", "time_to_first_token_ms", q);
      hops.add(ResultFormat.signed2(hop.apply(e.getValue(), "p50")) + " ms at p50 and "
          + ResultFormat.signed2(hop.apply(e.getValue(), "p99")) + " ms at p99 at " + e.getKey() + " streams");
    }
    lines.addAll(List.of("", "The clustered hop, the cluster against the single-process HTTP/2-upstream proxy: "
        + String.join("; ", hops) + "."));
    lines.addAll(List.of("", "Target: added p99 under 5 ms at 1,000 concurrent streams.", "",
        "Inside the proxy, from its own meters over the same rounds (every stream of a round, the untimed first"
            + " round included): *first token*, from a request's arrival to the first content delta the proxy"
            + " forwards (what the proxy reports as time to first token); *first event*, to the first event it"
            + " forwards (`message_start`); *upstream head*, from the start of each upstream attempt (getting a"
            + " connection included) to the simulator's head, the upstream's share of the first. The meters are"
            + " histograms, so each figure is the upper bound of the bucket holding it (buckets about a fifth apart);"
            + " the median of the rounds. In the cluster the first token and event are the HTTP node's meters, the"
            + " upstream head the worker node's.", "",
        "| streams | proxy upstream | first token p50 | first token p99 | first event p50 | first event p99 |"
            + " upstream head p50 | upstream head p99 |",
        "|---|---|---|---|---|---|---|---|"));
    for (Map.Entry<String, JsonNode> e : fields(r.path("ttft"))) {
      for (String[] p : proxies) {
        JsonNode inside = e.getValue().path(p[1]).get("inside_ms");
        if (inside != null && inside.size() > 0) {
          lines.add("| " + e.getKey() + " | " + p[0] + " | " + f2(d(inside, "first_token", "p50")) + " | "
              + f2(d(inside, "first_token", "p99")) + " | " + f2(d(inside, "first_event", "p50")) + " | "
              + f2(d(inside, "first_event", "p99")) + " | " + f2(d(inside, "upstream_head", "p50")) + " | "
              + f2(d(inside, "upstream_head", "p99")) + " |");
        }
      }
    }
    lines.addAll(List.of("",
        "## Memory per open stream", "",
        "The HTTP/2-upstream proxy, which holds one socket per stream (the HTTP/1.1 one holds two, so 10,000"
            + " streams would not fit this machine's open-file limit).", "",
        "Idle proxy after GC: heap " + fixed(d(r, "memory_idle", "heap_mb"), 1) + " MB, RSS "
            + fixed(d(r, "memory_idle", "rss_mb"), 0) + " MB.",
        "",
        "| open streams | completed / failed | heap after GC MB | heap KB/stream | RSS MB | RSS KB/stream |",
        "|---|---|---|---|---|---|"));
    for (Map.Entry<String, JsonNode> e : fields(r.path("memory"))) {
      JsonNode mem = e.getValue();
      JsonNode s = mem.path("summary").path("streams");
      lines.add("| " + e.getKey() + " | " + str(s.get("completed")) + " / " + str(s.get("failed")) + " | "
          + fixed(d(mem, "heap_mb"), 1) + " | " + fixed(d(mem, "heap_kb_per_stream"), 1) + " | "
          + fixed(d(mem, "rss_mb"), 0) + " | " + fixed(d(mem, "rss_kb_per_stream"), 1) + " |");
    }
    lines.addAll(List.of("", "Largest number of concurrent streams held with no errors in this run: "
        + largestHeld(r.path("memory")) + ". Target: 10,000 with heap per open stream under 32 KB.", ""));
    JsonNode idleCluster = r.path("memory_cluster_idle");
    lines.addAll(List.of("## Streams one HTTP node carries with its workers elsewhere", "",
        "The same slow streams through the cluster's HTTP node, which holds the clients' sockets (one per"
            + " stream), while its worker node holds the calls upstream (HTTP/2: a few connections); the HTTP/2 proxy"
            + " was stopped first. Per stream: over each node idle after GC (HTTP node: heap "
            + fixed(d(idleCluster, "http", "heap_mb"), 1) + " MB, RSS " + fixed(d(idleCluster, "http", "rss_mb"), 0)
            + " MB; worker node: heap " + fixed(d(idleCluster, "worker", "heap_mb"), 1) + " MB, RSS "
            + fixed(d(idleCluster, "worker", "rss_mb"), 0) + " MB).", "",
        "| open streams | completed / failed | errors | HTTP node heap after GC MB | heap KB/stream | RSS MB |"
            + " RSS KB/stream | worker heap after GC MB | heap KB/stream | RSS MB | RSS KB/stream |",
        "|---|---|---|---|---|---|---|---|---|---|---|"));
    for (Map.Entry<String, JsonNode> e : fields(r.path("memory_cluster"))) {
      JsonNode mem = e.getValue();
      JsonNode s = mem.path("summary").path("streams");
      List<String> errors = new ArrayList<>();
      for (Map.Entry<String, JsonNode> err : fields(mem.path("summary").path("errors"))) {
        errors.add(err.getKey() + " " + str(err.getValue()));
      }
      List<String> nodes = new ArrayList<>();
      for (String node : List.of("http", "worker")) {
        nodes.add(fixed(d(mem, node, "heap_mb"), 1) + " | " + fixed(d(mem, node, "heap_kb_per_stream"), 1) + " | "
            + fixed(d(mem, node, "rss_mb"), 0) + " | " + fixed(d(mem, node, "rss_kb_per_stream"), 1));
      }
      lines.add("| " + e.getKey() + " | " + str(s.get("completed")) + " / " + str(s.get("failed")) + " | "
          + (errors.isEmpty() ? "none" : String.join(", ", errors)) + " | " + String.join(" | ", nodes) + " |");
    }
    lines.addAll(List.of("", "Largest number of concurrent streams the HTTP node held with no errors in this run: "
        + largestHeld(r.path("memory_cluster")) + ".", ""));
    lines.addAll(resumeLines(r.path("resume")));
    if (r.has("hold")) {
      lines.addAll(holdLines(r.path("hold")));
    }
    return String.join("\n", lines);
  }

  /** Held streams at scale: one proxy process, then a cluster (see {@link Holds}). */
  static List<String> holdLines(JsonNode r) {
    List<String> lines = new ArrayList<>(List.of("## Held streams at scale", "",
        "Slow streams (one token a second, each lasting its ramp and a minute more) opened as fast as the load"
            + " generator opens them (its ramp below), the load generator spread over processes of its own"
            + " (`loadtest --processes`), upstream over h2c to the simulator. Heap: live objects (a class histogram)"
            + " with the streams open over the same with none, per open stream; RSS likewise, with the heap settings"
            + " given; time to first token as the clients saw it.", "",
        "| hold | JVM | streams | completed / failed | errors | open when measured | heap B/stream | RSS B/stream"
            + " | TTFT p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|"));
    Map<String, String> names = new LinkedHashMap<>();
    names.put("one_process", "one proxy process");
    names.put("cluster", "cluster");
    for (Map.Entry<String, String> e : names.entrySet()) {
      JsonNode h = r.path(e.getKey());
      if (h.isMissingNode()) {
        continue;
      }
      JsonNode res = h.path("result");
      JsonNode s = res.path("summary");
      List<String> errors = new ArrayList<>();
      fields(s.path("errors")).forEach(x -> errors.add(x.getKey() + " " + str(x.getValue())));
      String what = e.getKey().equals("cluster") ? e.getValue() + " (" + str(h.get("http_nodes")) + " HTTP nodes, "
          + str(h.get("workers")) + " workers)" : e.getValue();
      lines.add("| " + what + " | `" + h.path("jvm").asText() + "` | " + str(h.get("streams")) + " | "
          + str(s.path("streams").get("completed")) + " / " + str(s.path("streams").get("failed")) + " | "
          + (errors.isEmpty() ? "none" : String.join(", ", errors)) + " | " + str(res.get("open_streams")) + " | "
          + fixed(d(res, "heap_bytes_per_stream"), 0) + " | " + fixed(d(res, "rss_bytes_per_stream"), 0) + " | "
          + str(s.path("time_to_first_token_ms").get("p50")) + " / "
          + str(s.path("time_to_first_token_ms").get("p99")) + " |");
    }
    lines.addAll(List.of("", "By process (heap and RSS per open stream of the whole hold):", "",
        "| hold | process | role | open streams | heap B/stream | RSS B/stream | descriptors |",
        "|---|---|---|---|---|---|---|"));
    for (String hold : names.keySet()) {
      for (JsonNode n : r.path(hold).path("result").path("nodes")) {
        lines.add("| " + names.get(hold) + " | " + n.path("node").asText() + " | " + n.path("role").asText() + " | "
            + str(n.get("open_streams")) + " | " + fixed(d(n, "heap_bytes_per_stream"), 0) + " | "
            + fixed(d(n, "rss_bytes_per_stream"), 0) + " | " + str(n.get("descriptors")) + " |");
      }
    }
    lines.add("");
    return lines;
  }

  /** The largest number of streams, among a memory section's steps, held with none failed (0 when none). */
  static long largestHeld(JsonNode memory) {
    long largest = 0;
    for (Iterator<Map.Entry<String, JsonNode>> it = memory.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().path("summary").path("streams").path("failed").asLong() == 0) {
        largest = Math.max(largest, Long.parseLong(e.getKey()));
      }
    }
    return largest;
  }
}
