package dev.claudeproxy.cli;

import dev.claudeproxy.load.LoadConfig;
import dev.claudeproxy.load.LoadGenerator;
import dev.claudeproxy.load.LoadReport;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import java.net.InetAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "loadtest", mixinStandardHelpOptions = true,
    description = "Open many concurrent streams against /v1/messages or /v1/chat, check every one, and report"
        + " time to first token, gaps between deltas, durations, errors and integrity (JSON and HTML).")
final class LoadtestCommand implements Callable<Integer> {
  /** Connections per local address before another 127.0.0.x is used (one address has ~28,000 ports). */
  private static final int STREAMS_PER_ADDRESS = 20_000;

  @Option(names = "--url", description = "Base URL of the proxy or upstream (default: ${DEFAULT-VALUE}).")
  URI url = URI.create("http://127.0.0.1:8080");

  @Option(names = "--endpoint", description = "messages or chat (default: ${DEFAULT-VALUE}).")
  String endpoint = "messages";

  @Option(names = "--key", description = "API key, sent as x-api-key (default: $LOADTEST_KEY).",
      defaultValue = "${env:LOADTEST_KEY}")
  String key;

  @Option(names = {"-c", "--concurrency"}, description = "Streams open at once (default: ${DEFAULT-VALUE}).")
  int concurrency = 100;

  @Option(names = {"-n", "--streams"}, description = "Streams in all (default: 10 x concurrency, unless --duration).")
  long streams;

  @Option(names = {"-d", "--duration"}, description = "Seconds to keep starting streams.")
  Long durationSeconds;

  @Option(names = "--ramp-up", description = "Seconds to reach the concurrency (default: ${DEFAULT-VALUE}).")
  double rampUp = 0;

  @Option(names = "--template", description = "Request body file; {{n}} in it becomes the stream's number.")
  Path template;

  @Option(names = "--model", description = "Model of the default request (default: ${DEFAULT-VALUE}).")
  String model = "claude-sonnet-4-6";

  @Option(names = "--max-tokens", description = "max_tokens of the default request (default: ${DEFAULT-VALUE}).")
  int maxTokens = 1024;

  @Option(names = {"-H", "--header"}, description = "Extra header NAME:VALUE, e.g. x-sim-tokens-per-second:20.")
  List<String> headers = List.of();

  @Option(names = "--verify-tokens", description = "Ask the simulator for this many tokens per stream and check"
      + " each final text against what it sends (0: off; default: ${DEFAULT-VALUE}).")
  int verifyTokens = 0;

  @Option(names = "--addresses", description = "Local 127.0.0.x addresses to spread connections over (default: "
      + "enough for the concurrency on loopback, else 1).")
  Integer addresses;

  @Option(names = "--warmup", description = "Streams run and checked first but kept out of the timing figures"
      + " (default: ${DEFAULT-VALUE}).")
  long warmup = 0;

  @Option(names = "--json", description = "Summary file (default: ${DEFAULT-VALUE}).")
  Path json = Path.of("target", "loadtest", "summary.json");

  @Option(names = "--html", description = "HTML report (default: ${DEFAULT-VALUE}).")
  Path html = Path.of("target", "loadtest", "report.html");

  @Option(names = {"-q", "--quiet"}, description = "No progress line.")
  boolean quiet;

  @Override
  public Integer call() throws Exception {
    if (!"messages".equals(endpoint) && !"chat".equals(endpoint)) {
      System.err.println("--endpoint must be messages or chat");
      return 2;
    }
    JsonObject body;
    try {
      body = template == null ? LoadConfig.defaultTemplate(endpoint, model, maxTokens)
          : new JsonObject(Files.readString(template));
    } catch (DecodeException e) {
      System.err.println("--template " + template + " is not a JSON object: " + e.getMessage());
      return 2;
    }
    Map<String, String> extra = new LinkedHashMap<>();
    for (String header : headers) {
      int colon = header.indexOf(':');
      if (colon <= 0) {
        System.err.println("--header must be NAME:VALUE, got " + header);
        return 2;
      }
      extra.put(header.substring(0, colon).trim(), header.substring(colon + 1).trim());
    }
    boolean loopback = InetAddress.getByName(url.getHost()).isLoopbackAddress();
    int spread = addresses != null ? addresses
        : loopback ? Math.max(1, (concurrency + STREAMS_PER_ADDRESS - 1) / STREAMS_PER_ADDRESS) : 1;
    long total = streams > 0 ? streams : durationSeconds == null ? 10L * concurrency : 0;
    LoadConfig config = new LoadConfig(url, endpoint, key, concurrency, total,
        durationSeconds == null ? null : Duration.ofSeconds(durationSeconds),
        Duration.ofMillis((long) (rampUp * 1000)), body, extra, verifyTokens, spread, warmup);

    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
    try {
      LoadReport report = new LoadGenerator(config, quiet ? null : System.err).run(vertx)
          .toCompletionStage().toCompletableFuture().get(7, TimeUnit.DAYS);
      Files.createDirectories(json.toAbsolutePath().getParent());
      Files.createDirectories(html.toAbsolutePath().getParent());
      report.writeJson(json);
      report.writeHtml(html);
      System.out.println(report.summary().encodePrettily());
      System.err.println("Summary: " + json + "   Report: " + html);
      return report.clean() ? 0 : 1;
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }
}
