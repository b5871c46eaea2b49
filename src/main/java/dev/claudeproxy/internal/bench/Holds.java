package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Held streams at scale (issue 25): slow streams (one token a second) opened as fast as the load generator opens
 * them and held, first by one proxy process (19,000: a process may hold 20,000 open files here), then by the machine
 * through a cluster of three HTTP nodes and two workers (50,000), the load generator spread over as many processes
 * as the open-file limit asks ({@code loadtest --processes}). Reported: the streams that completed and those that
 * failed (a refusal at the door is counted apart from a stream that failed once open), the streams open at the
 * measurement, live heap per open stream (a class histogram, which counts live objects only), resident memory per
 * open stream with the heap settings used, descriptors, and the time to first token the load generator saw.
 */
final class Holds {
  /** Each node's fixed heap in the cluster: five nodes beside the simulator and the load generators in 24 GiB. */
  static final List<String> NODE_JVM = List.of("java", "-Xms2g", "-Xmx2g");

  private final Bench b;

  Holds(Bench bench) {
    this.b = bench;
  }

  /** Both holds; the simulator and the load generator must be up. */
  ObjectNode measure() {
    ObjectNode out = Rounds.object();
    out.set("one_process", oneProcess(b.quick ? 2_000 : 19_000));
    out.set("cluster", cluster(b.quick ? 3_000 : 50_000, b.quick ? 1 : 3, b.quick ? 1 : 2));
    return out;
  }

  /** {@code --hold-only}: the simulator and the load generator, then both holds. */
  void runAlone() {
    b.loadgen = b.startLoadGenerator("loadgen");
    b.startSimulator();
    b.processes.waitPort(b.ports.simulator());
    ObjectNode out = measure();
    Bench.writeJson(b.work.resolve("hold.json"), out);
    System.out.println(String.join("\n", ResultsMarkdown.holdLines(out)));
    Bench.log("done: " + b.work + "/hold.json");
  }

  private ObjectNode oneProcess(int n) {
    int port = Processes.freePort();
    Process proxy = b.startProxy("hold-proxy", b.jar, FullBench.with(b.proxyEnv(), "PROXY_PORT", port,
        "UPSTREAM_PROTOCOL", "h2c", "PROXY_USAGE_FILE", b.work.resolve("usage-hold.jsonl")));
    String url = Ports.url(port);
    b.processes.waitReady(url, proxy);
    warm(url);
    Bench.log("hold: " + n + " streams through one proxy process");
    Node node = new Node("proxy", proxy, url, true);
    ObjectNode out = Rounds.object();
    out.put("streams", n);
    out.put("jvm", String.join(" ", Bench.PROXY_JVM));
    out.set("result", hold("hold-one-" + n, List.of(url), n, 2, List.of(node)));
    Processes.stop(proxy);
    return out;
  }

  private ObjectNode cluster(int n, int httpNodes, int workers) {
    int members = httpNodes + workers;
    List<Integer> hazelcast = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      hazelcast.add(Processes.freePort());
    }
    String memberList = String.join(",", hazelcast.stream().map(p -> "127.0.0.1:" + p).toList());
    List<Node> nodes = new ArrayList<>();
    List<String> urls = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      boolean http = i < httpNodes;
      String name = http ? "hold-http-" + i : "hold-worker-" + (i - httpNodes);
      int management = Processes.freePort();
      Map<String, String> env = FullBench.with(b.proxyEnv(), "PROXY_CLUSTER_HOST", "127.0.0.1",
          "PROXY_CLUSTER_NAME", "bench-hold-" + ProcessHandle.current().pid(), "PROXY_CLUSTER_MEMBERS", memberList,
          "PROXY_CLUSTER_PORT", hazelcast.get(i), "PROXY_ROLE", http ? "http" : "worker", "PROXY_NODE_ID", name,
          "PROXY_MANAGEMENT_PORT", management, "UPSTREAM_PROTOCOL", "h2c",
          "PROXY_USAGE_FILE", b.work.resolve("usage-" + name + ".jsonl"));
      if (http) {
        int port = Processes.freePort();
        env = FullBench.with(env, "PROXY_PORT", port);
        urls.add(Ports.url(port));
      }
      Process p = b.processes.start(name, Bench.concat(NODE_JVM, List.of("-jar", b.jar.toString(), "serve")), env);
      nodes.add(new Node(name, p, Ports.url(management), http));
    }
    for (Node node : nodes) {
      b.processes.waitReady(node.meters(), node.process());
    }
    urls.forEach(this::warm);
    int ramp = b.quick ? 5 : 80;
    Bench.log("hold: " + n + " streams through " + httpNodes + " HTTP nodes and " + workers + " workers");
    ObjectNode out = Rounds.object();
    out.put("streams", n);
    out.put("http_nodes", httpNodes);
    out.put("workers", workers);
    out.put("jvm", String.join(" ", NODE_JVM));
    out.set("result", hold("hold-cluster-" + n, urls, n, ramp, nodes));
    nodes.forEach(node -> Processes.stop(node.process()));
    return out;
  }

  /** Fast streams first, so that what is measured is not the JIT compiling. */
  private void warm(String url) {
    b.loadtest("hold-warmup", url, List.of("-c", "200", "-n", "4000", "-H", "x-sim-tokens-per-second:0"), b.key);
  }

  /**
   * Opens n slow streams over the urls in turn within {@code ramp} seconds, each lasting its ramp and a minute
   * more; once all have had time to open, reads each node's open streams, live heap, resident memory and
   * descriptors against its idle figures, then waits for the streams' end.
   */
  private ObjectNode hold(String name, List<String> urls, int n, int ramp, List<Node> nodes) {
    List<Idle> idle = nodes.stream().map(Holds::idle).toList();
    List<String> args = new ArrayList<>();
    for (String url : urls.subList(1, urls.size())) {
      args.addAll(List.of("--url", url));
    }
    args.addAll(List.of("-c", Integer.toString(n), "-n", Integer.toString(n), "--processes",
        Integer.toString(Bench.loadProcesses(n)), "--ramp-up", Integer.toString(ramp), "-H",
        "x-sim-tokens-per-second:1", "-H", "x-sim-output-tokens:" + (ramp + 60)));
    LoadGeneratorProcess.Pending pending = b.loadgen.submit(name, urls.get(0), args, b.key);
    Processes.sleep(ramp + 20);
    ObjectNode out = Rounds.object();
    ArrayNode byNode = out.putArray("nodes");
    long open = 0;
    for (int i = 0; i < nodes.size(); i++) {
      Node node = nodes.get(i);
      Idle before = idle.get(i);
      String metrics = Processes.get(node.meters() + "/metrics");
      long streams = (long) SoakParse.metric(metrics, "claude_proxy_active_streams");
      long live = liveHeap(node.process().pid());
      ObjectNode o = byNode.addObject();
      o.put("node", node.name());
      if (node.clients()) {
        o.put("open_streams", streams); // a worker's gauge counts no client streams: it reads 0 there
      }
      o.put("heap_idle_bytes", before.heap());
      o.put("heap_bytes", live);
      o.put("rss_idle_kb", before.rssKb());
      o.put("rss_kb", rssKb(node.process().pid()));
      o.put("descriptors", descriptors(node.process().pid()));
      o.put("pending_starts", (long) SoakParse.metric(metrics, "claude_proxy_pending_starts"));
      o.put("role", node.clients() ? "http" : "worker");
      if (node.clients()) {
        open += Math.max(0, streams);
      }
    }
    // Streams are counted where their clients' connections are; each node's heap and memory are given per open
    // stream of the whole hold (a worker carries the upstream side of the streams of every HTTP node).
    out.put("open_streams", open);
    long heap = 0;
    long rss = 0;
    for (int i = 0; i < byNode.size(); i++) {
      ObjectNode o = (ObjectNode) byNode.get(i);
      long nodeHeap = o.get("heap_bytes").asLong() - o.get("heap_idle_bytes").asLong();
      long nodeRss = o.get("rss_kb").asLong() - o.get("rss_idle_kb").asLong();
      o.put("heap_bytes_per_stream", open == 0 ? Double.NaN : (double) nodeHeap / open);
      o.put("rss_bytes_per_stream", open == 0 ? Double.NaN : nodeRss * 1024.0 / open);
      heap += nodeHeap;
      rss += nodeRss;
    }
    out.put("heap_bytes_per_stream", open == 0 ? Double.NaN : (double) heap / open);
    out.put("rss_bytes_per_stream", open == 0 ? Double.NaN : rss * 1024.0 / open);
    out.set("summary", pending.await());
    return out;
  }

  /** A process of the hold; {@code clients}: it holds the clients' connections (an HTTP node, or the one proxy). */
  private record Node(String name, Process process, String meters, boolean clients) {}

  private record Idle(long heap, long rssKb) {}

  private static Idle idle(Node node) {
    return new Idle(liveHeap(node.process().pid()), rssKb(node.process().pid()));
  }

  /** Bytes of live objects: a class histogram, which collects fully first. */
  static long liveHeap(long pid) {
    return SoakParse.histogram(Processes.run(List.of("jcmd", Long.toString(pid), "GC.class_histogram")).stdout(), 0)
        .bytes();
  }

  static long rssKb(long pid) {
    try {
      return SoakParse.procStatus(Files.readString(Path.of("/proc", Long.toString(pid), "status")), "VmRSS");
    } catch (IOException e) {
      return -1;
    }
  }

  static long descriptors(long pid) {
    try (var files = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
      return files.count();
    } catch (IOException e) {
      return -1;
    }
  }
}
