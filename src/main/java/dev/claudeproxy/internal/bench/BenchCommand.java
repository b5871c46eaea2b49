package dev.claudeproxy.internal.bench;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Benchmark suite: the simulator, the proxy and nginx on loopback, measured in one run.
 *
 * <pre>
 *   scripts/bench                 # everything; writes bench/results.md and target/bench/*
 *   scripts/bench --quick         # fewer streams, smaller memory steps (a smoke run)
 *   scripts/bench --resume-only   # only the resumable streams' figures, on one proxy (about two minutes);
 *                                 # writes target/bench/resume.json, not bench/results.md
 *   scripts/bench --cpu-only      # only the CPU per delta and per short stream (every path, after the warm-up);
 *                                 # writes target/bench/cpu.json and prints its section, not bench/results.md
 *   BENCH_PORT_BASE=29500 scripts/bench ...  # ports 29500-29507 instead of 19500-19507
 *   scripts/bench --ab A.jar B.jar # two builds of the proxy side by side (HTTP/2 upstream), in rounds on one shape
 *                                 # (--ab-shape, default per_request), beside nginx and the bare pass-through;
 *                                 # writes target/bench/ab.json
 * </pre>
 *
 * <p>Measures, each as a ratio within the same run:
 *
 * <ul>
 *   <li>CPU of the proxy process per forwarded delta, beside nginx (proxy_buffering off) in front of the same
 *       simulator, paced (many slow streams) and in bursts (few fast streams), each shape twice: with the simulator
 *       writing each SSE event on its own (SIM_WRITE=event, as Claude's API does: the headline) and with its events
 *       packed into fewer writes (x-sim-write: batch, the kinder shape, beside it); the proxy runs twice, with
 *       HTTP/1.1 to the simulator (as nginx) and with HTTP/2 in clear text (UPSTREAM_PROTOCOL=h2c, many streams to a
 *       connection), and a clustered pair runs beside them: an HTTP node and a worker node (h2c upstream), joined by
 *       Hazelcast on loopback, whose CPU is the sum of both processes;
 *   <li>the CPU of a short request: the same paths' CPU per stream for streams of one delta each (200 at a time),
 *       where the cost of a request itself (its HTTP, the caller's checks, the bus, the upstream request, the access
 *       line and usage) outweighs the bytes;
 *   <li>beside them all, a bare Vert.x pass-through (bench/BarePassThrough.java: an HTTP server relaying each request
 *       to the simulator with Vert.x's HTTP client over h2c, no authentication, no bus, no meters): the floor of what
 *       a Vert.x proxy costs on each shape;
 *   <li>time to first token added over going direct to the simulator, p50 and p99, at 100 and 1,000 concurrent
 *       streams, in the steady state (the ramp's streams are run and checked, not timed);
 *   <li>heap after GC and resident memory per open stream at 1,000, 5,000 and 10,000 slow streams, through the HTTP/2
 *       proxy, and then through the cluster's HTTP node (each node's figures apart);
 *   <li>resumable streams, through the HTTP/2 proxy: heap per open resumable stream beside a plain one (the same slow
 *       streams), and what a resume costs: the proxy's CPU per stream for streams cut and resumed beside the same
 *       resumable streams read whole, and the time to a resume's response head.
 * </ul>
 *
 * <p>The proxies are warmed up until their JIT compilers have settled: on two cores C2 takes a minute of CPU, and a
 * measurement taken before that charges compilation to the streams. The load generator ({@code scripts/loadtest})
 * checks every stream; a run with errors is reported as such. Needs: Java 17+, Maven, and nginx (Debian's
 * nginx-light; installed with apt-get when missing and run as root).
 *
 * <p>The simulator and the load generator run as batch tasks ({@code chrt --batch 0}), the load generator one warm JVM
 * fed its runs on standard input, in processes of their own so that their CPU never counts as the proxy's; each
 * process's CPU is read from /proc in nanoseconds. The opening of this comment is the command's {@code --help}.
 */
@Command(name = "bench", mixinStandardHelpOptions = true, usageHelpWidth = 120,
    description = {
        "Benchmark suite: the simulator, the proxy and nginx on loopback, measured in one run.",
        "",
        "  scripts/bench                 # everything; writes bench/results.md and target/bench/*",
        "  scripts/bench --quick         # fewer streams, smaller memory steps (a smoke run)",
        "  scripts/bench --resume-only   # only the resumable streams' figures, on one proxy (about two minutes);",
        "                                # writes target/bench/resume.json, not bench/results.md",
        "  scripts/bench --cpu-only      # only the CPU per delta and per short stream (every path, after the"
            + " warm-up);",
        "                                # writes target/bench/cpu.json and prints its section, not bench/results.md",
        "  scripts/bench --hold-only     # only the held streams at scale: 19,000 through one proxy process, then",
        "                                # 50,000 through three HTTP nodes and two workers (about ten minutes);",
        "                                # writes target/bench/hold.json and prints its section, not bench/results.md",
        "  BENCH_PORT_BASE=29500 scripts/bench ...  # ports 29500-29507 instead of 19500-19507",
        "  scripts/bench --ab A.jar B.jar # two builds of the proxy side by side (HTTP/2 upstream), in rounds on one"
            + " shape",
        "                                # (--ab-shape, default per_request), beside nginx and the bare pass-through;",
        "                                # writes target/bench/ab.json",
        "",
        "Measures, each as a ratio within the same run:",
        "  * CPU of the proxy process per forwarded delta, beside nginx (proxy_buffering off) in front of the same",
        "    simulator, paced (many slow streams) and in bursts (few fast streams), each shape twice: with the"
            + " simulator",
        "    writing each SSE event on its own (SIM_WRITE=event, as Claude's API does: the headline) and with its"
            + " events",
        "    packed into fewer writes (x-sim-write: batch, the kinder shape, beside it); the proxy runs twice, with"
            + " HTTP/1.1",
        "    to the simulator (as nginx) and with HTTP/2 in clear text (UPSTREAM_PROTOCOL=h2c, many streams to a"
            + " connection),",
        "    and a clustered pair runs beside them: an HTTP node and a worker node (h2c upstream), joined by"
            + " Hazelcast on",
        "    loopback, whose CPU is the sum of both processes;",
        "  * the CPU of a short request: the same paths' CPU per stream for streams of one delta each (200 at a"
            + " time), where",
        "    the cost of a request itself (its HTTP, the caller's checks, the bus, the upstream request, the access"
            + " line and",
        "    usage) outweighs the bytes;",
        "  * beside them all, a bare Vert.x pass-through (bench/BarePassThrough.java: an HTTP server relaying each"
            + " request to",
        "    the simulator with Vert.x's HTTP client over h2c, no authentication, no bus, no meters): the floor of"
            + " what a",
        "    Vert.x proxy costs on each shape;",
        "  * time to first token added over going direct to the simulator, p50 and p99, at 100 and 1,000 concurrent"
            + " streams,",
        "    in the steady state (the ramp's streams are run and checked, not timed);",
        "  * heap after GC and resident memory per open stream at 1,000, 5,000 and 10,000 slow streams, through the"
            + " HTTP/2",
        "    proxy, and then through the cluster's HTTP node (each node's figures apart);",
        "  * resumable streams, through the HTTP/2 proxy: heap per open resumable stream beside a plain one (the"
            + " same slow",
        "    streams), and what a resume costs: the proxy's CPU per stream for streams cut and resumed beside the"
            + " same",
        "    resumable streams read whole, and the time to a resume's response head;",
        "  * held streams at scale: slow streams opened as fast as the load generator opens them, 19,000 through one",
        "    proxy process, then 50,000 through a cluster of three HTTP nodes and two workers, with the load generator",
        "    spread over processes of its own: completed and failed streams, live heap and RSS per open stream.",
        "The proxies are warmed up until their JIT compilers have settled: on two cores C2 takes a minute of CPU,"
            + " and a",
        "measurement taken before that charges compilation to the streams.",
        "The load generator (scripts/loadtest) checks every stream; a run with errors is reported as such.",
        "Needs: Java 17+, Maven, and nginx (Debian's nginx-light; installed with apt-get when missing and run as"
            + " root).",
        ""})
public final class BenchCommand implements Callable<Integer> {
  static final List<String> SHAPES = List.of("per_request", "burst", "paced");
  static final List<String> WRITES = List.of("event", "batch");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--quick", description = "a smaller run, to check the suite works")
  boolean quick;

  @Option(names = "--resume-only", description = "only the resumable streams' figures; writes"
      + " target/bench/resume.json")
  boolean resumeOnly;

  @Option(names = "--hold-only", description = "only the held streams at scale (one process, then a cluster);"
      + " writes target/bench/hold.json and prints its section, not bench/results.md")
  boolean holdOnly;

  @Option(names = "--cpu-only", description = "only the CPU per delta and per short stream, after the warm-up;"
      + " writes target/bench/cpu.json")
  boolean cpuOnly;

  @Option(names = "--ab", arity = "2", paramLabel = "JAR", description = "A/B two builds of the proxy (HTTP/2"
      + " upstream) on one shape, beside nginx and the bare pass-through; writes target/bench/ab.json")
  List<String> ab;

  @Option(names = "--ab-shape", description = "per_request, burst or paced (default: ${DEFAULT-VALUE})")
  String abShape = "per_request";

  @Option(names = "--ab-write", description = "event or batch (default: ${DEFAULT-VALUE})")
  String abWrite = "event";

  @Option(names = "--ab-rounds", description = "default: ${DEFAULT-VALUE}")
  int abRounds = 8;

  /** Checks what picocli cannot: the choices of --ab-shape and --ab-write, and a positive --ab-rounds. */
  void validate() {
    CommandLine cl = spec == null ? new CommandLine(this) : spec.commandLine();
    if (!SHAPES.contains(abShape)) {
      throw new CommandLine.ParameterException(cl, "--ab-shape: invalid choice: '" + abShape + "' (choose from "
          + String.join(", ", SHAPES) + ")");
    }
    if (!WRITES.contains(abWrite)) {
      throw new CommandLine.ParameterException(cl, "--ab-write: invalid choice: '" + abWrite + "' (choose from "
          + String.join(", ", WRITES) + ")");
    }
    if (abRounds < 1) {
      throw new CommandLine.ParameterException(cl, "--ab-rounds must be at least 1");
    }
  }

  @Override
  public Integer call() {
    validate();
    Path root = root();
    Ports ports = Ports.fromEnv(System.getenv("BENCH_PORT_BASE"));
    Path work = root.resolve("target").resolve("bench");
    Processes processes = new Processes(work);
    Thread cleanup = new Thread(processes::close, "bench-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      Files.createDirectories(work);
      Path users = work.resolve("users.json");
      Files.deleteIfExists(users);
      Path jar = root.resolve("target").resolve("claude-stream-proxy-server.jar");
      String[] out = Processes.run(List.of("java", "-jar", jar.toString(), "keys", "create", "--user", "bench",
          "--users-file", users.toString())).stdout().strip().split("\n");
      String key = out[out.length - 1].strip();
      Processes.portsFree(ports);
      Bench bench = new Bench(root, ports, quick, processes, key);
      if (resumeOnly) {
        new ResumeCosts(bench).runAlone();
        return 0;
      }
      if (holdOnly) {
        new Holds(bench).runAlone();
        return 0;
      }
      Nginx.ensure();
      if (ab != null) {
        new AbComparison(bench, ab, abShape, abWrite, abRounds).run();
        return 0;
      }
      new FullBench(bench, cpuOnly).run();
      return 0;
    } catch (BenchException e) {
      System.err.println(e.getMessage());
      return 1;
    } catch (IOException e) {
      System.err.println(e);
      return 1;
    } finally {
      processes.close();
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down already: the hook runs, and finds nothing left to stop
      }
    }
  }

  /**
   * The repository the bench runs in: the one whose target/ holds the running jar, else the working directory (the
   * bench's entry, scripts/bench, runs from the repository's root).
   */
  static Path root() {
    try {
      Path code = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (code.toString().endsWith(".jar") && code.getParent() != null && code.getParent().getParent() != null
          && "target".equals(code.getParent().getFileName().toString())) {
        return code.getParent().getParent().toAbsolutePath();
      }
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      // fall through
    }
    return Path.of("").toAbsolutePath();
  }
}
