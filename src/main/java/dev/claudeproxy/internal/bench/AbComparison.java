package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * {@code --ab A.jar B.jar}: two HTTP/2-upstream proxies from two builds, side by side on one simulator, warmed alike,
 * then measured in rounds on one shape, with nginx and the bare pass-through in every round, the order reversed every
 * other round (nginx, A, B, bare; then bare, B, A, nginx). Two proxies from the same jar measure a few percent apart
 * for their whole lives (item 23 of bench/analysis.md), so an A/B is run both ways round, the second time with the
 * jars swapped, and the geometric mean of the two B/A figures taken. Writes target/bench/ab.json.
 */
final class AbComparison {
  private static final List<String> PATHS = List.of("nginx", "A", "B", "bare");

  private final Bench b;
  private final List<String> jars;
  private final String shape;
  private final String write;
  private final int rounds;

  AbComparison(Bench bench, List<String> jars, String shape, String write, int rounds) {
    this.b = bench;
    this.jars = jars;
    this.shape = shape;
    this.write = write;
    this.rounds = rounds;
  }

  /** The load averages over 1, 5 and 15 minutes ({@code os.getloadavg()}). */
  static double[] loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2])};
    } catch (IOException e) {
      return new double[] {Double.NaN, Double.NaN, Double.NaN};
    }
  }

  void run() {
    List<double[]> load = new ArrayList<>();
    load.add(loadAverage());
    b.loadgen = b.startLoadGenerator("loadgen");
    b.startSimulator();
    Process nginx = b.startNginx();
    Process bare = b.startBare();
    Map<String, String> env = FullBench.with(b.proxyEnv(), "UPSTREAM_PROTOCOL", "h2c");
    Map<String, Process> proxies = new LinkedHashMap<>();
    proxies.put("A", b.startProxy("ab-A", Path.of(jars.get(0)).toAbsolutePath().normalize(), FullBench.with(env,
        "PROXY_PORT", b.ports.proxy(), "PROXY_USAGE_FILE", b.work.resolve("usage-ab-A.jsonl"))));
    proxies.put("B", b.startProxy("ab-B", Path.of(jars.get(1)).toAbsolutePath().normalize(), FullBench.with(env,
        "PROXY_PORT", b.ports.proxyH2c(), "PROXY_USAGE_FILE", b.work.resolve("usage-ab-B.jsonl"))));
    for (int port : new int[] {b.ports.simulator(), b.ports.nginx(), b.ports.bare(), b.ports.proxy(),
        b.ports.proxyH2c()}) {
      b.processes.waitPort(port);
    }
    Map<String, String> urls = new LinkedHashMap<>();
    urls.put("nginx", Ports.url(b.ports.nginx()));
    urls.put("bare", Ports.url(b.ports.bare()));
    urls.put("A", Ports.url(b.ports.proxy()));
    urls.put("B", Ports.url(b.ports.proxyH2c()));
    ObjectNode out = Rounds.object();
    ObjectNode jarNames = out.putObject("jars");
    jarNames.put("A", jars.get(0));
    jarNames.put("B", jars.get(1));
    out.put("shape", shape);
    ObjectNode warmup = out.putObject("warmup");
    for (String label : List.of("A", "B")) {
      warmup.setAll(b.warmUp(urls.get(label), Map.of(label, proxies.get(label)), b.key));
    }
    warmup.setAll(b.warmUp(urls.get("bare"), Map.of("bare", bare), null));
    b.loadtest("warmup", urls.get("nginx"), Bench.warmRounds(b.quick).get(0), null);
    List<String> args = Bench.concat(Bench.cpuShapes(b.quick).get(shape),
        "batch".equals(write) ? List.of("-H", "x-sim-write:batch") : List.of());
    Map<String, Supplier<Map<String, Long>>> pids = new LinkedHashMap<>();
    pids.put("nginx", () -> {
      List<Long> all = new ArrayList<>(List.of(nginx.pid()));
      all.addAll(Processes.children(nginx.pid()));
      return Bench.byPid(all);
    });
    pids.put("bare", () -> Map.of("bare", bare.pid()));
    pids.put("A", () -> Map.of("A", proxies.get("A").pid()));
    pids.put("B", () -> Map.of("B", proxies.get("B").pid()));
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("nginx", null);
    keys.put("bare", null);
    keys.put("A", b.key);
    keys.put("B", b.key);
    Map<String, List<ObjectNode>> runs = new LinkedHashMap<>();
    urls.keySet().forEach(path -> runs.put(path, new ArrayList<>()));
    load.add(loadAverage());
    for (int i = 0; i < rounds; i++) {
      List<String> order = i % 2 == 0 ? PATHS : List.of("bare", "B", "A", "nginx");
      for (String path : order) {
        runs.get(path).add(b.measured("ab-" + path + "-" + i, urls.get(path), args, pids.get(path).get(), false,
            keys.get(path), i == 0));
      }
      List<String> figures = new ArrayList<>();
      for (String p : urls.keySet()) {
        List<ObjectNode> r = runs.get(p);
        figures.add(p + " " + ResultFormat.f2(r.get(r.size() - 1).get("cpu_us_per_delta").asDouble()));
      }
      Bench.log("round " + (i + 1) + ": " + String.join(", ", figures));
    }
    load.add(loadAverage());
    Map<String, List<Double>> per = new LinkedHashMap<>();
    Map<String, Double> med = new LinkedHashMap<>();
    runs.forEach((path, summaries) -> {
      per.put(path, summaries.stream().map(s -> s.get("cpu_us_per_delta").asDouble()).toList());
      med.put(path, Rounds.medianOf(per.get(path)));
    });
    List<Double> byRound = new ArrayList<>();
    for (int i = 0; i < rounds; i++) {
      byRound.add(per.get("B").get(i) / per.get("A").get(i));
    }
    double product = byRound.stream().reduce(1.0, (x, y) -> x * y);
    double geomean = Math.pow(product, 1.0 / byRound.size());
    ObjectNode roundsUs = out.putObject("rounds_us");
    per.forEach((path, v) -> v.forEach(roundsUs.withArray(path)::add));
    ObjectNode medianUs = out.putObject("median_us");
    med.forEach(medianUs::put);
    byRound.forEach(out.putArray("b_over_a_by_round")::add);
    out.put("b_over_a_median", med.get("B") / med.get("A"));
    out.put("b_over_a_geomean", geomean);
    ObjectNode errors = out.putObject("errors");
    runs.forEach((path, summaries) -> errors.put(path, summaries.stream()
        .mapToLong(s -> s.path("streams").path("failed").asLong()).sum()));
    ArrayNode loadAverage = out.putArray("load_average");
    for (double[] l : load) {
      ArrayNode a = loadAverage.addArray();
      for (double x : l) {
        a.add(x);
      }
    }
    Bench.writeJson(b.work.resolve("ab.json"), out);
    String unit = "per_request".equals(shape) ? "stream" : "delta";
    System.out.println("A/B, " + shape + " (" + write + " writes), " + rounds + " rounds; CPU µs per " + unit
        + " by round:");
    for (String path : urls.keySet()) {
      System.out.println("  " + String.format("%-5s", path) + " " + String.join(" / ", per.get(path).stream()
          .map(ResultFormat::f2).toList()) + "   median " + ResultFormat.f2(med.get(path))
          + ("nginx".equals(path) ? "" : "   / nginx " + ResultFormat.f2(med.get(path) / med.get("nginx")) + "x"));
    }
    System.out.println("B/A: median " + ResultFormat.fixed(med.get("B") / med.get("A"), 3) + ", geometric mean of the rounds "
        + ResultFormat.fixed(geomean, 3) + " (by round " + String.join(" / ", byRound.stream().map(x -> ResultFormat.fixed(x, 3))
        .toList()) + "); failed streams " + pyDict(errors));
    List<String> loads = new ArrayList<>();
    for (double[] l : load) {
      loads.add(ResultFormat.f2(l[0]) + " " + ResultFormat.f2(l[1]) + " " + ResultFormat.f2(l[2]));
    }
    System.out.println("load average (1, 5, 15 min) at start, after the warm-up, at the end: "
        + String.join("; ", loads));
    Bench.log("done: " + b.work + "/ab.json");
  }

  /** A dict as Python prints it: {'nginx': 0, 'bare': 0}. */
  static String pyDict(ObjectNode o) {
    List<String> items = new ArrayList<>();
    o.fields().forEachRemaining(e -> items.add("'" + e.getKey() + "': " + ResultFormat.str(e.getValue())));
    return "{" + String.join(", ", items) + "}";
  }
}
