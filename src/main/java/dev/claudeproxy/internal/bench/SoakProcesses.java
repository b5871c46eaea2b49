package dev.claudeproxy.internal.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The processes the soak starts (the simulator, the proxy, the load generator), stopped with everything they started
 * when the soak ends, however it ends: normally, on an exception, or on Ctrl-C or SIGTERM (a shutdown hook).
 */
final class SoakProcesses implements AutoCloseable {
  private final List<Process> started = new ArrayList<>();
  private final Thread hook = new Thread(this::stopAll, "soak-stop-children");

  SoakProcesses() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /**
   * Starts {@code command} with {@code env} added; standard output to {@code out} (or a pipe when null), standard
   * error to {@code err} (or with the output when null); standard input a pipe.
   */
  synchronized Process start(List<String> command, Map<String, String> env, Path out, Path err) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(env);
    if (out != null) {
      pb.redirectOutput(out.toFile());
    }
    if (err != null) {
      pb.redirectError(err.toFile());
    } else {
      pb.redirectErrorStream(true);
    }
    Process p = pb.start();
    started.add(p);
    return p;
  }

  /** Stops one process: SIGTERM to it and its descendants, SIGKILL to whatever is left after {@code seconds}. */
  static void stop(Process p, int seconds) {
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    tree.add(0, p.toHandle());
    tree.forEach(ProcessHandle::destroy);
    for (ProcessHandle h : tree) {
      try {
        h.onExit().get(seconds, TimeUnit.SECONDS);
      } catch (Exception e) {
        h.destroyForcibly();
      }
    }
  }

  /** Stops every process started here that is still running, the last started first. */
  synchronized void stopAll() {
    for (int i = started.size() - 1; i >= 0; i--) {
      Process p = started.get(i);
      if (p.isAlive()) {
        stop(p, 30);
      }
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook runs, and finds nothing left to stop
    }
  }

  /** The java launcher running this JVM, so that its children run the same Java. */
  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** This Java's jcmd, or jcmd on the path. */
  static String jcmd() {
    File f = new File(System.getProperty("java.home"), "bin/jcmd");
    return f.canExecute() ? f.getPath() : "jcmd";
  }
}
