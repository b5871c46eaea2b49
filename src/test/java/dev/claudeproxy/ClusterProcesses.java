package dev.claudeproxy;

import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A cluster of real processes on loopback for tests: a simulator process, and proxy nodes started as the server
 * starts ({@code Main serve}) with the test's class path, each a JVM of its own, joined by Hazelcast over TCP/IP.
 * What a test asserts it reads from the outside: HTTP answers, stream bytes, the simulator's counters.
 */
final class ClusterProcesses implements AutoCloseable {
  static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private final Path dir;
  private final List<Node> nodes = new CopyOnWriteArrayList<>();
  private final String clusterName = "csp-test-" + System.nanoTime();
  final List<String> members = new ArrayList<>();
  Process simulator;
  int simulatorPort;

  ClusterProcesses(Path dir) {
    this.dir = dir;
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reserves a Hazelcast port for a node to come; every node lists all of them as members. */
  int reserveMember() {
    int port = freePort();
    members.add("127.0.0.1:" + port);
    return port;
  }

  void startSimulator(Map<String, String> env) throws Exception {
    simulatorPort = freePort();
    Map<String, String> all = new LinkedHashMap<>(env);
    all.put("SIM_PORT", Integer.toString(simulatorPort));
    all.put("SIM_HOST", "127.0.0.1");
    simulator = launch("simulator", "simulate", all);
    waitFor(() -> get("http://127.0.0.1:" + simulatorPort + "/sim/stats").statusCode() == 200, 60,
        "the simulator to listen");
  }

  JsonObject simulatorStats() {
    return new JsonObject(get("http://127.0.0.1:" + simulatorPort + "/sim/stats").body());
  }

  /** A node of the given role, on its own ports; started by {@link Node#start()}. */
  Node node(String name, String role, int hazelcastPort, Map<String, String> extra) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PROXY_ROLE", role);
    env.put("PROXY_CLUSTER_NAME", clusterName);
    env.put("PROXY_CLUSTER_HOST", "127.0.0.1");
    env.put("PROXY_CLUSTER_PORT", Integer.toString(hazelcastPort));
    env.put("PROXY_NODE_ID", name);
    env.put("PROXY_HOST", "127.0.0.1");
    env.put("PROXY_PORT", Integer.toString(freePort()));
    env.put("PROXY_MANAGEMENT_PORT", Integer.toString(freePort()));
    env.put("PROXY_HTTP_INSTANCES", "1");
    env.put("PROXY_WORKER_INSTANCES", "1");
    env.put("PROXY_USAGE_FILE", dir.resolve(name + "-usage.jsonl").toString());
    if (role.equals("worker")) {
      env.put("ANTHROPIC_API_KEY", TestStack.UPSTREAM_KEY);
      env.put("ANTHROPIC_BASE_URL", "http://127.0.0.1:" + simulatorPort);
    } else {
      env.put("PROXY_FORWARD_SIM_HEADERS", "true");
    }
    env.putAll(extra);
    Node node = new Node(name, role, env);
    nodes.add(node);
    return node;
  }

  private Process launch(String name, String command, Map<String, String> env) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
        "-cp", System.getProperty("java.class.path"), "dev.claudeproxy.internal.cli.Main", command));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile())
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve(name + ".log").toFile()));
    pb.environment().keySet().removeIf(k -> k.startsWith("PROXY_") || k.startsWith("ANTHROPIC_") || k.startsWith("SIM_"));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** All a node's output so far. */
  String output(String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  /** The tail of a node's output, for a failed assertion's message. */
  String log(String name) {
    try {
      List<String> lines = Files.readAllLines(dir.resolve(name + ".log"));
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  @Override
  public void close() {
    for (Node n : nodes) {
      n.kill();
    }
    if (simulator != null) {
      simulator.destroyForcibly();
    }
  }

  final class Node {
    final String name;
    final String role;
    final Map<String, String> env;
    Process process;

    Node(String name, String role, Map<String, String> env) {
      this.name = name;
      this.role = role;
      this.env = env;
    }

    Node start() throws IOException {
      process = launch(name, "serve", env);
      return this;
    }

    /** Waits until the node says it is ready (an HTTP node: some worker answers). */
    Node awaitReady() throws Exception {
      try {
        waitFor(() -> {
          if (!process.isAlive()) {
            throw new AssertionError(name + " exited with " + process.exitValue());
          }
          return ready() == 200;
        }, 90, name + " to be ready");
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; its output:\n" + log(name), e);
      }
      return this;
    }

    int ready() {
      return get(managementUrl() + "/health/ready").statusCode();
    }

    String url() {
      return "http://127.0.0.1:" + env.get("PROXY_PORT");
    }

    String managementUrl() {
      return "http://127.0.0.1:" + env.get("PROXY_MANAGEMENT_PORT");
    }

    /** kill -9: no goodbye to the cluster. */
    void kill() {
      if (process != null) {
        process.destroyForcibly();
        try {
          process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    /** SIGTERM: the orderly stop. */
    void terminate() {
      process.destroy();
    }

    boolean exited(long seconds) throws InterruptedException {
      return process.waitFor(seconds, TimeUnit.SECONDS);
    }
  }

  static HttpResponse<String> get(String url) {
    return get(url, Map.of());
  }

  static HttpResponse<String> get(String url, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    headers.forEach(b::header);
    return send(b.build());
  }

  static HttpResponse<String> post(String url, String key, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + "/v1/messages")).timeout(Duration.ofSeconds(60))
        .header("content-type", "application/json").header("x-api-key", key)
        .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return send(b.build());
  }

  /** Sends {@code request}; one that cannot be sent (connection refused) gets status 0. */
  private static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return new Failed(request.uri().toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static String streamingBody(String text) {
    return "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":200,\"stream\":true,"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]}";
  }

  interface Check {
    boolean ok() throws Exception;
  }

  static void waitFor(Check check, int seconds, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      try {
        if (check.ok()) {
          return;
        }
      } catch (AssertionError e) {
        throw e;
      } catch (Exception e) {
        // not yet
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(100);
    }
  }

  /** One streaming request read as it arrives, its lines timed. */
  static final class SseCall {
    final CountDownLatch headers = new CountDownLatch(1);
    final CountDownLatch done = new CountDownLatch(1);
    final List<String> lines = new CopyOnWriteArrayList<>();
    volatile int status;
    volatile long errorAtNanos;
    volatile long stopAtNanos;
    volatile Throwable failure;

    SseCall(String baseUrl, String key, String body, Map<String, String> headersToSend) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(baseUrl + "/v1/messages"))
          .timeout(Duration.ofSeconds(120))
          .header("content-type", "application/json").header("x-api-key", key)
          .header("anthropic-version", "2023-06-01").POST(HttpRequest.BodyPublishers.ofString(body));
      headersToSend.forEach(b::header);
      HTTP.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()).whenComplete((r, e) -> {
        if (e != null) {
          failure = e;
          headers.countDown();
          done.countDown();
          return;
        }
        status = r.statusCode();
        headers.countDown();
        Thread reader = new Thread(() -> read(r.body()), "sse-reader");
        reader.setDaemon(true);
        reader.start();
      });
    }

    private void read(InputStream in) {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          lines.add(line);
          if (line.equals("event: error") && errorAtNanos == 0) {
            errorAtNanos = System.nanoTime();
          }
          if (line.equals("event: message_stop")) {
            stopAtNanos = System.nanoTime();
          }
        }
      } catch (IOException e) {
        failure = e;
      } finally {
        done.countDown();
      }
    }

    boolean completed() {
      return stopAtNanos != 0 && errorAtNanos == 0;
    }

    boolean awaitDone(long seconds) throws InterruptedException {
      return done.await(seconds, TimeUnit.SECONDS);
    }

    String text() {
      return String.join("\n", lines);
    }
  }

  /** A response for a request that could not be sent (connection refused): status 0. */
  private record Failed(String url) implements HttpResponse<String> {
    @Override
    public int statusCode() {
      return 0;
    }

    @Override
    public HttpRequest request() {
      return HttpRequest.newBuilder(URI.create(url)).build();
    }

    @Override
    public java.util.Optional<HttpResponse<String>> previousResponse() {
      return java.util.Optional.empty();
    }

    @Override
    public java.net.http.HttpHeaders headers() {
      return java.net.http.HttpHeaders.of(Map.of(), (a, b) -> true);
    }

    @Override
    public String body() {
      return "";
    }

    @Override
    public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
      return java.util.Optional.empty();
    }

    @Override
    public URI uri() {
      return URI.create(url);
    }

    @Override
    public HttpClient.Version version() {
      return HttpClient.Version.HTTP_1_1;
    }
  }
}
