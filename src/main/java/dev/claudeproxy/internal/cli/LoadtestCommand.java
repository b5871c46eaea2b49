package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.load.LoadConfig;
import dev.claudeproxy.internal.load.LoadGenerator;
import dev.claudeproxy.internal.load.LoadReport;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "loadtest", mixinStandardHelpOptions = true,
    description = "Open many concurrent streams against /v1/messages or /v1/chat, check every one, and report"
        + " time to first token, gaps between deltas, durations, errors and integrity (JSON and HTML).")
final class LoadtestCommand implements Callable<Integer> {
  /** Connections per local address before another 127.0.0.x is used (one address has ~28,000 ports). */
  private static final int STREAMS_PER_ADDRESS = 20_000;

  @Option(names = "--url", description = "Base URL of the proxy or upstream (default: http://127.0.0.1:8080). Given"
      + " several times, streams start on each in turn, and --cut-and-resume resumes each on the next.")
  List<URI> urls = List.of(URI.create("http://127.0.0.1:8080"));

  @Option(names = "--endpoint", description = "messages or chat (default: ${DEFAULT-VALUE}).")
  String endpoint = "messages";

  @Option(names = "--key", description = "API key, sent as x-api-key (default: $LOADTEST_KEY).",
      defaultValue = "${env:LOADTEST_KEY}")
  String key;

  @Option(names = {"-c", "--concurrency"}, description = "Streams open at once (default: ${DEFAULT-VALUE}).")
  int concurrency = 100;

  @Option(names = {"-n", "--streams"}, description = "Streams in all (default: 10 x concurrency, unless --duration).")
  long streams;

  @Option(names = {"-d", "--duration"}, description = "Seconds to keep starting streams.")
  Long durationSeconds;

  @Option(names = "--ramp-up", description = "Seconds to reach the concurrency (default: ${DEFAULT-VALUE}).")
  double rampUp = 0;

  @Option(names = "--template", description = "Request body file; {{n}} in it becomes the stream's number.")
  Path template;

  @Option(names = "--model", description = "Model of the default request (default: ${DEFAULT-VALUE}).")
  String model = "claude-sonnet-4-6";

  @Option(names = "--max-tokens", description = "max_tokens of the default request (default: ${DEFAULT-VALUE}).")
  int maxTokens = 1024;

  @Option(names = {"-H", "--header"}, description = "Extra header NAME:VALUE, e.g. x-sim-tokens-per-second:20.")
  List<String> headers = List.of();

  @Option(names = "--verify-tokens", description = "Ask the simulator for this many tokens per stream and check"
      + " each final text against what it sends (0: off; default: ${DEFAULT-VALUE}).")
  int verifyTokens = 0;

  @Option(names = "--addresses", description = "Local 127.0.0.x addresses to spread connections over (default: "
      + "enough for the concurrency on loopback, else 1).")
  Integer addresses;

  @Option(names = "--warmup", description = "Streams run and checked first but kept out of the timing figures"
      + " (default: ${DEFAULT-VALUE}).")
  long warmup = 0;

  @Option(names = "--cut-and-resume", description = "Ask for resumable streams (x-stream-resumable: true), cut each"
      + " after a random number of its events (from none to all but the last) and resume it from there with"
      + " GET /v1/streams/{id}?after=N on the next --url; the joined stream is checked against what the simulator sent"
      + " (needs --verify-tokens), and the report counts the cuts, resumes, failed resumes and the time to resume.")
  boolean cutAndResume;

  @Option(names = "--cancel", description = "Cut each stream after a random number of its events (from none to all but"
      + " the last) by closing its connection, and do not resume it: the client goes away. What it read is checked"
      + " against the start of what the simulator sent (needs --verify-tokens); a stream cancelled as planned counts as"
      + " completed, and the report counts the cancels by place. Not with --cut-and-resume.")
  boolean cancel;

  @Option(names = "--json", description = "Summary file (default: ${DEFAULT-VALUE}).")
  Path json = Path.of("target", "loadtest", "summary.json");

  @Option(names = "--html", description = "HTML report (default: ${DEFAULT-VALUE}).")
  Path html = Path.of("target", "loadtest", "report.html");

  @Option(names = {"-q", "--quiet"}, description = "No progress line.")
  boolean quiet;

  @Option(names = "--processes", description = "Processes to spread the streams over (default: ${DEFAULT-VALUE}):"
      + " each a JVM of its own with its share of the concurrency, the streams and the warm-up (a process may hold"
      + " only so many open files: 20,000 on some machines), all reported together as one run. The key goes to them in"
      + " their environment.")
  int processes = 1;

  /** Set on the processes of a run of several: where this one writes what it counted, whole, for the first. */
  @Option(names = "--share-out", hidden = true)
  Path shareOut;

  @Option(names = "--runs-from-stdin", description = "Stay up for many runs: read one run a line from standard"
      + " input, its options as a JSON array of strings, and answer each on standard output with a JSON line once"
      + " it is over: {\"run\", \"exit\": 0 or 1, \"json\"}, or {\"run\", \"exit\": 2 (not a run) or 3 (the run"
      + " failed), \"error\"}. The JVM stays warm from run to run, so the load generator is not compiling in the"
      + " middle of one.")
  boolean runsFromStdin;

  @Override
  public Integer call() throws Exception {
    if (runsFromStdin) {
      return session(new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out);
    }
    try {
      return run(System.out);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      return 2;
    }
  }

  /**
   * Runs what each line of {@code in} asks for, one run after the other, and answers each with a line on
   * {@code out}: exit code 0 for a clean run and 1 for a run with errors (as a single run exits), both with the summary
   * file; 2 and the reason for a line that is not a run (bad JSON, an unknown option); 3 and the exception for a run
   * that could not finish (its summary could not be written, say). The session goes on after any of them, and ends,
   * with 0, at the end of {@code in}.
   */
  static int session(BufferedReader in, PrintStream out) throws Exception {
    long count = 0;
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) {
        continue;
      }
      JsonObject answer = new JsonObject().put("run", ++count);
      try {
        JsonArray array = new JsonArray(line);
        String[] args = new String[array.size()];
        for (int i = 0; i < args.length; i++) {
          if (!(array.getValue(i) instanceof String arg)) {
            throw new IllegalArgumentException("a run is a JSON array of strings; item " + i + " is not one");
          }
          args[i] = arg;
        }
        LoadtestCommand run = new LoadtestCommand();
        CommandLine.ParseResult parsed = new CommandLine(run).parseArgs(args);
        if (run.runsFromStdin || parsed.isUsageHelpRequested() || parsed.isVersionHelpRequested()) {
          throw new IllegalArgumentException("--runs-from-stdin, --help and --version are not runs");
        }
        answer.put("exit", run.run(null)).put("json", run.json.toString());
      } catch (DecodeException | IllegalArgumentException | CommandLine.ParameterException e) {
        answer.put("exit", 2).put("error", e.getMessage());
      } catch (Exception e) {
        answer.put("exit", 3).put("error", String.valueOf(e));
      }
      out.println(answer.encode());
      out.flush();
    }
    return 0;
  }

  /**
   * One run; the summary goes to {@code summaryOut} as well as to the files, unless it is null.
   *
   * @throws IllegalArgumentException when an option's value is not usable, with the reason
   */
  private int run(PrintStream summaryOut) throws Exception {
    if (!"messages".equals(endpoint) && !"chat".equals(endpoint)) {
      throw new IllegalArgumentException("--endpoint must be messages or chat");
    }
    JsonObject body;
    try {
      body = template == null ? LoadConfig.defaultTemplate(endpoint, model, maxTokens)
          : new JsonObject(Files.readString(template));
    } catch (DecodeException e) {
      throw new IllegalArgumentException("--template " + template + " is not a JSON object: " + e.getMessage());
    } catch (IOException e) {
      throw new IllegalArgumentException("--template " + template + " cannot be read: " + e);
    }
    Map<String, String> extra = new LinkedHashMap<>();
    for (String header : headers) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException("--header must be NAME:VALUE, got " + header);
      }
      extra.put(header.substring(0, colon).trim(), header.substring(colon + 1).trim());
    }
    if (cutAndResume && verifyTokens <= 0) {
      throw new IllegalArgumentException("--cut-and-resume needs --verify-tokens: the joined stream is checked against"
          + " what the simulator sent");
    }
    if (cancel && (cutAndResume || verifyTokens <= 0)) {
      throw new IllegalArgumentException("--cancel needs --verify-tokens (where to cut, and what the start must be) and"
          + " does not go with --cut-and-resume");
    }
    boolean loopback = true;
    for (URI url : urls) {
      try {
        loopback &= InetAddress.getByName(url.getHost()).isLoopbackAddress();
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("--url " + url + ": unknown host");
      }
    }
    int spread = addresses != null ? addresses
        : loopback ? Math.max(1, (concurrency + STREAMS_PER_ADDRESS - 1) / STREAMS_PER_ADDRESS) : 1;
    long total = streams > 0 ? streams : durationSeconds == null ? 10L * concurrency : 0;
    LoadConfig config = new LoadConfig(urls, endpoint, key, concurrency, total,
        durationSeconds == null ? null : Duration.ofSeconds(durationSeconds),
        Duration.ofMillis((long) (rampUp * 1000)), body, extra, verifyTokens, spread, warmup, cutAndResume,
        cancel);

    if (processes < 1 || processes > concurrency || (streams > 0 && streams < processes)) {
      throw new IllegalArgumentException("--processes must be at least 1 and at most the concurrency and the streams");
    }
    LoadReport report = processes > 1 ? LoadProcesses.run(this, config) : runHere(config);
    Files.createDirectories(json.toAbsolutePath().getParent());
    Files.createDirectories(html.toAbsolutePath().getParent());
    report.writeJson(json);
    report.writeHtml(html);
    if (shareOut != null) {
      Files.writeString(shareOut, report.export().encode());
    }
    if (summaryOut != null) {
      summaryOut.println(report.summary().encodePrettily());
    }
    System.err.println("Summary: " + json + "   Report: " + html);
    return report.clean() ? 0 : 1;
  }

  private LoadReport runHere(LoadConfig config) throws Exception {
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
    try {
      return new LoadGenerator(config, quiet ? null : System.err).run(vertx)
          .toCompletionStage().toCompletableFuture().get(7, TimeUnit.DAYS);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }

  /**
   * The options of process {@code index} of {@link #processes}: this run's, with its share of the concurrency, the
   * streams and the warm-up (the first processes take one more where they do not divide evenly), quiet, its files
   * under {@code dir}. Not the key: it goes in the environment, out of the process list.
   */
  List<String> shareArgs(int index, Path dir) {
    List<String> args = new ArrayList<>();
    for (URI url : urls) {
      args.addAll(List.of("--url", url.toString()));
    }
    args.addAll(List.of("--endpoint", endpoint, "-c", Long.toString(share(concurrency, index))));
    if (streams > 0) {
      args.addAll(List.of("-n", Long.toString(share(streams, index))));
    }
    if (durationSeconds != null) {
      args.addAll(List.of("-d", durationSeconds.toString()));
    }
    args.addAll(List.of("--ramp-up", Double.toString(rampUp), "--model", model, "--max-tokens",
        Integer.toString(maxTokens), "--verify-tokens", Integer.toString(verifyTokens), "--warmup",
        Long.toString(share(warmup, index))));
    if (template != null) {
      args.addAll(List.of("--template", template.toAbsolutePath().toString()));
    }
    for (String header : headers) {
      args.addAll(List.of("-H", header));
    }
    if (addresses != null) {
      args.addAll(List.of("--addresses", addresses.toString()));
    }
    if (cutAndResume) {
      args.add("--cut-and-resume");
    }
    if (cancel) {
      args.add("--cancel");
    }
    args.addAll(List.of("-q", "--json", dir.resolve(index + ".json").toString(), "--html",
        dir.resolve(index + ".html").toString(), "--share-out", dir.resolve(index + ".share.json").toString()));
    return args;
  }

  private long share(long all, int index) {
    return all / processes + (index < all % processes ? 1 : 0);
  }
}
