package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The bench's options, as the Python script took them. */
class BenchCommandTest {
  private static BenchCommand parse(String... args) {
    BenchCommand command = new BenchCommand();
    new CommandLine(command).parseArgs(args);
    command.validate();
    return command;
  }

  @Test
  void defaultsToTheWholeBench() {
    BenchCommand c = parse();
    assertFalse(c.quick);
    assertFalse(c.resumeOnly);
    assertFalse(c.cpuOnly);
    assertNull(c.ab);
    assertEquals("per_request", c.abShape);
    assertEquals("event", c.abWrite);
    assertEquals(8, c.abRounds);
  }

  @Test
  void takesEachMode() {
    assertTrue(parse("--quick").quick);
    BenchCommand resume = parse("--resume-only", "--quick");
    assertTrue(resume.resumeOnly && resume.quick);
    assertTrue(parse("--cpu-only").cpuOnly);
    BenchCommand ab = parse("--ab", "a.jar", "b.jar", "--ab-shape", "burst", "--ab-write", "batch", "--ab-rounds",
        "4");
    assertEquals(List.of("a.jar", "b.jar"), ab.ab);
    assertEquals("burst", ab.abShape);
    assertEquals("batch", ab.abWrite);
    assertEquals(4, ab.abRounds);
  }

  @Test
  void refusesWhatThePythonScriptRefused() {
    assertThrows(CommandLine.ParameterException.class, () -> parse("--ab", "a.jar"));
    assertThrows(CommandLine.ParameterException.class, () -> parse("--ab-shape", "slow"));
    assertThrows(CommandLine.ParameterException.class, () -> parse("--ab-write", "lines"));
    assertThrows(CommandLine.ParameterException.class, () -> parse("--ab-rounds", "x"));
    assertThrows(CommandLine.ParameterException.class, () -> parse("--no-such-option"));
  }

  @Test
  void takesItsPortsFromBenchPortBase() {
    assertEquals(19500, Ports.fromEnv(null).simulator());
    Ports ports = Ports.fromEnv("29500");
    assertEquals(29500, ports.simulator());
    assertEquals(29501, ports.proxy());
    assertEquals(29502, ports.nginx());
    assertEquals(29503, ports.proxyH2c());
    assertEquals(29504, ports.cluster());
    assertEquals(29505, ports.clusterHttpManagement());
    assertEquals(29506, ports.clusterWorkerManagement());
    assertEquals(29507, ports.bare());
    assertThrows(BenchException.class, () -> Ports.fromEnv("many"));
  }

  @Test
  void helpKeepsTheScriptsExplanation() {
    StringWriter out = new StringWriter();
    new CommandLine(new BenchCommand()).usage(new PrintWriter(out));
    String help = out.toString();
    assertTrue(help.contains("Benchmark suite: the simulator, the proxy and nginx on loopback"), help);
    assertTrue(help.contains("BENCH_PORT_BASE=29500 scripts/bench"), help);
    assertTrue(help.contains("--ab-rounds"), help);
  }
}
