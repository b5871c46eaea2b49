package dev.claudeproxy.internal.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** The node's default capacity follows its open-file limit, and the descriptors a stream holds in it. */
class ClientPolicyTest {
  @Test
  void theDefaultStreamLimitLeavesRoomForWhatIsNotAStream() {
    assertEquals(19_000, ClientPolicy.streamsForDescriptors(20_000, 1));
    assertEquals(9_500, ClientPolicy.streamsForDescriptors(20_000, 2), "a stream with its own upstream socket");
    assertEquals(922, ClientPolicy.streamsForDescriptors(1_024, 1), "a small limit keeps a tenth");
    assertEquals(0, ClientPolicy.streamsForDescriptors(-1, 1), "no limit where the JVM cannot tell");
  }

  @Test
  void aStreamHoldsTwoDescriptorsOnlyWithItsOwnUpstreamConnectionInTheProcess() {
    long limit = ClientPolicy.openFileLimit();
    if (limit <= 0) {
      return; // not a Unix JVM: the default is no limit, tested above
    }
    int one = ClientPolicy.streamsForDescriptors(limit, 1);
    int two = ClientPolicy.streamsForDescriptors(limit, 2);
    assertEquals(one, maxStreams(new JsonObject()), "the built-in simulator: HTTP/2 in clear text");
    assertEquals(one, maxStreams(new JsonObject().put("ANTHROPIC_API_KEY", "k")), "Claude: HTTP/2 over TLS");
    assertEquals(two, maxStreams(new JsonObject().put("ANTHROPIC_API_KEY", "k")
        .put("ANTHROPIC_BASE_URL", "http://10.0.0.9:8000")), "a clear-text upstream: HTTP/1.1");
    assertEquals(two, maxStreams(new JsonObject().put("ANTHROPIC_API_KEY", "k").put("UPSTREAM_PROTOCOL", "http1")));
    assertEquals(one, maxStreams(new JsonObject().put("ANTHROPIC_API_KEY", "k").put("UPSTREAM_PROTOCOL", "http1")
        .put("PROXY_ROLE", "http")), "an HTTP node of a cluster holds only its clients' sockets");
    assertEquals(0, maxStreams(new JsonObject().put("PROXY_MAX_STREAMS", 0)), "0 turns the limit off");
    assertEquals(50, maxStreams(new JsonObject().put("PROXY_MAX_STREAMS", 50)));
  }

  @Test
  void theDefaultBoundOnWaitingStartsIsWhatTheWorkersTakeWithinTheStartTimeout() {
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(5_000 * cores, pending(new JsonObject()));
    assertEquals(2_000 * cores, pending(new JsonObject().put("PROXY_START_TIMEOUT_MS", 2_000)));
    assertEquals(100, pending(new JsonObject().put("PROXY_START_TIMEOUT_MS", 10)), "never fewer than 100");
    assertEquals(7, pending(new JsonObject().put("PROXY_MAX_PENDING_STARTS", 7)));
    assertEquals(0, pending(new JsonObject().put("PROXY_MAX_PENDING_STARTS", 0)), "0 turns the bound off");
  }

  private static int pending(JsonObject settings) {
    return ProxyConfig.from(new Settings(settings)).clientPolicy().maxPendingStarts();
  }

  private static int maxStreams(JsonObject settings) {
    return ProxyConfig.from(new Settings(settings)).clientPolicy().maxStreams();
  }
}
