package dev.claudeproxy.cli;

import dev.claudeproxy.ProxyServer;
import dev.claudeproxy.config.ConfigLoader;
import dev.claudeproxy.observe.AccessLog;
import dev.claudeproxy.observe.ProxyMetrics;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the proxy. Without ANTHROPIC_API_KEY it answers from the built-in Claude simulator.")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", description = "Configuration file (default: ${DEFAULT-VALUE}).")
  Path config = ConfigLoader.DEFAULT_FILE;

  @Override
  public Integer call() {
    AccessLog.toStandardOutput();
    ProxyMetrics metrics = ProxyMetrics.create();
    return Launch.run(config, metrics, (vertx, settings) -> ProxyServer.start(vertx, settings, metrics)
        .onSuccess(server -> {
      var c = server.config();
      System.out.println("Claude Stream Proxy listening on http://" + displayHost(c.host()) + ":" + server.port());
      if (server.simulator() != null) {
        System.out.println("Simulated replies: ANTHROPIC_API_KEY is not set, so answers come from the built-in"
            + " Claude simulator at " + server.simulator().baseUrl() + ", not from Claude.");
      } else {
        System.out.println("Upstream: " + c.upstreamBaseUrl());
      }
      if (server.developmentKey() != null) {
        System.out.println("No users file at " + c.usersFile() + "; a key for this run only:");
        System.out.println("Development API key: " + server.developmentKey());
      }
    }).map(server -> server::shutdown));
  }

  private static String displayHost(String host) {
    return "0.0.0.0".equals(host) ? "127.0.0.1" : host;
  }
}
