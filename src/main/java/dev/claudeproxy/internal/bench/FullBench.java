package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The whole bench (and {@code --cpu-only}): the simulator, the two proxies, the cluster, nginx and the bare
 * pass-through started side by side, warmed, then the CPU per delta, the added time to first token, memory per open
 * stream, the resumable streams and the streams one HTTP node carries.
 */
final class FullBench {
  private final Bench b;
  private final boolean cpuOnly;

  FullBench(Bench bench, boolean cpuOnly) {
    this.b = bench;
    this.cpuOnly = cpuOnly;
  }

  /** One path of the CPU runs: its url, the processes whose CPU is counted (by name, read at each round), its key. */
  private record CpuPath(String url, Supplier<Map<String, Long>> pids, boolean byProcess, String key) {}

  void run() {
    Ports ports = b.ports;
    ObjectNode results = Rounds.object();
    results.put("date", OffsetDateTime.now(ZoneOffset.UTC).truncatedTo(ChronoUnit.SECONDS)
        .format(DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ssxxx")));
    results.set("machine", Machine.describe());

    Bench.log("starting the simulator, the proxies, the cluster, nginx and the load generator");
    b.loadgen = b.startLoadGenerator("loadgen");
    b.startSimulator();
    Map<String, String> env = new LinkedHashMap<>(b.proxyEnv());
    Process proxy = b.startProxy("proxy", b.jar, with(env, "PROXY_PORT", ports.proxy(), "UPSTREAM_PROTOCOL", "http1",
        "PROXY_USAGE_FILE", b.work.resolve("usage.jsonl")));
    Process proxyH2c = b.startProxy("proxy-h2c", b.jar, with(env, "PROXY_PORT", ports.proxyH2c(),
        "UPSTREAM_PROTOCOL", "h2c", "PROXY_USAGE_FILE", b.work.resolve("usage-h2c.jsonl")));
    // The clustered pair: the worker calls the simulator as the HTTP/2 proxy does, and the HTTP node holds the
    // clients, so the pair against that proxy is the price of the bus between them. Hazelcast takes the next port
    // when its own is busy, which would leave the member list naming another node's port: both are free ones, found
    // here.
    int[] hazelcast = {Processes.freePort(), Processes.freePort()};
    long launched = System.nanoTime();
    Map<String, String> clusterEnv = Processes.env("PROXY_CLUSTER_HOST", "127.0.0.1",
        "PROXY_CLUSTER_NAME", "bench-" + ProcessHandle.current().pid(),
        "PROXY_CLUSTER_MEMBERS", "127.0.0.1:" + hazelcast[0] + ",127.0.0.1:" + hazelcast[1]);
    Process clusterWorker = b.startProxy("cluster-worker", b.jar, with(clusterEnv, "PROXY_ROLE", "worker",
        "PROXY_NODE_ID", "bench-worker", "PROXY_CLUSTER_PORT", hazelcast[1],
        "PROXY_MANAGEMENT_PORT", ports.clusterWorkerManagement(), "ANTHROPIC_API_KEY", "bench-upstream-key",
        "ANTHROPIC_BASE_URL", Ports.url(ports.simulator()), "UPSTREAM_PROTOCOL", "h2c"));
    Process clusterHttp = b.startProxy("cluster-http", b.jar, with(clusterEnv, "PROXY_ROLE", "http",
        "PROXY_NODE_ID", "bench-http", "PROXY_CLUSTER_PORT", hazelcast[0],
        "PROXY_MANAGEMENT_PORT", ports.clusterHttpManagement(), "PROXY_HOST", "127.0.0.1",
        "PROXY_PORT", ports.cluster(), "PROXY_USERS", b.work.resolve("users.json"),
        "PROXY_FORWARD_SIM_HEADERS", "true", "PROXY_USAGE_FILE", b.work.resolve("usage-cluster.jsonl")));
    Process nginx = b.startNginx();
    Process bare = b.startBare();
    for (int port : new int[] {ports.simulator(), ports.proxy(), ports.nginx(), ports.proxyH2c(), ports.bare()}) {
      b.processes.waitPort(port);
    }
    String direct = Ports.url(ports.simulator());
    String viaNginx = Ports.url(ports.nginx());
    String viaProxy = Ports.url(ports.proxy());
    String viaH2c = Ports.url(ports.proxyH2c());
    String viaCluster = Ports.url(ports.cluster());
    String viaBare = Ports.url(ports.bare());
    String httpMeters = Ports.url(ports.clusterHttpManagement());
    String workerMeters = Ports.url(ports.clusterWorkerManagement());
    // The worker's own readiness needs no peer; the HTTP node's needs a worker to answer on the bus, so the pair has
    // joined once it is 200.
    ObjectNode ready = Rounds.object();
    b.processes.waitReady(workerMeters, clusterWorker);
    ready.put("worker", (System.nanoTime() - launched) / 1e9);
    b.processes.waitReady(httpMeters, clusterHttp);
    ready.put("http", (System.nanoTime() - launched) / 1e9);
    ObjectNode cluster = results.putObject("cluster");
    cluster.set("ready_seconds", ready);
    cluster.putArray("hazelcast_ports").add(hazelcast[0]).add(hazelcast[1]);
    Bench.log("cluster ready " + ResultFormat.fixed(ready.get("worker").asDouble(), 1) + " s (worker) and "
        + ResultFormat.fixed(ready.get("http").asDouble(), 1) + " s (HTTP node) after launch");
    Map<String, Long> clusterPids = new LinkedHashMap<>();
    clusterPids.put("http", clusterHttp.pid());
    clusterPids.put("worker", clusterWorker.pid());
    Map<String, String> insideCluster = Map.of("first_token", httpMeters, "first_event", httpMeters,
        "upstream_head", workerMeters);

    // --- Warm-up ---------------------------------------------------------------------------------------------------
    ObjectNode warmup = results.putObject("warmup");
    // The cluster's rounds go on until both nodes have settled.
    warmup.setAll(b.warmUp(viaProxy, Map.of("proxy", proxy), b.key));
    warmup.setAll(b.warmUp(viaH2c, Map.of("proxy-h2c", proxyH2c), b.key));
    Map<String, Process> clusterNodes = new LinkedHashMap<>();
    clusterNodes.put("cluster-http", clusterHttp);
    clusterNodes.put("cluster-worker", clusterWorker);
    warmup.setAll(b.warmUp(viaCluster, clusterNodes, b.key));
    warmup.setAll(b.warmUp(viaBare, Map.of("bare", bare), null));
    for (String url : List.of(viaNginx, direct)) {
      b.loadtest("warmup", url, Bench.warmRounds(b.quick).get(0), null);
    }
    // The load generator was warmed with them: methods it had compiled then, and (below) at the end of the bench.
    var loadgenCompiled = warmup.putObject("loadgen").putArray("compiled_methods");
    loadgenCompiled.add(Processes.compiledMethods(b.loadgen.pid()));
    // Work a process still does with no stream open lands on whichever rounds run beside it, on both cores: the
    // cluster's HTTP node, for one, writes every stream's usage to the cluster-wide map after the stream has ended.
    Map<String, Long> idle = new LinkedHashMap<>();
    idle.put("proxy", proxy.pid());
    idle.put("proxy-h2c", proxyH2c.pid());
    idle.put("cluster-http", clusterHttp.pid());
    idle.put("cluster-worker", clusterWorker.pid());
    idle.put("bare", bare.pid());
    var before = CpuAccounting.snapshot(idle.values());
    Processes.sleep(5);
    var byPid = CpuAccounting.used(before, CpuAccounting.snapshot(idle.values())).byPid();
    ObjectNode idleCpu = results.putObject("idle_cpu_percent");
    idle.forEach((name, pid) -> idleCpu.put(name, byPid.get(pid) * 100 / 5));

    // --- CPU per forwarded delta -----------------------------------------------------------------------------------
    // A burst is over in seconds, so a stray recompilation, collection or neighbour weighs on it: each path first
    // runs the same burst unmeasured, and bursts are measured in seven rounds, the paths taking turns within each;
    // the figures are each path's median round. A paced run needs no rehearsal, but one round of it is no steadier
    // (an A/A run of one jar on a busy machine: 11.1 to 17.9 µs a delta by round): five rounds, the median taken.
    Map<String, Boolean> rehearse = Map.of("paced", false, "burst", true, "per_request", true);
    Map<String, Integer> rounds = Map.of("paced", b.quick ? 1 : 5, "burst", b.quick ? 1 : 7,
        "per_request", b.quick ? 1 : 7);
    // Each shape twice on each path, one run after the other: the simulator writing each event on its own (its
    // SIM_WRITE=event, as Claude's API does: the headline), then packing them (`x-sim-write: batch`, the old shape).
    Map<String, List<String>> writes = new LinkedHashMap<>();
    writes.put("event", List.of());
    writes.put("batch", List.of("-H", "x-sim-write:batch"));
    Map<String, CpuPath> paths = new LinkedHashMap<>();
    paths.put("direct", new CpuPath(direct, Map::of, false, null));
    paths.put("nginx", new CpuPath(viaNginx, () -> Bench.byPid(withChildren(nginx.pid())), false, null));
    paths.put("proxy", new CpuPath(viaProxy, () -> Map.of("proxy", proxy.pid()), false, b.key));
    paths.put("proxy_h2c", new CpuPath(viaH2c, () -> Map.of("proxy_h2c", proxyH2c.pid()), false, b.key));
    paths.put("cluster", new CpuPath(viaCluster, () -> clusterPids, true, b.key));
    paths.put("bare", new CpuPath(viaBare, () -> Map.of("bare", bare.pid()), false, null));
    ObjectNode cpu = results.putObject("cpu");
    for (Map.Entry<String, List<String>> shape : Bench.cpuShapes(b.quick).entrySet()) {
      String name = shape.getKey();
      Bench.log("CPU per delta, " + name);
      Map<String, List<ObjectNode>> runs = new LinkedHashMap<>();
      for (int i = 0; i < rounds.get(name); i++) {
        boolean r = rehearse.get(name) && i == 0;
        for (Map.Entry<String, CpuPath> path : paths.entrySet()) {
          for (Map.Entry<String, List<String>> write : writes.entrySet()) {
            String runName = "cpu-" + name + "-" + path.getKey().replace('_', '-') + "-" + i
                + ("batch".equals(write.getKey()) ? "-batch" : "");
            CpuPath p = path.getValue();
            runs.computeIfAbsent(path.getKey() + "/" + write.getKey(), k -> new ArrayList<>()).add(b.measured(runName,
                p.url(), Bench.concat(shape.getValue(), write.getValue()), p.pids().get(), p.byProcess(), p.key(),
                r));
          }
        }
      }
      ObjectNode byPath = cpu.putObject(name);
      for (String path : paths.keySet()) {
        ObjectNode chosen = Rounds.medianRound(runs.get(path + "/event"));
        chosen.set("batch", Rounds.medianRound(runs.get(path + "/batch")));
        byPath.set(path, chosen);
      }
    }
    if (cpuOnly) {
      Bench.writeJson(b.work.resolve("cpu.json"), results);
      System.out.println(String.join("\n", ResultsMarkdown.cpuLines(results)));
      Bench.log("done: " + b.work + "/cpu.json");
      return;
    }
    Processes.stop(bare);

    // --- Added time to first token ---------------------------------------------------------------------------------
    // Closed loop: n streams open at all times, each five seconds long (100 tokens at 20 a second); the first n (the
    // ramp, with its connection set-up) are run and checked but not timed, so the figures are the steady state at
    // that concurrency: n / 5 new streams a second, each timed to its first token.
    ObjectNode ttft = results.putObject("ttft");
    for (int n : new int[] {100, 1000}) {
      Bench.log("TTFT at " + n + " streams");
      List<String> args = List.of("-c", Integer.toString(n), "-n", Integer.toString(4 * n), "--ramp-up", "2",
          "--warmup", Integer.toString(n), "--verify-tokens", "100", "-H", "x-sim-tokens-per-second:20");
      // Tails move with whatever else the two cores are doing: five rounds, the paths taking turns in each.
      Map<String, List<ObjectNode>> runs = new LinkedHashMap<>();
      for (String path : List.of("direct", "proxy", "proxy_h2c", "cluster")) {
        runs.put(path, new ArrayList<>());
      }
      for (int i = 0; i < (b.quick ? 1 : 5); i++) {
        runs.get("direct").add(b.loadtest("ttft-" + n + "-direct-" + i, direct, args, null));
        runs.get("proxy").add(b.timedInside("ttft-" + n + "-proxy-" + i, viaProxy, args, b.key, Map.of()));
        runs.get("proxy_h2c").add(b.timedInside("ttft-" + n + "-proxy-h2c-" + i, viaH2c, args, b.key, Map.of()));
        runs.get("cluster").add(b.timedInside("ttft-" + n + "-cluster-" + i, viaCluster, args, b.key,
            insideCluster));
      }
      ObjectNode at = ttft.putObject(Integer.toString(n));
      runs.forEach((path, summaries) -> at.set(path, Rounds.medianTtft(summaries)));
    }
    loadgenCompiled.add(Processes.compiledMethods(b.loadgen.pid()));

    // --- Memory per open stream ------------------------------------------------------------------------------------
    List<Integer> steps = b.quick ? List.of(500, 1000) : List.of(1000, 5000, 10000);
    // The HTTP/2 proxy holds one socket per stream (the client's); with HTTP/1.1 upstream it would hold two, and
    // 10,000 streams would not fit a 20,000 open-file limit. The HTTP/1.1 proxy is stopped to free its memory, and
    // nginx with it (its idle connections to the simulator are sockets the simulator holds).
    Processes.stop(proxy);
    Processes.stop(nginx);
    double idleHeap = Processes.heapAfterGcMb(proxyH2c.pid());
    double idleRss = CpuAccounting.rssMb(proxyH2c.pid());
    ObjectNode memoryIdle = results.putObject("memory_idle");
    memoryIdle.put("heap_mb", idleHeap);
    memoryIdle.put("rss_mb", idleRss);
    ObjectNode memory = results.putObject("memory");
    for (int n : steps) {
      Bench.log("memory at " + n + " open streams");
      Bench.HeldStreams held = b.openStreams("memory-" + n, viaH2c, n, b.key, List.of());
      double heap = Processes.heapAfterGcMb(proxyH2c.pid());
      double rss = CpuAccounting.rssMb(proxyH2c.pid());
      ObjectNode summary = held.await();
      ObjectNode m = memory.putObject(Integer.toString(n));
      m.put("heap_mb", heap);
      m.put("rss_mb", rss);
      m.set("summary", summary);
      m.put("heap_kb_per_stream", (heap - idleHeap) * 1024 / n);
      m.put("rss_kb_per_stream", (rss - idleRss) * 1024 / n);
    }

    // --- Resumable streams -----------------------------------------------------------------------------------------
    results.set("resume", new ResumeCosts(b).measure(viaH2c, proxyH2c));

    // --- Streams one HTTP node carries with its workers elsewhere ---------------------------------------------------
    // The same slow streams through the cluster's HTTP node, which holds the clients' sockets, while the worker holds
    // the calls upstream (h2c: a few connections). The HTTP/2 proxy is stopped to free its memory.
    Processes.stop(proxyH2c);
    ObjectNode clusterIdle = results.putObject("memory_cluster_idle");
    clusterPids.forEach((node, pid) -> {
      ObjectNode m = clusterIdle.putObject(node);
      m.put("heap_mb", Processes.heapAfterGcMb(pid));
      m.put("rss_mb", CpuAccounting.rssMb(pid));
    });
    ObjectNode memoryCluster = results.putObject("memory_cluster");
    for (int n : steps) {
      Bench.log("cluster memory at " + n + " open streams");
      Bench.HeldStreams heldStreams = b.openStreams("memory-cluster-" + n, viaCluster, n, b.key, List.of());
      ObjectNode m = memoryCluster.putObject(Integer.toString(n));
      clusterPids.forEach((node, pid) -> {
        ObjectNode held = m.putObject(node);
        held.put("heap_mb", Processes.heapAfterGcMb(pid));
        held.put("rss_mb", CpuAccounting.rssMb(pid));
      });
      clusterPids.keySet().forEach(node -> {
        ObjectNode held = (ObjectNode) m.get(node);
        ObjectNode idleNode = (ObjectNode) clusterIdle.get(node);
        held.put("heap_kb_per_stream", (held.get("heap_mb").asDouble() - idleNode.get("heap_mb").asDouble()) * 1024
            / n);
        held.put("rss_kb_per_stream", (held.get("rss_mb").asDouble() - idleNode.get("rss_mb").asDouble()) * 1024
            / n);
      });
      m.set("summary", heldStreams.await());
    }

    // --- Held streams at scale: one process, then the machine through a cluster ----------------------------------
    // What else runs is stopped first: the holds want the machine's memory and descriptors.
    Processes.stop(clusterHttp);
    Processes.stop(clusterWorker);
    Processes.stop(bare);
    results.set("hold", new Holds(b).measure());

    Bench.writeJson(b.work.resolve("results.json"), results);
    ResultsMarkdown.write(b.root.resolve("bench").resolve("results.md"), results, b.quick);
    Bench.log("done: bench/results.md, " + b.work + "/results.json and the HTML reports in " + b.work);
  }

  private static List<Long> withChildren(long pid) {
    List<Long> pids = new ArrayList<>(List.of(pid));
    pids.addAll(Processes.children(pid));
    return pids;
  }

  /** A copy of env with more variables, given as name, value, name, value... (values as strings). */
  static Map<String, String> with(Map<String, String> env, Object... more) {
    Map<String, String> out = new LinkedHashMap<>(env);
    for (int i = 0; i < more.length; i += 2) {
      out.put((String) more[i], String.valueOf(more[i + 1]));
    }
    return out;
  }
}
