package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.config.ConfigLoader;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "simulate", mixinStandardHelpOptions = true,
    description = "Run the Claude Messages API simulator on its own (port from SIM_PORT, default 9000).")
final class SimulateCommand implements Callable<Integer> {
  @Option(names = "--config", description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config = ConfigLoader.DEFAULT_FILE;

  @Override
  public Integer call() {
    return Launch.run(config, (vertx, settings) -> Simulator.start(vertx, SimulatorConfig.from(settings))
        .onSuccess(sim -> System.out.println("Claude simulator listening on " + sim.baseUrl()
            + " (counters at " + sim.baseUrl() + "/sim/stats)"))
        .map(sim -> sim::close));
  }
}
