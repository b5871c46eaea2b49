package dev.claudeproxy;

import dev.claudeproxy.internal.server.ProxyServer;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.server.ClusterNode;
import io.vertx.core.json.JsonObject;
import dev.claudeproxy.internal.http.NodeServices;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import dev.claudeproxy.internal.users.ApiKeys;
import dev.claudeproxy.internal.users.User;
import dev.claudeproxy.internal.users.UserDirectory;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The HTTP verticle and the stream worker in two clustered Vert.x instances (Hazelcast, TCP/IP discovery on
 * loopback): the event-bus contract carries a whole stream between them.
 */
class ClusteredStreamTest {

  @Test
  void streamsFromAWorkerNodeThroughAnHttpNode() throws Exception {
    String cluster = "csp-test-" + UUID.randomUUID();
    Vertx workerNode = TestStack.await(clustered(cluster));
    Vertx httpNode = null;
    try {
      httpNode = TestStack.await(clustered(cluster));
      Simulator sim = TestStack.await(Simulator.start(workerNode,
          SimulatorConfig.from(TestStack.settings(Map.of())).withPort(0)));
      Settings settings = TestStack.settings(Map.of("ANTHROPIC_BASE_URL", sim.baseUrl(), "PROXY_HTTP_INSTANCES", 1,
          "PROXY_WORKER_INSTANCES", 1));
      ProxyConfig config = ProxyConfig.from(settings);
      String key = ApiKeys.generate();
      UserDirectory users = new UserDirectory(List.of(new User("tester", List.of(ApiKeys.hash(key)))));

      TestStack.await(ProxyServer.deployWorkers(workerNode, config, ProxyMetrics.create()));
      int port = TestStack.await(ProxyServer.deployHttp(httpNode, config,
          NodeServices.inMemory(users, ProxyMetrics.create())));

      HttpClient client = HttpClient.newHttpClient();
      HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build();
      // Subscriptions spread through the cluster asynchronously: wait until the worker's address is seen.
      long deadline = System.currentTimeMillis() + 20_000;
      while (client.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() != 200) {
        assertTrue(System.currentTimeMillis() < deadline, "the worker never became reachable from the HTTP node");
        Thread.sleep(100);
      }
      String body = "{\"model\":\"claude-sonnet-4-6\",\"max_tokens\":100,\"stream\":true,"
          + "\"messages\":[{\"role\":\"user\",\"content\":\"Across the cluster\"}]}";
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
              + "/v1/messages"))
          .header("content-type", "application/json").header("x-api-key", key)
          .header("anthropic-version", "2023-06-01")
          .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode(), r.body());
      assertTrue(r.body().startsWith("event: message_start\n"));
      assertTrue(r.body().endsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), r.body());
      assertEquals(1, sim.stats().streamsCompleted());
    } finally {
      if (httpNode != null) {
        TestStack.await(httpNode.close());
      }
      TestStack.await(workerNode.close());
    }
  }

  /** A node as the server makes one (Hazelcast on loopback), without the server around it. */
  static Future<Vertx> clustered(String clusterName) {
    ClusterConfig config = ClusterConfig.from(new Settings(new JsonObject().put("PROXY_CLUSTER_MEMBERS", "127.0.0.1")
        .put("PROXY_CLUSTER_HOST", "127.0.0.1").put("PROXY_CLUSTER_PORT", 5701).put("PROXY_CLUSTER_NAME", clusterName)));
    return ClusterNode.start(config, Vertx.builder(), new VertxOptions());
  }

}
