package dev.claudeproxy;

import static dev.claudeproxy.ClusterProcesses.get;
import static dev.claudeproxy.ClusterProcesses.post;
import static dev.claudeproxy.ClusterProcesses.streamingBody;
import static dev.claudeproxy.ClusterProcesses.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import dev.claudeproxy.StreamCut.Endpoint;
import dev.claudeproxy.StreamCut.Where;
import dev.claudeproxy.internal.users.ApiKeys;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster mode as users run it: a simulator, two HTTP nodes and two worker nodes, each a JVM of its own on loopback,
 * joined by Hazelcast. Limits and usage hold across HTTP nodes; a worker or an HTTP node killed mid-stream, or
 * stopped for a rolling restart, is seen from the outside (client bytes, the simulator's counters, timings).
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterTest {
  @TempDir
  static Path dir;
  private static ClusterProcesses cluster;
  private static ClusterProcesses.Node httpA;
  private static ClusterProcesses.Node httpB;
  private static ClusterProcesses.Node worker1;
  private static ClusterProcesses.Node worker2;
  private static final Map<String, String> KEYS = new HashMap<>();
  private static final Map<String, String> SLOW = Map.of("x-sim-tokens-per-second", "10", "x-sim-output-tokens", "40");

  @BeforeAll
  static void start() throws Exception {
    JsonArray users = new JsonArray();
    for (String user : List.of("sdk", "solo", "reader", "resumer", "dying", "orphaned", "drainer")) {
      String key = ApiKeys.generate();
      KEYS.put(user, key);
      JsonObject u = new JsonObject().put("id", user).put("keys", new JsonArray().add(ApiKeys.hash(key)));
      if (user.equals("solo")) {
        u.put("limits", new JsonObject().put("concurrentStreams", 1));
      }
      users.add(u);
    }
    Path usersFile = dir.resolve("users.json");
    Files.writeString(usersFile, new JsonObject().put("users", users).encode());
    cluster = new ClusterProcesses(dir);
    cluster.startSimulator(Map.of("SIM_TTFT_MS", "20"));
    int a = cluster.reserveMember();
    int b = cluster.reserveMember();
    int w1 = cluster.reserveMember();
    int w2 = cluster.reserveMember();
    String members = String.join(",", cluster.members);
    Map<String, String> common = Map.of("PROXY_CLUSTER_MEMBERS", members, "PROXY_USERS", usersFile.toString(),
        "PROXY_DRAIN_MS", "20000", "PROXY_SHUTDOWN_DELAY_MS", "3000");
    httpA = cluster.node("http-a", "http", a, common).start();
    httpB = cluster.node("http-b", "http", b, common).start();
    worker1 = cluster.node("worker-1", "worker", w1, common).start();
    worker2 = cluster.node("worker-2", "worker", w2, common).start();
    for (ClusterProcesses.Node n : List.of(httpA, httpB, worker1, worker2)) {
      n.awaitReady();
    }
    waitForWorkers(2);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Until the HTTP nodes' starts reach {@code n} workers: round robin over n streams meets each of them. */
  private static void waitForWorkers(int n) throws Exception {
    waitFor(() -> {
      for (ClusterProcesses.Node http : List.of(httpA, httpB)) {
        if (http.process.isAlive() && post(http.url(), KEYS.get("sdk"), streamingBody("warm"), Map.of())
            .statusCode() != 200) {
          return false;
        }
      }
      return true;
    }, 60, n + " workers reachable from the HTTP nodes");
  }

  @Test
  @Order(1)
  void theOfficialSdkStreamsThroughEitherHttpNode() {
    for (ClusterProcesses.Node http : List.of(httpA, httpB)) {
      AnthropicClient client = AnthropicOkHttpClient.builder().baseUrl(http.url()).apiKey(KEYS.get("sdk"))
          .maxRetries(0).timeout(Duration.ofSeconds(30)).build();
      StringBuilder text = new StringBuilder();
      List<String> kinds = new ArrayList<>();
      try (StreamResponse<RawMessageStreamEvent> events = client.messages().createStreaming(MessageCreateParams
          .builder().model("claude-sonnet-4-6").maxTokens(100).addUserMessage("Across the cluster").build())) {
        events.stream().forEach(e -> {
          kinds.add(e.isMessageStart() ? "start" : e.isMessageStop() ? "stop" : "other");
          e.contentBlockDelta().flatMap(d -> d.delta().text()).ifPresent(t -> text.append(t.text()));
        });
      }
      assertEquals("start", kinds.get(0));
      assertEquals("stop", kinds.get(kinds.size() - 1));
      assertTrue(text.length() > 0, "text through " + http.name);
    }
  }

  @Test
  @Order(2)
  void aConcurrencyLimitOfOneHoldsAcrossHttpNodes() throws Exception {
    ClusterProcesses.SseCall open = new ClusterProcesses.SseCall(httpA.url(), KEYS.get("solo"),
        streamingBody("hold a place"), SLOW);
    assertTrue(open.headers.await(10, TimeUnit.SECONDS));
    assertEquals(200, open.status);
    HttpResponse<String> refused = post(httpB.url(), KEYS.get("solo"), streamingBody("second"), Map.of());
    assertEquals(429, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("rate_limit_error"), refused.body());
    assertTrue(refused.headers().firstValue("retry-after").isPresent());
    assertTrue(open.awaitDone(30));
    assertTrue(open.completed(), open.text());
    // The place is given back as the stream ends, cluster-wide.
    waitFor(() -> post(httpB.url(), KEYS.get("solo"), streamingBody("now"), Map.of()).statusCode() == 200, 10,
        "the place to be free on the other node");
  }

  @Test
  @Order(3)
  void usageWrittenViaOneNodeIsReadFromTheOther() throws Exception {
    HttpResponse<String> r = post(httpA.url(), KEYS.get("reader"), streamingBody("count me"), Map.of());
    assertEquals(200, r.statusCode(), r.body());
    waitFor(() -> requests(httpB, "reader") == 1, 10, "the usage to be readable on the other node");
    JsonObject model = usageRow(httpB, "reader");
    assertTrue(model.getLong("output_tokens") > 0, model.encode());
    assertTrue(model.getLong("input_tokens") > 0, model.encode());
  }

  @Test
  @Order(4)
  void metricsNameTheNodeAndItsRoleAndBothSidesLogARequestUnderOneId() throws Exception {
    String http = get(httpA.managementUrl() + "/metrics").body();
    assertTrue(http.contains("claude_proxy_active_streams{node=\"http-a\",role=\"http\"}"), http);
    String worker = get(worker1.managementUrl() + "/metrics").body();
    assertTrue(worker.contains("node=\"worker-1\",role=\"worker\""), worker);
    HttpResponse<String> r = post(httpA.url(), KEYS.get("sdk"), streamingBody("find my line"), Map.of());
    assertEquals(200, r.statusCode(), r.body());
    // The answer carries the upstream's request-id; the HTTP node's line names it beside the proxy's own id.
    String upstreamId = r.headers().firstValue("request-id").orElseThrow();
    String[] id = {null};
    waitFor(() -> {
      for (String line : cluster.output("http-a").split("\n")) {
        if (line.startsWith("{") && upstreamId.equals(new JsonObject(line).getString("upstream_request_id"))) {
          id[0] = new JsonObject(line).getString("request_id");
          return true;
        }
      }
      return false;
    }, 10, "the HTTP node's line");
    waitFor(() -> (cluster.output("worker-1") + cluster.output("worker-2"))
        .contains("\"side\":\"worker\",\"request_id\":\"" + id[0] + "\""), 10, "the worker's line for " + id[0]);
  }

  /**
   * A stream cut at each kind of place resumes on the node it was cut on and on the other (messages, cut on A, by
   * {@code ?after}; chat, cut on B, by {@code Last-Event-ID}) to the bytes of an uninterrupted run; another user is
   * told on the other node that there is no such stream.
   */
  @Test
  @Order(5)
  void aStreamCutAnywhereResumesOnTheSameAndTheOtherHttpNodeToTheBytesOfAnUninterruptedRun() throws Exception {
    String key = KEYS.get("resumer");
    for (Endpoint endpoint : Endpoint.values()) {
      for (Where where : Where.values()) {
        if (endpoint == Endpoint.CHAT && where == Where.INSIDE_A_TOOL_INPUT) {
          continue; // the chat sends a tool call whole, at its end
        }
        String prompt = "resume me " + where;
        String body = endpoint == Endpoint.CHAT
            ? "{\"messages\":[{\"role\":\"user\",\"content\":\"" + prompt + "\"}]}"
            : where == Where.INSIDE_A_TOOL_INPUT ? StreamCut.withTool(streamingBody(prompt)) : streamingBody(prompt);
        Map<String, String> paced = new HashMap<>(Map.of("x-sim-output-tokens", "30",
            "x-sim-tokens-per-second", "20"));
        if (where == Where.BEFORE_FIRST_TOKEN) {
          paced.put("x-sim-ttft-ms", "1500");
        }
        ClusterProcesses.Node cutOn = endpoint == Endpoint.MESSAGES ? httpA : httpB;
        ClusterProcesses.Node other = cutOn == httpA ? httpB : httpA;
        List<String> reference = StreamCut.whole(other.url(), endpoint.path,
            StreamCut.headers(key, Map.of("x-sim-output-tokens", "30")), body);
        for (ClusterProcesses.Node resumeOn : List.of(cutOn, other)) {
          String what = endpoint.path + " cut " + where + " on " + cutOn.name + ", resumed on " + resumeOn.name;
          StreamCut cut = StreamCut.cut(cutOn.url(), endpoint.path, StreamCut.resumable(key, paced), body,
              where.on(endpoint));
          String position = Integer.toString(cut.position());
          if (resumeOn == other) {
            HttpResponse<String> stranger = ClusterProcesses.HTTP.send(HttpRequest.newBuilder(
                    URI.create(other.url() + "/v1/streams/" + cut.id() + "?after=" + position))
                .header("x-api-key", KEYS.get("reader")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, stranger.statusCode(), what + ", read by another user: " + stranger.body());
          }
          List<String> rest;
          try (SseSocket resumed = StreamCut.follow(resumeOn.url(), cut.id(),
              endpoint == Endpoint.MESSAGES ? "?after=" + position : "",
              endpoint == Endpoint.MESSAGES ? Map.of("x-api-key", key)
                  : Map.of("x-api-key", key, "last-event-id", position))) {
            assertEquals(200, resumed.status(), () -> what + "\n" + cluster.log(resumeOn.name));
            assertEquals(position, resumed.header("x-stream-position"), what);
            rest = Wire.withoutPings(resumed.rest());
          }
          where.checkRest(endpoint, cut.received(), rest);
          assertEquals(StreamCut.text(reference), StreamCut.text(cut.then(rest)), what);
        }
      }
    }
  }

  @Test
  @Order(6)
  void aStreamStartedOnOneHttpNodeIsStoppedFromTheOther() throws Exception {
    String key = KEYS.get("resumer");
    long cancelled = cluster.simulatorStats().getLong("streamsCancelled");
    try (SseSocket own = SseSocket.open(httpA.url(), "POST", "/v1/messages", StreamCut.resumable(key,
        Map.of("x-sim-output-tokens", "300", "x-sim-tokens-per-second", "10")), streamingBody("stop me elsewhere"))) {
      assertEquals(200, own.status());
      HttpResponse<String> stop = ClusterProcesses.HTTP.send(HttpRequest.newBuilder(
              URI.create(httpB.url() + "/v1/streams/" + own.header("x-stream-id")))
          .header("x-api-key", key).DELETE().build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(204, stop.statusCode(), stop.body());
      waitFor(() -> cluster.simulatorStats().getLong("streamsCancelled") == cancelled + 1, 10,
          "the upstream to be cancelled");
      String end = StreamCut.last(own.rest());
      assertTrue(end.startsWith("event: error\n"), end);
    }
  }

  @Test
  @Order(7)
  void aWorkerKilledMidStreamEndsItsStreamsWithAnErrorAndNewStreamsSoonSucceed() throws Exception {
    List<ClusterProcesses.SseCall> calls = openStreams(6, httpA, "dying",
        Map.of("x-sim-tokens-per-second", "10", "x-sim-output-tokens", "150"));
    Thread.sleep(1_000);
    long killedAt = System.nanoTime();
    worker1.kill();
    long firstSuccess = -1;
    long deadline = killedAt + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      if (post(httpA.url(), KEYS.get("sdk"), streamingBody("after the kill"), Map.of()).statusCode() == 200) {
        firstSuccess = System.nanoTime();
        break;
      }
    }
    assertTrue(firstSuccess > 0, "no new stream succeeded within 10 s of the kill");
    report("first new stream complete", firstSuccess - killedAt);
    for (int i = 0; i < 4; i++) {
      HttpResponse<String> r = post(httpA.url(), KEYS.get("sdk"), streamingBody("after " + i), Map.of());
      assertEquals(200, r.statusCode(), r.body());
    }
    int errored = 0;
    for (ClusterProcesses.SseCall c : calls) {
      assertTrue(c.awaitDone(40), "a stream hung after its worker died");
      if (c.errorAtNanos != 0) {
        errored++;
        long after = TimeUnit.NANOSECONDS.toMillis(c.errorAtNanos - killedAt);
        assertTrue(after < 12_000, "the error event came " + after + " ms after the kill");
        report("error event of a stream of the killed worker", c.errorAtNanos - killedAt);
        assertTrue(c.text().contains("went away"), c.text());
      } else {
        assertTrue(c.completed(), c.text());
      }
    }
    assertTrue(errored > 0 && errored < calls.size(), errored + " of " + calls.size() + " streams errored");
    // Every stream is in the usage, those cut short with what their worker had sent.
    waitFor(() -> requests(httpB, "dying") == calls.size(), 15, "the usage of all six streams");
    JsonObject row = usageRow(httpB, "dying");
    assertTrue(row.getLong("estimated_output_tokens") > 0, row.encode());
    worker1.start().awaitReady();
  }

  @Test
  @Order(8)
  void anHttpNodeKilledMidStreamHasItsUpstreamCallsCancelled() throws Exception {
    long cancelledBefore = cluster.simulatorStats().getLong("streamsCancelled");
    List<ClusterProcesses.SseCall> calls = openStreams(2, httpB, "orphaned",
        Map.of("x-sim-tokens-per-second", "5", "x-sim-output-tokens", "200"));
    long killedAt = System.nanoTime();
    httpB.kill();
    waitFor(() -> cluster.simulatorStats().getLong("streamsCancelled") >= cancelledBefore + calls.size(), 15,
        "the upstream calls of the dead HTTP node to be cancelled\n" + cluster.simulatorStats());
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    assertTrue(ms < 12_000, "cancelled " + ms + " ms after the kill");
    report("upstream calls of the killed HTTP node cancelled", System.nanoTime() - killedAt);
    // Two members have now been lost (a worker, then this node); usage kept with a backup survives both.
    assertEquals(1, requests(httpA, "reader"));
    assertEquals(6, requests(httpA, "dying"));
    httpB.start().awaitReady();
  }

  @Test
  @Order(9)
  void aWorkerStoppedWithSigtermFinishesItsStreamsWhileNewOnesGoElsewhere() throws Exception {
    waitForWorkers(2);
    List<ClusterProcesses.SseCall> open = openStreams(4, httpA, "drainer", SLOW);
    worker2.terminate();
    for (int i = 0; i < 6; i++) {
      HttpResponse<String> r = post(i % 2 == 0 ? httpA.url() : httpB.url(), KEYS.get("sdk"),
          streamingBody("during the drain " + i), Map.of());
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), r.body());
    }
    for (ClusterProcesses.SseCall c : open) {
      assertTrue(c.awaitDone(30));
      assertTrue(c.completed(), "a stream failed during a rolling restart:\n" + c.text());
    }
    assertTrue(worker2.exited(25), "the drained worker did not exit");
    assertEquals(0, worker2.process.exitValue(), cluster.log("worker-2"));
    worker2.start().awaitReady();
  }

  @Test
  @Order(10)
  void anHttpNodeStoppedWithSigtermIsNotReadyAtOnceServesMeanwhileAndDetachesResumableStreams() throws Exception {
    assertEquals(200, httpA.ready());
    // A resumable stream longer than the drain: when the drain ends, it is detached, not cancelled, and goes on
    // through the other HTTP node.
    String key = KEYS.get("resumer");
    String body = streamingBody("outlive my node");
    Map<String, String> paced = Map.of("x-sim-output-tokens", "300", "x-sim-tokens-per-second", "10");
    List<String> received = new ArrayList<>();
    String id;
    try (SseSocket own = SseSocket.open(httpA.url(), "POST", "/v1/messages", StreamCut.resumable(key, paced), body)) {
      assertEquals(200, own.status());
      id = own.header("x-stream-id");
      httpA.terminate();
      waitFor(() -> httpA.ready() == 503, 2, "readiness to go down");
      // PROXY_SHUTDOWN_DELAY_MS: requests that reach it before the load balancer has noticed are still served.
      HttpResponse<String> r = post(httpA.url(), KEYS.get("sdk"), streamingBody("late"), Map.of());
      assertEquals(200, r.statusCode(), r.body());
      for (String event = own.next(); event != null && !event.startsWith("event: error\n"); event = own.next()) {
        if (!Wire.isPing(event)) {
          received.add(event);
        }
      }
    }
    StreamCut cut = new StreamCut(id, List.copyOf(received));
    List<String> rest;
    try (SseSocket resumed = StreamCut.follow(httpB.url(), id, "?after=" + cut.position(), Map.of("x-api-key", key))) {
      assertEquals(200, resumed.status(), () -> cluster.log("http-b"));
      rest = Wire.withoutPings(resumed.rest());
    }
    List<String> reference = StreamCut.whole(httpB.url(), "/v1/messages",
        StreamCut.headers(key, Map.of("x-sim-output-tokens", "300")), body);
    assertEquals(StreamCut.text(reference), StreamCut.text(cut.then(rest)), "drained on A, resumed on B");
    assertTrue(httpA.exited(30), "the HTTP node did not exit");
    assertEquals(0, httpA.process.exitValue(), cluster.log("http-a"));
  }

  /** {@code n} streams of {@code user} through {@code http}, returned once each has its 200 head. */
  private static List<ClusterProcesses.SseCall> openStreams(int n, ClusterProcesses.Node http, String user,
      Map<String, String> headers) throws InterruptedException {
    List<ClusterProcesses.SseCall> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(new ClusterProcesses.SseCall(http.url(), KEYS.get(user), streamingBody(user + " " + i), headers));
    }
    for (ClusterProcesses.SseCall c : calls) {
      assertTrue(c.headers.await(10, TimeUnit.SECONDS), "no head for a stream of " + user);
      assertEquals(200, c.status);
    }
    return calls;
  }

  /** The times measured, in the test's output: what the README's bounds are checked against. */
  private static void report(String what, long nanos) {
    System.out.println("[cluster] " + what + ": " + TimeUnit.NANOSECONDS.toMillis(nanos) + " ms after the kill");
  }

  private static JsonObject usageRow(ClusterProcesses.Node http, String user) {
    JsonObject report = new JsonObject(get(http.url() + "/v1/usage", Map.of("x-api-key", KEYS.get(user))).body());
    return report.getJsonArray("days").getJsonObject(0).getJsonArray("users").getJsonObject(0)
        .getJsonArray("models").getJsonObject(0);
  }

  private static long requests(ClusterProcesses.Node http, String user) {
    try {
      return usageRow(http, user).getLong("requests");
    } catch (RuntimeException e) {
      return -1;
    }
  }
}
