package dev.claudeproxy;

import static dev.claudeproxy.StreamClientResumeTest.assertStatus;
import static dev.claudeproxy.StreamClientResumeTest.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.StreamClientTest.Reader;
import dev.claudeproxy.internal.config.ProxyConfig;
import dev.claudeproxy.internal.config.Settings;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.server.ProxyServer;
import dev.claudeproxy.internal.simulator.Simulator;
import dev.claudeproxy.internal.simulator.SimulatorConfig;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link StreamClient} resumes across a cluster: its clients on one node, the stream workers on another (Hazelcast on
 * loopback), so a followed or stopped stream is found by the published {@code find}, not the node-local map.
 */
class StreamClientClusterTest {

  @Test
  void aStreamLetGoIsFollowedAndStoppedFromAnotherNodeThanItsWorkers() throws Exception {
    String cluster = "csp-client-" + UUID.randomUUID();
    Vertx workerNode = TestStack.await(ClusteredStreamTest.clustered(cluster));
    Vertx clientNode = null;
    try {
      clientNode = TestStack.await(ClusteredStreamTest.clustered(cluster));
      Simulator sim = TestStack.await(Simulator.start(workerNode,
          SimulatorConfig.from(TestStack.settings(Map.of())).withPort(0)));
      Settings settings = TestStack.settings(Map.of("ANTHROPIC_BASE_URL", sim.baseUrl(), "PROXY_WORKER_INSTANCES", 2,
          "PROXY_RESUME_GRACE_MS", 3000));
      TestStack.await(ProxyServer.deployWorkers(workerNode, ProxyConfig.from(settings), ProxyMetrics.create()));
      StreamClientOptions options = new StreamClientOptions().setUser("alice").setStartTimeoutMs(2000);
      StreamClient first = StreamClient.create(clientNode, options);
      StreamClient second = StreamClient.create(clientNode, options);

      ClaudeStream stream = startOnceReachable(first, request("across the cluster", Map.of(
          "x-sim-output-tokens", "30", "x-sim-tokens-per-second", "20")).setResumable(true));
      Reader cut = new Reader(stream, events -> events.size() == 6, stream::detach);
      long deadline = System.currentTimeMillis() + 10_000;
      while (cut.events.size() < 6) {
        assertTrue(System.currentTimeMillis() < deadline, "six events");
        Thread.sleep(10);
      }
      Thread.sleep(100);
      List<String> had = cut.withoutPings();
      assertEquals(had.size(), stream.position());

      ClaudeStream resumed = TestStack.await(second.follow(stream.id(), stream.position()));
      Reader rest = new Reader(resumed);
      rest.awaitEnd();
      List<String> joined = new ArrayList<>(had);
      joined.addAll(rest.withoutPings());
      ClaudeStream whole = TestStack.await(second.messages(request("across the cluster",
          Map.of("x-sim-output-tokens", "30"))));
      Reader reference = new Reader(whole);
      reference.awaitEnd();
      assertEquals(StreamCut.text(reference.withoutPings()), StreamCut.text(joined),
          "joined across nodes, against an uninterrupted run");

      long cancelled = sim.stats().streamsCancelled();
      ClaudeStream running = TestStack.await(first.messages(request("stop me across the cluster", Map.of(
          "x-sim-output-tokens", "300", "x-sim-tokens-per-second", "10")).setResumable(true)));
      Reader stopped = new Reader(running);
      TestStack.await(second.stop(running.id()));
      assertTrue(stopped.failed.get(10, TimeUnit.SECONDS) instanceof ClaudeStreamException);
      // The upstream learns of the cancel a moment after the reader has its error.
      Wire.waitFor(() -> sim.stats().streamsCancelled() >= cancelled + 1, "the upstream cancel");
      assertEquals(cancelled + 1, sim.stats().streamsCancelled());

      assertStatus(404, "not_found_error", second.follow("no-such-stream-anywhere", 0L));
      assertStatus(404, "not_found_error", second.stop("no-such-stream-anywhere"));
      TestStack.await(first.close());
      TestStack.await(second.close());
    } finally {
      if (clientNode != null) {
        TestStack.await(clientNode.close());
      }
      TestStack.await(workerNode.close());
    }
  }

  /** Starts {@code request} once the workers' start address has spread through the cluster to the client's node. */
  private static ClaudeStream startOnceReachable(StreamClient client, StreamRequest request) throws Exception {
    long deadline = System.currentTimeMillis() + 20_000;
    while (true) {
      try {
        return client.messages(request).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof ClaudeStreamException refused) || refused.status() != 503
            || System.currentTimeMillis() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }
}
