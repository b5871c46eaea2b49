package dev.claudeproxy.internal.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A load-generator process of the bench ({@code loadtest --runs-from-stdin}): each run is a JSON line to it, answered
 * with a line when over. One JVM does every run, so that, warmed with the proxies, it is compiled before anything is
 * measured (a new JVM for each run compiled in the middle of every measurement: item 22 of bench/analysis.md). It runs
 * as a batch task, as a separate process, so that its CPU is never counted as the proxy's.
 */
final class LoadGeneratorProcess {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process proc;
  private final Path work;
  private final String name;
  private final Writer in;
  private final BufferedReader out;

  LoadGeneratorProcess(Processes processes, Path work, String name, List<String> command) {
    this.work = work;
    this.name = name;
    this.proc = processes.start(name, command, java.util.Map.of(), true);
    this.in = new OutputStreamWriter(proc.getOutputStream(), StandardCharsets.UTF_8);
    this.out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8));
  }

  long pid() {
    return proc.pid();
  }

  /** The line for one run: its reports under work/, the key when given. */
  static List<String> runLine(Path work, String run, String url, List<String> args, String key) {
    List<String> line = new ArrayList<>(List.of("--url", url, "-q", "--json", work.resolve(run + ".json").toString(),
        "--html", work.resolve(run + ".html").toString()));
    line.addAll(args);
    if (key != null) {
      line.add("--key");
      line.add(key);
    }
    return line;
  }

  /** Submits a run; its answer comes with {@link Pending#await()}, runs being answered in the order submitted. */
  Pending submit(String run, String url, List<String> args, String key) {
    try {
      in.write(JSON.writeValueAsString(runLine(work, run, url, args, key)) + "\n");
      in.flush();
    } catch (IOException e) {
      throw new BenchException("the load generator stopped before " + run + "; see " + work + "/" + name + ".log");
    }
    return new Pending(run);
  }

  /** A run submitted to the load generator; {@link #await()} returns its summary. */
  final class Pending {
    private final String run;

    private Pending(String run) {
      this.run = run;
    }

    ObjectNode await() {
      try {
        String answer = out.readLine();
        if (answer == null) {
          throw new BenchException("the load generator stopped during " + run + "; see " + work + "/" + name
              + ".log");
        }
        JsonNode a = JSON.readTree(answer);
        int exit = a.path("exit").asInt(-1);
        if (exit != 0 && exit != 1) { // 1: the run went, with errors, which the summary counts
          throw new BenchException("the load generator refused " + run + ": " + a.path("error").asText());
        }
        return (ObjectNode) JSON.readTree(work.resolve(run + ".json").toFile());
      } catch (IOException e) {
        throw new BenchException("the load generator's answer for " + run + ": " + e);
      }
    }
  }
}
