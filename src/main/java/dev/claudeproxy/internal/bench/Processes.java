package dev.claudeproxy.internal.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The bench's processes: started logging to {@code <work>/<name>.log}, in the bench's session (with Linux's autogroup
 * each session is a scheduling group that gets its share of the CPU first, and a batch task yields only to the tasks
 * of its own group: in sessions of their own, the stand-ins' wake-ups would cut into the proxy's and nginx's time,
 * item 14 of bench/analysis.md), and stopped with everything they started, and only that.
 */
final class Processes implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

  private final Path work;
  private final List<Process> started = new ArrayList<>();

  Processes(Path work) {
    this.work = work;
  }

  /** Starts a process logging to work/name.log; with {@code talk}, its standard input and output are pipes. */
  synchronized Process start(String name, List<String> cmd, Map<String, String> env, boolean talk) {
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().putAll(env);
    java.io.File log = work.resolve(name + ".log").toFile();
    if (talk) {
      pb.redirectError(log);
    } else {
      pb.redirectOutput(log).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File(
          "/dev/null")));
    }
    try {
      Process p = pb.start();
      started.add(p);
      return p;
    } catch (IOException e) {
      throw new BenchException("cannot start " + name + " (" + String.join(" ", cmd) + "): " + e.getMessage());
    }
  }

  Process start(String name, List<String> cmd, Map<String, String> env) {
    return start(name, cmd, env, false);
  }

  /** Stops a process and what it started: SIGTERM, then SIGKILL after 30 s. */
  static void stop(Process p) {
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    p.destroy();
    tree.forEach(ProcessHandle::destroy);
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
      for (ProcessHandle h : tree) {
        if (h.isAlive()) {
          h.onExit().get(30, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** Stops every process this bench started that still runs. */
  @Override
  public synchronized void close() {
    List<ProcessHandle> all = new ArrayList<>();
    for (Process p : started) {
      if (p.isAlive()) {
        all.addAll(p.descendants().toList());
        p.destroy();
      }
    }
    all.forEach(ProcessHandle::destroy);
    for (Process p : started) {
      try {
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
          p.descendants().forEach(ProcessHandle::destroyForcibly);
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    all.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
  }

  /** Whether a command is on the PATH ({@code shutil.which}). */
  static boolean onPath(String command) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, command))) {
        return true;
      }
    }
    return false;
  }

  /** The pids of a process's children ({@code pgrep -P}). */
  static List<Long> children(long pid) {
    return ProcessHandle.of(pid).map(h -> h.children().map(ProcessHandle::pid).toList()).orElse(List.of());
  }

  /** A port nothing listens on now. */
  static int freePort() {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", 0));
      return s.getLocalPort();
    } catch (IOException e) {
      throw new BenchException("no free port: " + e);
    }
  }

  static boolean listening(int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Stops the bench if another process listens on one of its ports: waiting for its own processes, it would measure
   * that one instead.
   */
  static void portsFree(Ports ports) {
    for (int port = ports.base(); port < ports.base() + 8; port++) {
      if (listening(port)) {
        throw new BenchException("port " + port + " is in use by another process; set BENCH_PORT_BASE to another"
            + " base");
      }
    }
  }

  void waitPort(int port) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (listening(port)) {
        return;
      }
      sleep(0.2);
    }
    throw new BenchException("nothing listens on " + port + "; see " + work + "/*.log");
  }

  /** Waits for url/health/ready to answer 200 (on a cluster's HTTP node, once a worker answers on the bus). */
  void waitReady(String url, Process proc) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (System.nanoTime() < deadline) {
      if (!proc.isAlive()) {
        throw new BenchException("a process the bench waited for exited with " + proc.exitValue() + "; see its"
            + " log in " + work);
      }
      try {
        HttpResponse<Void> r = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health/ready"))
            .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BenchException("interrupted");
      }
      sleep(0.3);
    }
    throw new BenchException(url + "/health/ready not 200 after 120 s; see the logs in " + work);
  }

  /** The body of a GET. */
  static String get(String url) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10))
          .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (r.statusCode() != 200) {
        throw new BenchException("GET " + url + ": " + r.statusCode());
      }
      return r.body();
    } catch (IOException e) {
      throw new BenchException("GET " + url + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted");
    }
  }

  /** What a command printed, standard output and standard error apart; fails when it exits other than 0. */
  record Output(String stdout, String stderr) {}

  static Output run(List<String> cmd) {
    return run(cmd, Map.of());
  }

  static Output run(List<String> cmd, Map<String, String> env) {
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd);
      pb.environment().putAll(env);
      pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      Process p = pb.start();
      // Standard error read beside standard output, so that neither pipe fills.
      var err = new java.util.concurrent.CompletableFuture<String>();
      Thread t = new Thread(() -> {
        try {
          err.complete(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
          err.complete("");
        }
      });
      t.start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int code = p.waitFor();
      t.join();
      if (code != 0) {
        throw new BenchException(String.join(" ", cmd) + " exited with " + code + ": " + err.join().strip());
      }
      return new Output(out, err.join());
    } catch (IOException e) {
      throw new BenchException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted");
    }
  }

  /** Methods a JVM's JIT compilers have compiled ({@code jstat -compiler}). */
  static long compiledMethods(long pid) {
    String[] lines = run(List.of("jstat", "-compiler", Long.toString(pid))).stdout().strip().split("\n");
    return Long.parseLong(lines[lines.length - 1].trim().split("\\s+")[0]);
  }

  /** A JVM's heap after a full collection, in MB. */
  static double heapAfterGcMb(long pid) {
    run(List.of("jcmd", Long.toString(pid), "GC.run"));
    sleep(0.5);
    return heapUsedMb(run(List.of("jcmd", Long.toString(pid), "GC.heap_info")).stdout());
  }

  static double heapUsedMb(String heapInfo) {
    Matcher m = HEAP_USED.matcher(heapInfo);
    return m.find() ? Long.parseLong(m.group(1)) / 1024.0 : Double.NaN;
  }

  static void sleep(double seconds) {
    try {
      Thread.sleep((long) (seconds * 1000));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted");
    }
  }

  static Map<String, String> env(String... keysAndValues) {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      env.put(keysAndValues[i], keysAndValues[i + 1]);
    }
    return env;
  }
}
