package dev.claudeproxy.internal.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.server.ClusterNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Limits and usage held by two nodes of one Hazelcast cluster (two clustered Vert.x in this JVM, on loopback): what one
 * node admits or records, the other sees; a node that dies lets go of its streams once its lease runs out.
 */
class ClusterLimitsTest {
  private static final AtomicLong NOW = new AtomicLong(1_700_000_000_000L);
  private static Vertx one;
  private static Vertx two;
  private static Node a;
  private static Node b;

  private record Node(ClusterState state, ClusterUsage usage, ClusterLimits limits) {}

  @BeforeAll
  static void start() throws Exception {
    String cluster = "csp-limits-" + UUID.randomUUID();
    one = await(clustered(cluster));
    two = await(clustered(cluster));
    a = node(one, "node-a");
    b = node(two, "node-b");
  }

  @AfterAll
  static void stop() throws Exception {
    await(one.close());
    if (two != null) {
      await(two.close());
    }
  }

  private static Node node(Vertx vertx, String id) throws Exception {
    ClusterState state = new ClusterState(vertx, "limits-test", id, 5_000);
    await(state.start());
    ClusterUsage usage = new ClusterUsage(vertx, state, UsageLedger.inMemory(NOW::get), NOW::get);
    return new Node(state, usage, new ClusterLimits(vertx, state, usage, NOW::get));
  }

  private static Caller caller(String user, Limits limits) {
    return new Caller(user, null, false, limits, "api_key");
  }

  private static Limiter.Decision decide(Node node, Caller caller) throws Exception {
    return await(node.limits().decide(caller));
  }

  @Test
  void concurrentStreamsAreCountedAcrossNodes() throws Exception {
    Caller c = caller("concurrent", new Limits(null, null, null, null, 2, null, null));
    Limiter.Admission first = assertInstanceOf(Limiter.Admission.class, decide(a, c));
    assertInstanceOf(Limiter.Admission.class, decide(b, c));
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, decide(b, c));
    assertEquals("concurrent_streams", refusal.limit());
    assertEquals("concurrent_streams", assertInstanceOf(Limiter.Refusal.class, decide(a, c)).limit());
    first.close();
    waitFor(() -> decide(b, c) instanceof Limiter.Admission, "the place given back on one node to be free on the other");
  }

  @Test
  void requestsPerMinuteAreCountedAcrossNodes() throws Exception {
    Caller c = caller("rpm", new Limits(null, null, 3, null, null, null, null));
    assertInstanceOf(Limiter.Admission.class, decide(a, c));
    assertInstanceOf(Limiter.Admission.class, decide(b, c));
    assertInstanceOf(Limiter.Admission.class, decide(a, c));
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, decide(b, c));
    assertEquals("requests_per_minute", refusal.limit());
    assertEquals(429, refusal.error().status());
    NOW.addAndGet(61_000);
    assertInstanceOf(Limiter.Admission.class, decide(b, c));
  }

  @Test
  void tokensPerMinuteAndDailyTokensAreCountedAcrossNodes() throws Exception {
    Caller perMinute = caller("tpm", new Limits(null, null, null, 100L, null, null, null));
    assertInstanceOf(Limiter.Admission.class, decide(a, perMinute));
    a.limits().recordTokens("tpm", 150);
    waitFor(() -> decide(b, perMinute) instanceof Limiter.Refusal r && r.limit().equals("tokens_per_minute"),
        "tokens counted on one node to refuse on the other");

    Caller daily = caller("daily", new Limits(null, null, null, null, null, 1_000L, null));
    assertInstanceOf(Limiter.Admission.class, decide(b, daily));
    a.usage().record("daily", "claude-sonnet-4-6", new JsonObject().put("input_tokens", 400)
        .put("output_tokens", 700), false);
    waitFor(() -> await(b.usage().spentToday("daily")) == 1_100, "the day's tokens to be seen on the other node");
    Limiter.Refusal refusal = assertInstanceOf(Limiter.Refusal.class, decide(b, daily));
    assertEquals("daily_tokens", refusal.limit());
  }

  @Test
  void usageRecordedOnBothNodesIsOneReport() throws Exception {
    a.usage().record("reported", "m1", new JsonObject().put("input_tokens", 10).put("output_tokens", 20), false);
    b.usage().record("reported", "m1", new JsonObject().put("input_tokens", 1).put("output_tokens", 2), true);
    waitFor(() -> {
      JsonObject report = await(a.usage().usageReport("reported", 1));
      return !report.getJsonArray("days").isEmpty() && report.getJsonArray("days").getJsonObject(0)
          .getJsonArray("users").getJsonObject(0).getJsonArray("models").getJsonObject(0).getLong("requests") == 2;
    }, "both records in the report");
    JsonObject row = await(b.usage().usageReport(null, 1)).getJsonArray("days").getJsonObject(0)
        .getJsonArray("users").stream().map(JsonObject.class::cast)
        .filter(u -> u.getString("user").equals("reported")).findFirst().orElseThrow()
        .getJsonArray("models").getJsonObject(0);
    assertEquals(11, row.getLong("input_tokens"));
    assertEquals(22, row.getLong("output_tokens"));
    assertEquals(2, row.getLong("estimated_output_tokens"));
    assertEquals(2, row.getLong("requests"));
  }

  /**
   * Many streams of one user at once, on both nodes: batched writes to the user's one entry admit exactly as many as
   * the limit allows, and count every ending, promptly (writes that each contended for the key fell hours behind).
   */
  @Test
  void aBurstOfOneUsersStreamsOnBothNodesIsCountedExactly() throws Exception {
    Caller c = caller("burst", new Limits(null, null, null, null, 100, null, null));
    List<Future<Limiter.Decision>> decisions = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      decisions.add((i % 2 == 0 ? a : b).limits().decide(c));
    }
    await(Future.join(decisions));
    List<Limiter.Admission> admitted = new ArrayList<>();
    for (Future<Limiter.Decision> d : decisions) {
      if (d.result() instanceof Limiter.Admission admission) {
        admitted.add(admission);
      }
    }
    assertEquals(100, admitted.size());
    admitted.forEach(Limiter.Admission::close);
    waitFor(() -> decide(a, c) instanceof Limiter.Admission, "the places to be given back");

    long started = System.nanoTime();
    for (int i = 0; i < 2_000; i++) {
      (i % 2 == 0 ? a : b).usage().record("many", "m", new JsonObject().put("input_tokens", 1)
          .put("output_tokens", 2), false);
    }
    waitFor(() -> await(a.usage().spentToday("many")) == 6_000, "2,000 records of one user");
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(ms < 15_000, "2,000 records took " + ms + " ms");
  }

  @Test
  void aNodeThatDiesLetsGoOfItsStreamsWhenItsLeaseRunsOut() throws Exception {
    Caller c = caller("lease", new Limits(null, null, null, null, 1, null, null));
    Vertx three = await(clustered(clusterOf()));
    Node doomed = node(three, "node-doomed");
    assertInstanceOf(Limiter.Admission.class, decide(doomed, c));
    waitFor(() -> decide(a, c) instanceof Limiter.Refusal, "the other node to see the stream");
    waitFor(() -> a.state().liveNodes().contains("node-doomed"), "the other node to see the new node's lease");
    await(three.close());
    long closed = System.nanoTime();
    try {
      waitFor(() -> decide(a, c) instanceof Limiter.Admission, "the dead node's place to be freed");
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + ": live " + a.state().liveNodes() + ", state "
          + await(a.state().read("limits", "lease")) + ", leases " + await(a.state().map("nodes").compose(m -> m.entries())));
    }
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closed);
    assertTrue(ms <= ClusterState.LEASE_MS + 2 * ClusterState.LEASE_RENEW_MS + 1_000, ms + " ms");
  }

  private static String clusterName;

  private static String clusterOf() {
    return clusterName;
  }

  interface Check {
    boolean ok() throws Exception;
  }

  private static void waitFor(Check check, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!check.ok()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static <T> T await(Future<T> future) throws Exception {
    return future.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  /** A node as the server makes one: three of them on one Hazelcast port, each taking the next free one. */
  private static Future<Vertx> clustered(String name) {
    clusterName = name;
    ClusterConfig config = ClusterConfig.from(new Settings(new JsonObject().put("PROXY_CLUSTER_MEMBERS", "127.0.0.1")
        .put("PROXY_CLUSTER_HOST", "127.0.0.1").put("PROXY_CLUSTER_PORT", 5801).put("PROXY_CLUSTER_NAME", name)));
    return ClusterNode.start(config, Vertx.builder(), new VertxOptions());
  }
}
