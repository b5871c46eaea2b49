package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The real process, as an operator runs it: on SIGTERM it takes no new streams, lets open ones finish within the
 * drain time, ends the rest with an error event, and exits 0.
 */
class GracefulShutdownTest {
  private static final String STREAM = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":2000,\"stream\":true,"
      + "\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}";

  @Test
  void drainsOpenStreamsOnSigtermAndExitsZero() throws Exception {
    Path dir = Files.createTempDirectory("csp-shutdown");
    ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), "dev.claudeproxy.internal.cli.Main", "serve")
        .redirectErrorStream(true);
    builder.environment().remove("ANTHROPIC_API_KEY");
    builder.environment().putAll(java.util.Map.of(
        "PROXY_HOST", "127.0.0.1", "PROXY_PORT", "0", "PROXY_USERS", dir.resolve("users.json").toString(),
        "PROXY_DRAIN_MS", "3000", "PROXY_USAGE_FILE", dir.resolve("usage.jsonl").toString(), "SIM_TTFT_MS", "0", "SIM_JITTER", "0"));
    // Output goes to a file, not a pipe: Process.destroy() closes the parent's end of the pipes at once, and the
    // lines the proxy prints while it stops would be lost.
    Path log = dir.resolve("out.log");
    builder.redirectOutput(log.toFile());
    Process process = builder.start();
    try {
      int port = -1;
      String key = null;
      long deadline = System.currentTimeMillis() + 60_000;
      while (port < 0 || key == null) {
        assertTrue(System.currentTimeMillis() < deadline && process.isAlive(), "the proxy did not start: "
            + Files.readString(log));
        Thread.sleep(50);
        for (String line : Files.readAllLines(log)) {
          Matcher listening = Pattern.compile("; open http://127\\.0\\.0\\.1:(\\d+)/").matcher(line);
          if (listening.find()) {
            port = Integer.parseInt(listening.group(1));
          }
          if (line.startsWith("Development API key: ")) {
            key = line.substring("Development API key: ".length());
          }
        }
      }
      String base = "http://127.0.0.1:" + port;
      // HTTP/1.1 as the SDKs and browsers speak it in clear text (JDK 17's client would try h2c, and it fails every
      // stream on an HTTP/2 GOAWAY, even those the server goes on serving).
      HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      // One stream that ends within the drain time (20 tokens at 20/s), one that cannot (1000 at 5/s).
      CompletableFuture<HttpResponse<InputStream>> shortOne = client.sendAsync(
          request(base, key, "short", "20", "20"), HttpResponse.BodyHandlers.ofInputStream());
      CompletableFuture<HttpResponse<InputStream>> longOne = client.sendAsync(
          request(base, key, "long", "5", "1000"), HttpResponse.BodyHandlers.ofInputStream());
      // Both streams under way: their heads have come (on a busy machine this can take a while).
      HttpResponse<InputStream> shortStream = shortOne.get(30, TimeUnit.SECONDS);
      HttpResponse<InputStream> longStream = longOne.get(30, TimeUnit.SECONDS);
      assertEquals(200, shortStream.statusCode());
      assertEquals(200, longStream.statusCode());

      process.destroy(); // SIGTERM
      String finished = new String(shortStream.body().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(finished.endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), finished);
      String cut = new String(longStream.body().readAllBytes(), StandardCharsets.UTF_8);
      String last = Wire.lastEvent(cut);
      assertTrue(last.startsWith("event: error\n") && last.contains("shutting down"), last);

      assertTrue(process.waitFor(20, TimeUnit.SECONDS), "the process exited");
      assertEquals(0, process.exitValue());
      try {
        HttpResponse<String> late = client.send(request(base, key, "late", "20", "5"),
            HttpResponse.BodyHandlers.ofString());
        throw new AssertionError("a stream was accepted after shutdown: " + late.statusCode());
      } catch (ConnectException expected) {
        // nobody listens any more
      }
      List<String> output = Files.readAllLines(log);
      assertTrue(output.contains("Stopping: finishing open streams first") && output.contains("Stopped"),
          String.join("\n", output));
      // Both streams ended during the drain, and each has its access line, with the tokens it used.
      List<JsonObject> streams = output.stream().filter(l -> l.startsWith("{") && l.contains("\"request_id\""))
          .map(JsonObject::new).filter(l -> "/v1/messages".equals(l.getString("path"))).toList();
      JsonObject completed = streams.stream().filter(l -> "completed".equals(l.getString("outcome"))).findFirst()
          .orElseThrow(() -> new AssertionError("no access line for the stream that finished: " + output));
      assertEquals(20, completed.getLong("output_tokens"), completed.encode());
      JsonObject ended = streams.stream().filter(l -> "shutdown".equals(l.getString("outcome"))).findFirst()
          .orElseThrow(() -> new AssertionError("no access line for the stream ended by the drain: " + output));
      assertTrue(ended.getLong("output_tokens", 0L) > 1, ended.encode());
    } finally {
      process.destroyForcibly();
    }
  }

  private static HttpRequest request(String base, String key, String text, String tps, String tokens) {
    return HttpRequest.newBuilder(URI.create(base + "/v1/messages"))
        .header("content-type", "application/json").header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .header("x-sim-tokens-per-second", tps).header("x-sim-output-tokens", tokens)
        .POST(HttpRequest.BodyPublishers.ofString(String.format(STREAM, text))).build();
  }
}
