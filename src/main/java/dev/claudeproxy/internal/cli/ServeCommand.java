package dev.claudeproxy.internal.cli;

import dev.claudeproxy.internal.server.ProxyServer;
import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigLoader;
import dev.claudeproxy.internal.config.Settings;
import io.micrometer.core.instrument.MeterRegistry;
import dev.claudeproxy.internal.observe.AccessLog;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    AccessLog access = AccessLog.toStandardOutput();
    return Launch.run(config, ServeCommand::metrics, (vertx, settings, metrics) -> ProxyServer.start(vertx, settings,
            metrics, access)
        .onSuccess(server -> banner(server).forEach(System.out::println))
        // The lines of the streams that ended during the drain are on the terminal before the process exits.
        .map(server -> () -> server.shutdown().eventually(() -> vertx.executeBlocking(() -> {
          access.awaitWritten(2_000);
          return null;
        })).mapEmpty()));
  }

  /** The meters: on a node of a cluster, every series is labelled with the node's role and id. */
  static ProxyMetrics metrics(Settings settings) {
    ClusterConfig cluster = ClusterConfig.from(settings);
    MeterRegistry registry = ProxyMetrics.defaultRegistry();
    if (cluster.clustered()) {
      registry.config().commonTags("role", cluster.role(), "node", cluster.nodeId());
    }
    return new ProxyMetrics(registry);
  }

  /** What is printed at start: where the proxy listens, as bound, and what it answers from. */
  static List<String> banner(ProxyServer server) {
    var c = server.config();
    ClusterConfig cluster = server.cluster();
    List<String> lines = new ArrayList<>();
    if (cluster.clustered()) {
      lines.add("Cluster node " + cluster.nodeId() + ", role " + cluster.role() + ", cluster "
          + (cluster.hazelcastConfig() != null ? "from " + cluster.hazelcastConfig()
              : "\"" + cluster.name() + "\" with members " + String.join(",", cluster.members())));
    }
    if (!cluster.servesHttp()) {
      lines.add("Stream workers only: health and metrics on " + hostPort(c.edges().managementHost(),
          server.managementPort()) + " (/metrics, /health/live, /health/ready)");
      lines.add(server.simulator() != null ? "Simulated replies: ANTHROPIC_API_KEY is not set, so answers come from"
          + " this node's built-in Claude simulator at " + server.simulator().baseUrl() + ", not from Claude."
          : "Upstream: " + c.upstreamBaseUrl());
      return lines;
    }
    lines.add(listening(c.host(), server.port()));
    lines.add(management(c.edges().managementHost(), server.managementPort()));
    if (!cluster.runsWorkers()) {
      lines.add("HTTP side only: streams go to the stream workers of the cluster");
      return lines;
    }
    if (server.simulator() != null) {
      lines.add("Simulated replies: ANTHROPIC_API_KEY is not set, so answers come from the built-in"
          + " Claude simulator at " + server.simulator().baseUrl() + ", not from Claude.");
    } else {
      lines.add("Upstream: " + c.upstreamBaseUrl());
    }
    if (server.developmentKey() != null) {
      lines.add("No users file at " + c.usersFile() + "; a key for this run only:");
      lines.add("Development API key: " + server.developmentKey());
    }
    return lines;
  }

  /** The first line: the address as bound, and the URL to open on this machine. */
  static String listening(String host, int port) {
    return "Claude Stream Proxy listening on " + hostPort(host, port) + reach(host) + "; open http://"
        + hostPort(openHost(host), port) + "/";
  }

  /** Where metrics and health are served; {@code port} -1 when on the main port. */
  static String management(String host, int port) {
    return port >= 0 ? "Metrics and health on " + hostPort(host, port) + " only: /metrics, /health/live, /health/ready"
        : "Metrics and health on the same port (/metrics, /health/live, /health/ready): in production, set"
            + " PROXY_MANAGEMENT_PORT to serve them apart from the API";
  }

  private static boolean anyAddress(String host) {
    return "0.0.0.0".equals(host) || "::".equals(host) || "0:0:0:0:0:0:0:0".equals(host);
  }

  private static String reach(String host) {
    if (anyAddress(host)) {
      return " (all interfaces)";
    }
    return "127.0.0.1".equals(host) || "localhost".equals(host) || "::1".equals(host) ? " (this machine only)" : "";
  }

  /** Where a browser on this machine reaches a server bound to {@code host}. */
  private static String openHost(String host) {
    return anyAddress(host) ? "127.0.0.1" : host;
  }

  private static String hostPort(String host, int port) {
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port;
  }
}
