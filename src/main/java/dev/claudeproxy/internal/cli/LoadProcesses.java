package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.load.LoadConfig;
import dev.claudeproxy.internal.load.LoadReport;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A load run spread over several processes ({@code loadtest --processes N}): this process starts N JVMs of the same
 * code, each running its share of the run, waits for them, and adds up what they counted into one report. Their
 * summaries, reports and logs stay in a directory beside the run's summary.
 */
final class LoadProcesses {
  private LoadProcesses() {
  }

  static LoadReport run(LoadtestCommand command, LoadConfig config) throws IOException, InterruptedException {
    Path json = command.json.toAbsolutePath();
    String name = json.getFileName().toString().replaceFirst("\\.json$", "");
    Path dir = json.getParent().resolve(name + "-processes");
    Files.createDirectories(dir);
    List<Process> children = new ArrayList<>();
    Thread killer = new Thread(() -> children.forEach(Process::destroyForcibly));
    Runtime.getRuntime().addShutdownHook(killer);
    try {
      for (int i = 0; i < command.processes; i++) {
        Files.deleteIfExists(dir.resolve(i + ".share.json"));
        List<String> line = new ArrayList<>(javaCommand());
        line.add("loadtest");
        line.addAll(command.shareArgs(i, dir));
        ProcessBuilder builder = new ProcessBuilder(line).redirectErrorStream(true)
            .redirectOutput(dir.resolve(i + ".log").toFile());
        if (command.key != null) {
          builder.environment().put("LOADTEST_KEY", command.key);
        } else {
          builder.environment().remove("LOADTEST_KEY");
        }
        children.add(builder.start());
      }
      if (!command.quiet) {
        System.err.printf("%d load processes started; their logs are in %s%n", children.size(), dir);
      }
      List<JsonObject> shares = new ArrayList<>();
      for (int i = 0; i < children.size(); i++) {
        Process child = children.get(i);
        while (!child.waitFor(5, TimeUnit.SECONDS)) {
          if (!command.quiet) {
            System.err.printf("%d of %d load processes still running%n",
                children.stream().filter(Process::isAlive).count(), children.size());
          }
        }
        Path share = dir.resolve(i + ".share.json");
        // 0: a clean run, 1: a run with failed streams; both counted. Anything else: the process itself failed.
        if ((child.exitValue() != 0 && child.exitValue() != 1) || !Files.exists(share)) {
          throw new IOException("load process " + i + " failed (exit " + child.exitValue() + "); its log: "
              + dir.resolve(i + ".log"));
        }
        shares.add(new JsonObject(Files.readString(share)));
      }
      return LoadReport.merged(config, shares);
    } finally {
      children.forEach(Process::destroyForcibly);
      try {
        Runtime.getRuntime().removeShutdownHook(killer);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  /** This JVM's java, heap and system-property options, class path and main class. */
  private static List<String> javaCommand() {
    List<String> line = new ArrayList<>();
    line.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      // Memory and properties; not agents or debuggers, which would want the same port twice.
      if (arg.startsWith("-X") || arg.startsWith("-D")) {
        line.add(arg);
      }
    }
    line.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
    return line;
  }
}
