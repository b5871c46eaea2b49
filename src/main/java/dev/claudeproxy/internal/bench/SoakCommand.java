package dev.claudeproxy.internal.bench;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code soak}: a million streams through one proxy, checked one by one, with the proxy's live heap, descriptors and
 * RSS sampled throughout and compared from the first minute to the end, and Netty's leak detector watched.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
    description = {"Soak: starts the simulator and one proxy (HTTP/2 upstream, fixed heap) on SOAK_PORT_BASE"
        + " (default 29700) and the next port, runs the load generator (loadtest --runs-from-stdin) for --streams"
        + " streams in --chunks chunks of one run a shape (short streams, and shares of longer paced ones, of such"
        + " ones resumable and cut and resumed, of such ones cancelled, of short ones the upstream breaks, and of"
        + " /v1/chat ones), every stream checked"
        + " against the simulator's plan (--verify-tokens), and samples the proxy every --sample-seconds: a full GC"
        + " (jcmd GC.class_histogram) and the live heap it leaves, descriptors (/proc/<pid>/fd), RSS and its /metrics;"
        + " and, idle, at the end of each chunk.",
        "Fails (exit 1) on any failed or mismatched stream, a cut stream not resumed, a broken one not ended with its"
            + " error, a live heap at the end beyond"
            + " ±--heap-tolerance % of the first minute's (both idle, after a full GC), descriptors at the end beyond"
            + " ±--fd-slack of the first minute's (idle), or any LEAK line of Netty's leak detector in the proxy's"
            + " output (--paranoid: the detector on paranoid, a shorter run by default).",
        "Writes target/bench/soak.json (soak-paranoid.json with --paranoid) and prints a markdown section."})
public final class SoakCommand implements Callable<Integer> {
  private static final Path WORK = Path.of("target", "bench");
  /**
   * How long a resumable stream stays readable after its end, in the soak's proxy ({@code PROXY_RESUME_TTL_MS}; 5 min
   * by default): short, so that the replay logs of a run's resumed streams are let go before its idle sample, which
   * then shows whether they were.
   */
  static final long RESUME_TTL_MS = 5_000;

  @Option(names = {"-n", "--streams"}, description = "Streams in all (default: 1,000,000; 50,000 with --paranoid).")
  Long streams;

  @Option(names = {"-c", "--concurrency"}, description = "Streams open at once (default: ${DEFAULT-VALUE}).")
  int concurrency = 200;

  @Option(names = "--chunks", description = "Load-generator runs the streams are split into; the proxy is sampled"
      + " idle (no stream open, after a full GC) at the end of each (default: ${DEFAULT-VALUE}).")
  int chunks = 20;

  @Option(names = "--sample-seconds", description = "Seconds between samples under load (default: ${DEFAULT-VALUE}).")
  int sampleSeconds = 60;

  @Option(names = "--short-tokens", description = "Tokens of a short stream, sent at once (default: ${DEFAULT-VALUE}).")
  int shortTokens = 5;

  @Option(names = "--long-tokens", description = "Tokens of a longer stream (default: ${DEFAULT-VALUE}).")
  int longTokens = 100;

  @Option(names = "--long-tokens-per-second", description = "Pace of a longer stream (default: ${DEFAULT-VALUE}).")
  int longRate = 100;

  @Option(names = "--long-percent", description = "Share of longer streams, in % (default: ${DEFAULT-VALUE}).")
  double longPercent = 2;

  @Option(names = "--resumed-percent", description = "Share of streams asked resumable, each cut after a random"
      + " number of its events and resumed from there (the load generator's --cut-and-resume), longer paced ones (so"
      + " that most are cut while the stream goes on), in % (default: ${DEFAULT-VALUE}).")
  double resumedPercent = 2;

  @Option(names = "--cancelled-percent", description = "Share of streams cut after a random number of their events"
      + " and not resumed, the client gone (the load generator's --cancel), longer paced ones, in %"
      + " (default: ${DEFAULT-VALUE}).")
  double cancelledPercent = 2;

  @Option(names = "--failed-percent", description = "Share of short streams the simulator breaks after their third"
      + " delta, half with an error event (midstream_error), half by cutting the connection (disconnect), in %"
      + " (default: ${DEFAULT-VALUE}); each must end with the error the proxy owes its client.")
  double failedPercent = 2;

  @Option(names = "--chat-percent", description = "Share of short streams on the browser endpoint, /v1/chat, in %"
      + " (default: ${DEFAULT-VALUE}).")
  double chatPercent = 2;

  @Option(names = "--paranoid", description = "Run the proxy with -Dio.netty.leakDetection.level=paranoid.")
  boolean paranoid;

  @Option(names = "--heap-tolerance", description = "Allowed change of the idle live heap, first minute to the end,"
      + " in % (default: ${DEFAULT-VALUE}).")
  double heapTolerance = 5;

  @Option(names = "--fd-slack", description = "Allowed change of the idle descriptor count (default:"
      + " ${DEFAULT-VALUE}).")
  int fdSlack = 8;

  @Option(names = "--max-minutes", description = "Start no further run after this many minutes: the soak then ends"
      + " early, judged on the streams it ran (default: no limit).")
  Double maxMinutes;

  @Option(names = "--json", description = "Result file (default: target/bench/soak.json, or soak-paranoid.json).")
  Path json;

  @Override
  public Integer call() throws Exception {
    long total = streams != null ? streams : paranoid ? 50_000 : 1_000_000;
    if (total < chunks || chunks < 1 || concurrency < 1 || sampleSeconds < 1) {
      System.err.println("--streams must be at least --chunks, and --chunks, --concurrency and --sample-seconds"
          + " positive");
      return 2;
    }
    if (longPercent < 0 || resumedPercent < 0 || cancelledPercent < 0 || failedPercent < 0 || chatPercent < 0
        || longPercent + resumedPercent + cancelledPercent + failedPercent + chatPercent > 100) {
      System.err.println("--long-percent, --resumed-percent, --cancelled-percent, --failed-percent and --chat-percent"
          + " must be at least 0 and add up to at most 100");
      return 2;
    }
    String name = paranoid ? "soak-paranoid" : "soak";
    Path out = json != null ? json : WORK.resolve(name + ".json");
    Files.createDirectories(WORK);
    int base = Integer.parseInt(System.getenv().getOrDefault("SOAK_PORT_BASE", "29700"));
    int simPort = base;
    int proxyPort = base + 1;
    for (int port : new int[] {simPort, proxyPort}) {
      if (Processes.listening(port)) {
        System.err.println("port " + port + " is in use by another process; set SOAK_PORT_BASE to another base");
        return 2;
      }
    }
    String jar = Path.of(SoakCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    String java = SoakProcesses.java();
    List<String> apparatus = Files.isExecutable(Path.of("/usr/bin/chrt")) || Files.isExecutable(Path.of("/bin/chrt"))
        ? List.of("chrt", "--batch", "0") : List.of();

    JsonObject result = new JsonObject()
        .put("date", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString())
        .put("commit", git("rev-parse", "--short", "HEAD")).put("paranoid", paranoid)
        .put("settings", new JsonObject().put("streams", total).put("concurrency", concurrency).put("chunks", chunks)
            .put("sample_seconds", sampleSeconds).put("short_tokens", shortTokens).put("long_tokens", longTokens)
            .put("long_tokens_per_second", longRate).put("long_percent", longPercent)
            .put("resumed_percent", resumedPercent).put("cancelled_percent", cancelledPercent)
            .put("failed_percent", failedPercent)
            .put("chat_percent", chatPercent)
            .put("resume_ttl_ms", RESUME_TTL_MS)
            .put("heap_tolerance_percent", heapTolerance).put("fd_slack", fdSlack)
            .put("proxy_jvm", "-Xms3g -Xmx3g" + (paranoid ? " -Dio.netty.leakDetection.level=paranoid" : ""))
            .put("upstream_protocol", "h2c").put("simulator_write", "event")
            .put("apparatus", String.join(" ", apparatus)))
        .put("machine", new JsonObject().put("cores", Runtime.getRuntime().availableProcessors())
            .put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.version")));

    try (SoakProcesses procs = new SoakProcesses()) {
      Path users = WORK.resolve(name + "-users.json");
      Files.deleteIfExists(users);
      Path usage = WORK.resolve(name + "-usage.jsonl");
      Files.deleteIfExists(usage);
      String key = createKey(java, jar, users);

      log("starting the simulator on " + simPort + " and the proxy on " + proxyPort);
      List<String> sim = new ArrayList<>(apparatus);
      sim.addAll(List.of(java, "-Xmx3g", "-jar", jar, "simulate"));
      // The cancelled shape resets about 1,000 upstream streams a chunk over a few HTTP/2 connections: past the
      // rapid-reset guard of a Netty-based server (200 a connection in 30 s, the simulator's default), which would
      // close the connections and fail the other streams on them. The soak is about the proxy's memory over many
      // cancels, so its simulator allows them (bench/analysis.md, "Soak").
      procs.start(sim, Map.of("SIM_PORT", Integer.toString(simPort), "SIM_TTFT_MS", "0", "SIM_JITTER", "0",
          "SIM_TOKENS_PER_SECOND", "50", "SIM_OUTPUT_TOKENS", "100", "SIM_WRITE", "event",
          "SIM_H2_RESET_LIMIT", Integer.toString(Integer.MAX_VALUE)),
          WORK.resolve(name + "-simulator.log"), null);
      List<String> proxyCmd = new ArrayList<>(List.of(java, "-Xms3g", "-Xmx3g"));
      if (paranoid) {
        proxyCmd.add("-Dio.netty.leakDetection.level=paranoid");
      }
      proxyCmd.addAll(List.of("-jar", jar, "serve"));
      Path proxyLog = WORK.resolve(name + "-proxy.log");
      Path accessLog = WORK.resolve(name + "-proxy-access.log");
      Map<String, String> proxyEnv = new LinkedHashMap<>();
      proxyEnv.put("ANTHROPIC_API_KEY", "soak-upstream-key");
      proxyEnv.put("ANTHROPIC_BASE_URL", "http://127.0.0.1:" + simPort);
      proxyEnv.put("PROXY_HOST", "127.0.0.1");
      proxyEnv.put("PROXY_PORT", Integer.toString(proxyPort));
      proxyEnv.put("PROXY_USERS", users.toString());
      proxyEnv.put("PROXY_USAGE_FILE", usage.toString());
      proxyEnv.put("PROXY_FORWARD_SIM_HEADERS", "true");
      proxyEnv.put("UPSTREAM_PROTOCOL", "h2c");
      proxyEnv.put("PROXY_RESUME_TTL_MS", Long.toString(RESUME_TTL_MS));
      Process proxy = procs.start(proxyCmd, proxyEnv, accessLog, proxyLog);
      String url = "http://127.0.0.1:" + proxyPort;
      Processes waits = new Processes(WORK);
      waits.waitReady(url, proxy);
      waits.waitPort(simPort);
      SoakProbe probe = new SoakProbe(proxy.pid(), URI.create(url + "/metrics"), simPort, WORK);

      List<String> loadCmd = new ArrayList<>(apparatus);
      loadCmd.addAll(List.of(java, "-Xmx3g", "-jar", jar, "loadtest", "--runs-from-stdin"));
      Process loadgen = procs.start(loadCmd, Map.of(), null, WORK.resolve(name + "-loadgen.log"));
      PrintWriter toLoadgen = new PrintWriter(new OutputStreamWriter(loadgen.getOutputStream(),
          StandardCharsets.UTF_8), true);
      BufferedReader fromLoadgen = new BufferedReader(new InputStreamReader(loadgen.getInputStream(),
          StandardCharsets.UTF_8));

      JsonArray samples = new JsonArray();
      long started = System.nanoTime();
      Object sampling = new Object();
      Sampler sampler = (phase, chunk) -> {
        synchronized (sampling) {
          JsonObject s = probe.sample().put("phase", phase).put("chunk", chunk)
              .put("t_s", Math.round((System.nanoTime() - started) / 1e8) / 10.0);
          synchronized (samples) {
            samples.add(s);
          }
          return s;
        }
      };
      JsonObject before = sampler.take("before", 0);
      List<String> firstHistogram = null;
      List<SoakParse.Histogram> idleHistograms = new ArrayList<>();
      log(String.format(Locale.ROOT, "before any stream: live heap %.1f MB, %d descriptors, RSS %d MB",
          before.getLong("heap_live_bytes") / 1e6, before.getLong("fds"), before.getLong("rss_kb") / 1024));

      int[] current = {0};
      ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "soak-sampler");
        t.setDaemon(true);
        return t;
      });
      timer.scheduleWithFixedDelay(() -> {
        try {
          sampler.take("load", current[0]);
        } catch (Exception e) {
          log("a sample failed: " + e);
        }
      }, sampleSeconds, sampleSeconds, TimeUnit.SECONDS);

      // The shapes, each run as its own load-generator run in every chunk: short streams on /v1/messages (the rest),
      // longer paced ones, such ones resumable, cut and resumed (paced, so that most cuts fall while the upstream
      // still sends: the stream is detached, then resumed live), such ones cut for good (the client gone: the
      // upstream call is cancelled), short ones the upstream breaks (with an error event, or by cutting the
      // connection: each must end with the error), and short ones on /v1/chat.
      List<Shape> shapes = List.of(new Shape("short", 0, false, List.of(), null),
          new Shape("long", longPercent, true, List.of(), null),
          new Shape("resumed", resumedPercent, true, List.of("--cut-and-resume"), null),
          new Shape("cancelled", cancelledPercent, true, List.of("--cancel"), null),
          new Shape("upstream_error", failedPercent / 2, false, List.of("-H", "x-sim-scenario:midstream_error"),
              "stream_error:overloaded_error"),
          new Shape("upstream_cut", failedPercent / 2, false, List.of("-H", "x-sim-scenario:disconnect"),
              "stream_error:api_error"),
          new Shape("chat", chatPercent, false, List.of("--endpoint", "chat"), null));
      long[] shapeTotals = new long[shapes.size()];
      shapeTotals[0] = total;
      for (int k = 1; k < shapes.size(); k++) {
        shapeTotals[k] = Math.round(total * shapes.get(k).percent() / 100);
        shapeTotals[0] -= shapeTotals[k];
      }
      boolean resuming = false;
      for (int k = 0; k < shapes.size(); k++) {
        resuming |= shapeTotals[k] > 0 && shapes.get(k).options().contains("--cut-and-resume");
      }
      Totals totals = new Totals();
      JsonArray runs = new JsonArray();
      long submitted = 0;
      int chunksRun = 0;
      try {
        for (int chunk = 1; chunk <= chunks; chunk++) {
          if (maxMinutes != null && System.nanoTime() - started > maxMinutes * 60e9) {
            log("--max-minutes reached: stopping after " + chunksRun + " of " + chunks + " runs, " + submitted
                + " streams");
            break;
          }
          current[0] = chunk;
          chunksRun = chunk;
          for (int k = 0; k < shapes.size(); k++) {
            long count = share(shapeTotals[k], chunks, chunk);
            if (count == 0) {
              continue;
            }
            Shape shape = shapes.get(k);
            Path summaryFile = WORK.resolve(name + "-run.json");
            List<String> args = new ArrayList<>(List.of("--url", url, "--key", key, "-q",
                "--json", summaryFile.toString(), "--html", WORK.resolve(name + "-run.html").toString(),
                "-c", Integer.toString(concurrency), "-n", Long.toString(count),
                "--verify-tokens", Integer.toString(shape.paced() ? longTokens : shortTokens),
                "-H", "x-sim-tokens-per-second:" + (shape.paced() ? longRate : 0)));
            args.addAll(shape.options());
            toLoadgen.println(new JsonArray(new ArrayList<>(args)).encode());
            submitted += count;
            String answer = fromLoadgen.readLine();
            if (answer == null) {
              throw new IOException("the load generator stopped; see " + WORK.resolve(name + "-loadgen.log"));
            }
            JsonObject a = new JsonObject(answer);
            if (a.getInteger("exit") != 0 && a.getInteger("exit") != 1) {
              throw new IOException("the load generator refused a run: " + a.getString("error"));
            }
            JsonObject summary = new JsonObject(Files.readString(summaryFile));
            if (shape.failsWith() == null) {
              totals.add(summary);
            } else {
              totals.addBroken(summary, count, shape.failsWith());
            }
            runs.add(new JsonObject().put("chunk", chunk).put("shape", shape.name()).put("streams", count)
                .put("seconds", summary.getDouble("seconds")).put("streams_summary", summary.getJsonObject("streams"))
                .put("errors", summary.getJsonObject("errors")).put("integrity", summary.getJsonObject("integrity"))
                .put("deltas", summary.getLong("deltas"))
                .put("time_to_first_token_ms", summary.getJsonObject("time_to_first_token_ms")));
          }
          waitIdle(probe);
          if (resuming) {
            // The resumed streams' logs stay readable for the TTL after their end: sample once they are let go.
            Thread.sleep(RESUME_TTL_MS + 1_000);
          }
          JsonObject idle = sampler.take("idle", chunk).put("streams_done", totals.started);
          idleHistograms.add(probe.lastHistogram);
          double elapsed = (System.nanoTime() - started) / 1e9;
          log(String.format(Locale.ROOT, "chunk %d/%d: %d streams, %d failed, %d mismatched, %.0f streams/s;"
                  + " idle: live heap %.1f MB, %d descriptors, RSS %d MB, %d threads", chunk, chunks,
              totals.started, totals.failed, totals.mismatched, totals.started / elapsed,
              idle.getLong("heap_live_bytes") / 1e6, idle.getLong("fds"), idle.getLong("rss_kb") / 1024,
              idle.getLong("threads")));
        }
      } finally {
        timer.shutdownNow();
        timer.awaitTermination(5, TimeUnit.MINUTES);
      }
      double wall = (System.nanoTime() - started) / 1e9;
      toLoadgen.close();
      Thread.sleep(1000);
      // The proxy stops with SIGTERM (a graceful stop), so that every line it had to write is written.
      SoakProcesses.stop(proxy, 60);

      probe.close();
      LogScan scan = scan(proxyLog, accessLog);
      List<JsonObject> idle = new ArrayList<>();
      samples.forEach(s -> {
        if ("idle".equals(((JsonObject) s).getString("phase"))) {
          idle.add((JsonObject) s);
        }
      });
      JsonObject first = firstMinute(idle);
      JsonObject last = idle.get(idle.size() - 1);
      SoakVerdict verdict = new SoakVerdict(new SoakVerdict.Streams(submitted - totals.toBreak, totals.started,
          totals.completed, totals.failed, totals.verified, totals.mismatched, totals.errors,
          resuming ? totals.cuts : -1, totals.resumed, totals.toBreak > 0 ? totals.toBreak : -1,
          totals.brokenAsPlanned),
          first.getLong("heap_live_bytes"), last.getLong("heap_live_bytes"), heapTolerance / 100,
          ownFds(first), ownFds(last), fdSlack, scan.leaks);
      result.put("streams_run", submitted).put("chunks_run", chunksRun).put("cut_short", submitted < total)
          .put("wall_seconds", Math.round(wall * 10) / 10.0)
          .put("streams_per_second", Math.round(totals.started / wall))
          .put("load", totals.toJson())
          .put("broken_by_upstream", new JsonObject().put("streams", totals.toBreak)
              .put("as_planned", totals.brokenAsPlanned))
          .put("runs", runs).put("samples", samples)
          .put("first_idle", first).put("last_idle", last)
          .put("heap_growth_by_class", growth(idleHistograms.get(idle.indexOf(first)),
              idleHistograms.get(idle.size() - 1)))
          .put("heap_bytes_per_1000_streams", finite(slope(idle.subList(idle.indexOf(first), idle.size()))))
          .put("proxy_log", new JsonObject().put("leak_lines", scan.leaks).put("leak_excerpt", scan.excerpt)
              .put("access_lines", scan.accessLines).put("access_lines_not_completed", scan.notCompleted)
              .put("access_lines_not_completed_by_outcome",
                  new JsonObject(new LinkedHashMap<>(scan.notCompletedByOutcome)))
              .put("proxy_exit", proxy.exitValue()))
          .put("checks", verdict.toJson()).put("passed", verdict.passed());
      Files.writeString(out, result.encodePrettily());
      System.out.println(markdown(result, verdict, before));
      log((verdict.passed() ? "passed" : "FAILED") + "; " + out);
      return verdict.passed() ? 0 : 1;
    }
  }

  /**
   * One kind of stream the soak runs: its share of the streams in %, whether it is a longer paced one, the load
   * generator's options for it, and the error every one of its streams must end with (null: each must complete).
   */
  private record Shape(String name, double percent, boolean paced, List<String> options, String failsWith) {}

  @FunctionalInterface
  private interface Sampler {
    JsonObject take(String phase, int chunk) throws IOException, InterruptedException;
  }

  /** The load generator's counts over every run. */
  private static final class Totals {
    long started;
    long completed;
    long failed;
    long verified;
    long mismatched;
    long deltas;
    /** Streams cut by the load generator, and resumed whole (the resumed shape). */
    long cuts;
    long resumed;
    /** Streams cut for good, the client gone (the cancelled shape). */
    long cancelled;
    /**
     * Streams the upstream was to break (the breaking shapes, kept out of the counts above), and those of them that
     * ended with the error they were to end with.
     */
    long toBreak;
    long brokenAsPlanned;
    final Map<String, Long> errors = new TreeMap<>();

    void add(JsonObject summary) {
      JsonObject s = summary.getJsonObject("streams");
      started += s.getLong("started");
      completed += s.getLong("completed");
      failed += s.getLong("failed");
      verified += summary.getJsonObject("integrity").getLong("verified");
      mismatched += summary.getJsonObject("integrity").getLong("mismatched");
      deltas += summary.getLong("deltas");
      JsonObject resume = summary.getJsonObject("resume");
      if (resume != null) {
        cuts += resume.getLong("cuts");
        resumed += resume.getLong("resumed");
      }
      JsonObject cancel = summary.getJsonObject("cancel");
      if (cancel != null) {
        cancelled += cancel.getLong("cancelled");
      }
      summary.getJsonObject("errors").forEach(e -> errors.merge(e.getKey(), ((Number) e.getValue()).longValue(),
          Long::sum));
    }

    /** A breaking shape's run of {@code streams}: each must have ended with the error {@code owed}, and only with it. */
    void addBroken(JsonObject summary, long streams, String owed) {
      JsonObject runErrors = summary.getJsonObject("errors");
      toBreak += streams;
      brokenAsPlanned += runErrors.size() == 1 ? runErrors.getLong(owed, 0L) : 0;
    }

    JsonObject toJson() {
      JsonObject e = new JsonObject();
      errors.forEach(e::put);
      return new JsonObject().put("started", started).put("completed", completed).put("failed", failed)
          .put("verified", verified).put("mismatched", mismatched).put("deltas", deltas).put("cuts", cuts).put("resumed", resumed).put("cancelled", cancelled).put("errors", e);
    }
  }

  /**
   * The first minute's idle sample, to compare the end with: the first one taken after 60 s of load (the JIT compiler,
   * pools and caches have had their first minute) that holds as many pooled upstream connections as the last one
   * does. A burst of streams at a cold start opens a connection for each stream that waits for one (HTTP/2 included),
   * and the pool closes those it does not need after a minute idle; each holds about 12 KB of heap (its HPACK tables
   * and state), so a sample taken before they close is not like the end. Failing that, the first one after 60 s; failing
   * that (a run shorter than a minute), the first one.
   */
  static JsonObject firstMinute(List<JsonObject> idle) {
    JsonObject last = idle.get(idle.size() - 1);
    List<JsonObject> candidates = idle.subList(0, idle.size() - 1);
    for (JsonObject s : candidates) {
      if (s.getDouble("t_s") >= 60 && ownFds(s) - s.getLong("fds") == ownFds(last) - last.getLong("fds")) {
        return s;
      }
    }
    for (JsonObject s : candidates) {
      if (s.getDouble("t_s") >= 60) {
        return s;
      }
    }
    return idle.get(0);
  }

  /**
   * The trend of the idle live heap: the least-squares slope of its bytes over the streams done, per 1,000 streams,
   * from the given samples on (NaN for fewer than three).
   */
  static double slope(List<JsonObject> idle) {
    int n = idle.size();
    if (n < 3) {
      return Double.NaN;
    }
    double mx = 0;
    double my = 0;
    for (JsonObject s : idle) {
      mx += s.getLong("streams_done");
      my += s.getLong("heap_live_bytes");
    }
    mx /= n;
    my /= n;
    double sxy = 0;
    double sxx = 0;
    for (JsonObject s : idle) {
      double dx = s.getLong("streams_done") - mx;
      sxy += dx * (s.getLong("heap_live_bytes") - my);
      sxx += dx * dx;
    }
    return sxx == 0 ? Double.NaN : Math.round(1000 * sxy / sxx * 10) / 10.0;
  }

  private static Double finite(double v) {
    return Double.isNaN(v) ? null : v;
  }

  /** A sample's descriptors other than the pooled connections to the upstream. */
  static long ownFds(JsonObject sample) {
    JsonObject kinds = sample.getJsonObject("fds_by_kind");
    long upstream = kinds == null ? 0 : kinds.getLong("upstream_sockets", 0L);
    return sample.getLong("fds") - upstream;
  }

  /** The {@code i}th (from 1) of {@code parts} near-equal shares of {@code total}, the remainder on the last. */
  static long share(long total, int parts, int i) {
    long each = total / parts;
    return i == parts ? total - each * (parts - 1) : each;
  }

  /** The classes whose live bytes changed most between two histograms (of their largest classes). */
  static JsonObject growth(SoakParse.Histogram a, SoakParse.Histogram b) {
    JsonObject out = new JsonObject();
    if (a == null || b == null) {
      return out;
    }
    Map<String, Long> diff = new TreeMap<>();
    b.bytesByClass().forEach((k, v) -> diff.put(k, v - a.bytesByClass().getOrDefault(k, 0L)));
    a.bytesByClass().forEach((k, v) -> diff.putIfAbsent(k, -v));
    diff.entrySet().stream().sorted((x, y) -> Long.compare(Math.abs(y.getValue()), Math.abs(x.getValue())))
        .limit(12).forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  private record LogScan(long leaks, JsonArray excerpt, long accessLines, long notCompleted,
                         Map<String, Long> notCompletedByOutcome) {}

  private static final java.util.regex.Pattern OUTCOME =
      java.util.regex.Pattern.compile("\"outcome\":\"([a-z_]+)\"");

  /** Counts LEAK lines in both of the proxy's outputs, keeping the first report; counts the access lines. */
  private static LogScan scan(Path proxyLog, Path accessLog) throws IOException {
    long leaks = 0;
    long access = 0;
    long notCompleted = 0;
    Map<String, Long> byOutcome = new TreeMap<>();
    JsonArray excerpt = new JsonArray();
    for (Path p : List.of(proxyLog, accessLog)) {
      int keep = 0;
      try (Stream<String> lines = Files.lines(p, StandardCharsets.UTF_8)) {
        for (String line : (Iterable<String>) lines::iterator) {
          if (SoakParse.isLeak(line)) {
            leaks++;
            if (excerpt.isEmpty()) {
              keep = 40;
            }
          }
          if (keep > 0) {
            excerpt.add(line);
            keep--;
          }
          if (p == accessLog && line.startsWith("{")) {
            access++;
            if (!line.contains("\"outcome\":\"completed\"")) {
              notCompleted++;
              java.util.regex.Matcher m = OUTCOME.matcher(line);
              byOutcome.merge(m.find() ? m.group(1) : "none", 1L, Long::sum);
            }
          }
        }
      } catch (java.io.UncheckedIOException e) {
        throw e.getCause();
      }
    }
    return new LogScan(leaks, excerpt, access, notCompleted, byOutcome);
  }

  /** Waits until the proxy has no stream open and its descriptor count has settled (at most 30 s). */
  private static void waitIdle(SoakProbe probe) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    long lastFds = -2;
    while (System.nanoTime() < deadline) {
      double open = probe.activeStreams();
      long fds = probe.descriptors();
      if (open == 0 && fds == lastFds) {
        return;
      }
      lastFds = fds;
      Thread.sleep(500);
    }
    log("the proxy did not settle within 30 s; sampling it anyway");
  }

  private static String createKey(String java, String jar, Path users) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(java, "-jar", jar, "keys", "create", "--user", "soak", "--users-file",
        users.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (p.waitFor() != 0 || out.isEmpty()) {
      throw new IOException("keys create failed: " + out);
    }
    String[] lines = out.split("\n");
    return lines[lines.length - 1].strip();
  }

  private static String git(String... args) {
    try {
      List<String> cmd = new ArrayList<>(List.of("git"));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      return p.waitFor() == 0 ? out : null;
    } catch (IOException | InterruptedException e) {
      return null;
    }
  }

  static void log(String msg) {
    System.err.println("[soak " + java.time.LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "] " + msg);
  }

  private static String mb(Object bytes) {
    return bytes instanceof Number n ? String.format(Locale.ROOT, "%.1f", n.doubleValue() / 1e6) : "?";
  }

  /** The markdown section printed at the end. */
  static String markdown(JsonObject r, SoakVerdict verdict, JsonObject before) {
    JsonObject set = r.getJsonObject("settings");
    JsonObject load = r.getJsonObject("load");
    JsonObject first = r.getJsonObject("first_idle");
    JsonObject last = r.getJsonObject("last_idle");
    JsonArray samples = r.getJsonArray("samples");
    long minHeap = Long.MAX_VALUE;
    long maxHeap = 0;
    long minFd = Long.MAX_VALUE;
    long maxFd = 0;
    long minUp = Long.MAX_VALUE;
    long maxUp = 0;
    long maxRss = 0;
    long maxLoadedHeap = 0;
    long maxLoadedFd = 0;
    int idleCount = 0;
    int loadCount = 0;
    for (Object o : samples) {
      JsonObject s = (JsonObject) o;
      if ("idle".equals(s.getString("phase"))) {
        idleCount++;
        minHeap = Math.min(minHeap, s.getLong("heap_live_bytes"));
        maxHeap = Math.max(maxHeap, s.getLong("heap_live_bytes"));
        minFd = Math.min(minFd, s.getLong("fds"));
        long up = s.getLong("fds") - ownFds(s);
        minUp = Math.min(minUp, up);
        maxUp = Math.max(maxUp, up);
        maxFd = Math.max(maxFd, s.getLong("fds"));
      } else if ("load".equals(s.getString("phase"))) {
        loadCount++;
        maxLoadedHeap = Math.max(maxLoadedHeap, s.getLong("heap_live_bytes"));
        maxLoadedFd = Math.max(maxLoadedFd, s.getLong("fds"));
      }
      maxRss = Math.max(maxRss, s.getLong("rss_kb"));
    }
    StringBuilder md = new StringBuilder();
    md.append("## Soak").append(r.getBoolean("paranoid") ? " (Netty leak detector on paranoid)" : "").append("\n\n");
    md.append(String.format(Locale.ROOT, "`soak%s` on %s, commit %s: %,d streams (%.1f %% of %d tokens paced at %d/s,"
            + " %.1f %% more like them but resumable, each cut and resumed (%,d cuts, %,d resumed; readable %d ms after"
            + " their end), %.1f %% more like them cut for good, the client gone (%,d cancelled), %.1f %% short ones"
            + " broken by the upstream (%,d, of which %,d ended with the error owed),"
            + " %.1f %% on /v1/chat, the rest %d tokens at once), %d at a time, in %d chunks of a load-generator run a shape%s; proxy `%s`,"
            + " HTTP/2 upstream to the simulator (writes per event); %s cores. **%s**.%n%n",
        r.getBoolean("paranoid") ? " --paranoid" : "", r.getString("date"), r.getString("commit"),
        r.getLong("streams_run"), set.getDouble("long_percent"), set.getInteger("long_tokens"),
        set.getInteger("long_tokens_per_second"), set.getDouble("resumed_percent"), load.getLong("cuts"),
        load.getLong("resumed"), set.getLong("resume_ttl_ms"), set.getDouble("cancelled_percent"),
        load.getLong("cancelled"), set.getDouble("failed_percent"),
        r.getJsonObject("broken_by_upstream").getLong("streams"), r.getJsonObject("broken_by_upstream")
            .getLong("as_planned"), set.getDouble("chat_percent"),
        set.getInteger("short_tokens"), set.getInteger("concurrency"),
        r.getInteger("chunks_run"), r.getBoolean("cut_short") ? String.format(Locale.ROOT,
            " (cut short by --max-minutes: %,d streams were planned)", set.getLong("streams")) : "",
        set.getString("proxy_jvm"), r.getJsonObject("machine").getInteger("cores"),
        verdict.passed() ? "Passed" : "FAILED"));
    md.append("| date | commit | streams | completed | failed | mismatched | live heap after full GC, first minute →"
        + " last (idle) | fds before load / first minute → last (idle; pooled upstream connections aside) | LEAK lines | wall time | streams/s |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| %s | %s | %,d | %,d | %,d | %,d | %.1f (at %.0f s) → %.1f MB (%+.2f %%) | %d / %d → %d"
            + " | %d | %.0f s | %d |%n%n",
        r.getString("date").substring(0, 10), r.getString("commit"), load.getLong("started"),
        load.getLong("completed"), load.getLong("failed"), load.getLong("mismatched"),
        first.getLong("heap_live_bytes") / 1e6, first.getDouble("t_s"), last.getLong("heap_live_bytes") / 1e6,
        100.0 * (last.getLong("heap_live_bytes") - first.getLong("heap_live_bytes"))
            / first.getLong("heap_live_bytes"),
        before.getLong("fds"), ownFds(first), ownFds(last),
        r.getJsonObject("proxy_log").getLong("leak_lines"), r.getDouble("wall_seconds"),
        r.getLong("streams_per_second")));
    md.append(String.format(Locale.ROOT, "Series: %d idle samples (live heap %.1f–%.1f MB, descriptors %d–%d of which pooled upstream"
            + " connections %d–%d) and %d"
            + " under load (live heap up to %.1f MB, descriptors up to %d); idle live heap trend from the first minute"
            + " %s bytes per 1,000 streams; RSS up to %d MB; threads %d → %d; metaspace"
            + " %d → %d KB; direct buffers (the JVM's count) %s → %s MB. Errors: %s. Access lines %,d (not completed: %,d%s).%n%n",
        idleCount, minHeap / 1e6, maxHeap / 1e6, minFd, maxFd, minUp, maxUp, loadCount, maxLoadedHeap / 1e6,
        maxLoadedFd, r.getValue("heap_bytes_per_1000_streams"),
        maxRss / 1024, first.getLong("threads"), last.getLong("threads"), first.getLong("metaspace_kb"),
        last.getLong("metaspace_kb"), mb(first.getValue("direct_buffers_bytes")),
        mb(last.getValue("direct_buffers_bytes")), load.getJsonObject("errors").isEmpty() ? "none" : load.getJsonObject("errors")
            .encode(), r.getJsonObject("proxy_log").getLong("access_lines"),
        r.getJsonObject("proxy_log").getLong("access_lines_not_completed"),
        r.getJsonObject("proxy_log").getJsonObject("access_lines_not_completed_by_outcome").isEmpty() ? ""
            : ", by outcome " + r.getJsonObject("proxy_log").getJsonObject("access_lines_not_completed_by_outcome")
                .encode()));
    for (SoakVerdict.Check c : verdict.checks()) {
      md.append("- ").append(c.passed() ? "pass" : "**FAIL**").append(' ').append(c.name()).append(": ")
          .append(c.detail()).append('\n');
    }
    return md.toString();
  }
}
