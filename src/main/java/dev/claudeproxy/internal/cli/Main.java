package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.bench.BenchCommand;
import dev.claudeproxy.internal.bench.SoakCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar claude-stream-proxy-server.jar serve|simulate|keys|loadtest|bench ...} */
@Command(
    name = "claude-stream-proxy",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "A streaming proxy for Claude's Messages API on Eclipse Vert.x.",
    subcommands = {ServeCommand.class, SimulateCommand.class, KeysCommand.class, LoadtestCommand.class,
        BenchCommand.class, SoakCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).execute(args.length == 0 ? new String[] {"serve"} : args);
    if (code != 0) {
      System.exit(code);
    }
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"claude-stream-proxy " + (v == null ? "dev" : v)};
    }
  }
}
