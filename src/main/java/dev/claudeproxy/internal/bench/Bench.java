package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What every part of the bench shares: where it writes, its ports, its processes and its load generator, and the
 * runs: a load test, a measured one (with the CPU of given processes), the warm-up, slow streams held open.
 */
final class Bench {
  /**
   * The load generator and the simulator stand in for clients and for Claude, which run on other machines than the
   * proxy. Here they share two cores with it, so they run as batch tasks (SCHED_BATCH, same share of the CPU, but
   * their wake-ups do not preempt a running thread).
   */
  static final List<String> APPARATUS = Processes.onPath("chrt") ? List.of("chrt", "--batch", "0") : List.of();

  static final List<String> LOADGEN_JVM = List.of("java", "-Xmx3g");

  /**
   * The proxies run with a fixed heap, as the README advises for many streams: G1 then sizes its young generation from
   * the whole heap, and collects about once a minute at 1,000 streams instead of every five or six seconds. Each young
   * pause (about 16 ms here, copying the state of the open streams) holds up the first tokens due during it.
   */
  static final List<String> PROXY_JVM = List.of("java", "-Xms3g", "-Xmx3g");

  /** Resume cost: streams of 50 tokens at 100 a second, so a cut mostly falls while the upstream still sends. */
  static final List<String> RESUME_SHAPE = List.of("-c", "200", "--verify-tokens", "50",
      "-H", "x-sim-tokens-per-second:100");

  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss");

  static final ObjectMapper JSON = new ObjectMapper();

  final Path root;
  final Path work;
  final Path jar;
  final Ports ports;
  final boolean quick;
  final Processes processes;
  final String key;
  /** The load generator every run goes to. */
  LoadGeneratorProcess loadgen;

  Bench(Path root, Ports ports, boolean quick, Processes processes, String key) {
    this.root = root;
    this.work = root.resolve("target").resolve("bench");
    this.jar = root.resolve("target").resolve("claude-stream-proxy-server.jar");
    this.ports = ports;
    this.quick = quick;
    this.processes = processes;
    this.key = key;
  }

  static void log(String msg) {
    System.out.println("[bench " + LocalTime.now().format(CLOCK) + "] " + msg);
    System.out.flush();
  }

  static List<String> concat(List<String> a, List<String> b) {
    List<String> out = new ArrayList<>(a);
    out.addAll(b);
    return out;
  }

  @SafeVarargs
  static List<String> concat(List<String> a, List<String> b, List<String>... more) {
    List<String> out = concat(a, b);
    for (List<String> m : more) {
      out.addAll(m);
    }
    return out;
  }

  /** A load-generator JVM, a batch task on the proxy's jar, fed runs on its standard input. */
  LoadGeneratorProcess startLoadGenerator(String name) {
    return new LoadGeneratorProcess(processes, work, name, concat(APPARATUS, LOADGEN_JVM,
        List.of("-jar", jar.toString(), "loadtest", "--runs-from-stdin")));
  }

  Process startSimulator() {
    return processes.start("simulator", concat(APPARATUS, List.of("java", "-Xmx3g", "-jar", jar.toString(),
        "simulate")), Processes.env("SIM_PORT", Integer.toString(ports.simulator()), "SIM_TTFT_MS", "0",
        "SIM_JITTER", "0", "SIM_TOKENS_PER_SECOND", "50", "SIM_OUTPUT_TOKENS", "100", "SIM_WRITE", "event"));
  }

  /**
   * The floor: a bare Vert.x pass-through on the proxy's jar (same Vert.x and Netty) and JVM flags, HTTP/2 upstream.
   */
  Process startBare() {
    return processes.start("bare", concat(PROXY_JVM, List.of("-cp", jar.toString(),
        root.resolve("bench").resolve("BarePassThrough.java").toString(), Integer.toString(ports.bare()),
        Integer.toString(ports.simulator()), "h2c")), Map.of());
  }

  /** The environment of a single-process proxy in front of the simulator. */
  Map<String, String> proxyEnv() {
    return Processes.env("ANTHROPIC_API_KEY", "bench-upstream-key",
        "ANTHROPIC_BASE_URL", Ports.url(ports.simulator()), "PROXY_HOST", "127.0.0.1",
        "PROXY_USERS", work.resolve("users.json").toString(), "PROXY_FORWARD_SIM_HEADERS", "true");
  }

  Process startProxy(String name, Path jarFile, Map<String, String> env) {
    return processes.start(name, concat(PROXY_JVM, List.of("-jar", jarFile.toString(), "serve")), env);
  }

  Process startNginx() {
    return processes.start("nginx", List.of("nginx", "-c", Nginx.writeConf(work, ports).toString(), "-g",
        "daemon off;"), Map.of());
  }

  /** Runs one load test on the bench's load generator and returns its summary. */
  ObjectNode loadtest(String name, String url, List<String> args, String key) {
    return loadgen.submit(name, url, args, key).await();
  }

  /**
   * A run whose CPU is counted over processes, by name: with more than one name (or {@code byProcess}) each one's
   * share is recorded too ({@code cpu_us_per_delta_by_process}).
   */
  ObjectNode measured(String name, String url, List<String> args, Map<String, Long> pids, boolean byProcess,
      String key, boolean rehearse) {
    if (rehearse) {
      loadtest(name + "-rehearsal", url, args, key);
    }
    var before = CpuAccounting.snapshot(pids.values());
    ObjectNode summary = loadtest(name, url, args, key);
    CpuAccounting.Used used = CpuAccounting.used(before, CpuAccounting.snapshot(pids.values()));
    long deltas = summary.path("deltas").asLong();
    summary.put("cpu_seconds", used.seconds());
    summary.put("cpu_counted_by", used.countedBy());
    summary.put("cpu_us_per_delta", perDelta(used.seconds(), deltas));
    if (byProcess) {
      ObjectNode seconds = summary.putObject("cpu_seconds_by_process");
      ObjectNode us = summary.putObject("cpu_us_per_delta_by_process");
      pids.forEach((process, pid) -> {
        seconds.put(process, used.byPid().get(pid));
        us.put(process, perDelta(used.byPid().get(pid), deltas));
      });
    }
    return summary;
  }

  static double perDelta(double seconds, long deltas) {
    return deltas != 0 ? seconds * 1e6 / deltas : Double.NaN;
  }

  /** Pids by name, for {@link #measured}: a list of them named by pid. */
  static Map<String, Long> byPid(List<Long> pids) {
    Map<String, Long> m = new LinkedHashMap<>();
    pids.forEach(p -> m.put(Long.toString(p), p));
    return m;
  }

  /** The warm-up's runs, one of each shape the bench measures. */
  static List<List<String>> warmRounds(boolean quick) {
    return List.of(
        List.of("-c", "300", "-n", quick ? "600" : "6000", "--verify-tokens", "50", "-H", "x-sim-tokens-per-second:0"),
        List.of("-c", "500", "-n", quick ? "500" : "2500", "--verify-tokens", "100",
            "-H", "x-sim-tokens-per-second:50"),
        List.of("-c", "100", "-n", quick ? "400" : "4000", "--verify-tokens", "1", "-H", "x-sim-tokens-per-second:0"),
        // The measured burst's own shape, so that C2 has compiled for it before the rounds (in one trial it spent
        // 0.37 s compiling in the first such burst, against 0.88 s of the proxy's CPU). The first measured round is
        // still the dearest, so that is not all of it: the median round is reported.
        List.of("-c", "100", "-n", quick ? "200" : "2000", "--verify-tokens", "200",
            "-H", "x-sim-tokens-per-second:0"));
  }

  /** The load of each CPU measurement, by name. */
  static Map<String, List<String>> cpuShapes(boolean quick) {
    Map<String, List<String>> shapes = new LinkedHashMap<>();
    shapes.put("paced", List.of("-c", quick ? "200" : "1000", "-n", quick ? "400" : "4000", "--ramp-up", "2",
        "--verify-tokens", "100", "-H", "x-sim-tokens-per-second:50"));
    shapes.put("burst", List.of("-c", "100", "-n", quick ? "200" : "8000", "--verify-tokens", "200",
        "-H", "x-sim-tokens-per-second:0"));
    // The cost of a request itself: streams of one delta, 200 at a time, as fast as they go.
    shapes.put("per_request", List.of("-c", "200", "-n", quick ? "1000" : "10000", "--verify-tokens", "1",
        "-H", "x-sim-tokens-per-second:0"));
    return shapes;
  }

  /**
   * Warms the processes (by name) behind url in rounds until their JIT compilers have settled (a round compiles fewer
   * than 2 % new methods, or 50); returns each one's methods compiled after each round and CPU.
   */
  ObjectNode warmUp(String url, Map<String, Process> warmed, String key) {
    Map<String, List<Long>> history = new LinkedHashMap<>();
    warmed.forEach((name, p) -> history.put(name, new ArrayList<>(List.of(Processes.compiledMethods(p.pid())))));
    for (int round = 0; round < (quick ? 1 : 8); round++) {
      for (List<String> args : warmRounds(quick)) {
        loadtest("warmup", url, args, key);
      }
      for (Map.Entry<String, Process> e : warmed.entrySet()) {
        List<Long> h = history.get(e.getKey());
        h.add(Processes.compiledMethods(e.getValue().pid()));
        log("warm-up " + e.getKey() + " round " + (round + 1) + ": " + h.get(h.size() - 1) + " methods compiled");
      }
      if (history.values().stream().allMatch(Bench::settled)) {
        break;
      }
    }
    ObjectNode out = Rounds.object();
    warmed.forEach((name, p) -> {
      ObjectNode w = out.putObject(name);
      history.get(name).forEach(w.putArray("compiled_methods")::add);
      w.put("cpu_seconds", CpuAccounting.cpuSeconds(List.of(p.pid())));
    });
    return out;
  }

  static boolean settled(List<Long> h) {
    long last = h.get(h.size() - 1);
    long previous = h.get(h.size() - 2);
    return last - previous < Math.max(50, previous / 50);
  }

  /**
   * Opens n slow streams through url (one token a second, each lasting its ramp and 20 s more), with {@code extra}
   * load generator options; returns once they are all open. The load generator spreads them over processes of its
   * own ({@code loadtest --processes}) when one could not hold them all (a process may hold 20,000 open files).
   */
  HeldStreams openStreams(String name, String url, int n, String key, List<String> extra) {
    int ramp = Math.max(2, n / 1000);
    int hold = ramp + 20;
    LoadGeneratorProcess.Pending pending = loadgen.submit(name, url, concat(List.of("-c", Integer.toString(n), "-n",
        Integer.toString(n), "--processes", Integer.toString(loadProcesses(n)), "--ramp-up", Integer.toString(ramp),
        "-H", "x-sim-tokens-per-second:1", "-H", "x-sim-output-tokens:" + hold), extra), key);
    Processes.sleep(ramp + 6);
    return new HeldStreams(pending);
  }

  /** Load-generator processes for n streams held at once: one for each 17,000, leaving room for the JVM's own. */
  static int loadProcesses(int n) {
    return Math.max(1, (n + 16_999) / 17_000);
  }

  /** Slow streams held open; {@link #await()} is their summary once over. */
  record HeldStreams(LoadGeneratorProcess.Pending pending) {
    ObjectNode await() {
      return pending.await();
    }
  }

  /** The first-token round through a proxy, with what the proxy's own meters saw of it (read at each meter's url). */
  ObjectNode timedInside(String name, String url, List<String> args, String key, Map<String, String> metersAt) {
    Map<String, Map<Double, Double>> before = new LinkedHashMap<>();
    for (String meter : Meters.INSIDE.keySet()) {
      before.put(meter, Meters.histogramAt(metersAt.getOrDefault(meter, url), meter));
    }
    ObjectNode summary = loadtest(name, url, args, key);
    ObjectNode inside = summary.putObject("inside_ms");
    for (String meter : Meters.INSIDE.keySet()) {
      inside.set(meter, Meters.bucketQuantilesMs(before.get(meter),
          Meters.histogramAt(metersAt.getOrDefault(meter, url), meter)));
    }
    return summary;
  }

  /** Writes JSON as Python's {@code json.dumps(indent=2)} lays it out. */
  static void writeJson(Path file, JsonNode value) {
    DefaultPrettyPrinter pretty = new DefaultPrettyPrinter(Separators.createDefaultInstance()
        .withObjectFieldValueSpacing(Separators.Spacing.AFTER).withObjectEmptySeparator("")
        .withArrayEmptySeparator(""))
        .withObjectIndenter(new DefaultIndenter("  ", "\n")).withArrayIndenter(new DefaultIndenter("  ", "\n"));
    try {
      // NaN bare, as Python writes it (and reads it back as a number).
      Files.writeString(file, JSON.writer(pretty).without(JsonWriteFeature.WRITE_NAN_AS_STRINGS)
          .writeValueAsString(value));
    } catch (IOException e) {
      throw new BenchException("cannot write " + file + ": " + e);
    }
  }
}
