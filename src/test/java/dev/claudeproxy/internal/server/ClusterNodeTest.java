package dev.claudeproxy.internal.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Hazelcast configuration a node gets from its settings: TCP/IP only, never multicast, never phone-home. */
class ClusterNodeTest {
  @TempDir
  Path dir;

  private static ClusterConfig cluster(JsonObject settings) {
    return ClusterConfig.from(new Settings(settings));
  }

  @Test
  void membersMeanTcpIpDiscoveryWithNoMulticastAndNoPhoneHome() {
    ClusterConfig c = cluster(new JsonObject().put("PROXY_ROLE", "worker")
        .put("PROXY_CLUSTER_MEMBERS", "10.0.0.1:5701, 10.0.0.2").put("PROXY_CLUSTER_HOST", "10.0.0.3")
        .put("PROXY_CLUSTER_NAME", "prod").put("PROXY_CLUSTER_MIN_MEMBERS", 3));
    assertTrue(c.clustered());
    assertFalse(c.servesHttp());
    Config hz = ClusterNode.hazelcast(c);
    JoinConfig join = hz.getNetworkConfig().getJoin();
    assertFalse(join.getMulticastConfig().isEnabled());
    assertFalse(join.getAutoDetectionConfig().isEnabled());
    assertTrue(join.getTcpIpConfig().isEnabled());
    assertEquals(List.of("10.0.0.1:5701", "10.0.0.2"), join.getTcpIpConfig().getMembers());
    assertEquals("prod", hz.getClusterName());
    assertEquals("false", hz.getProperty("hazelcast.phone.home.enabled"));
    assertEquals("false", hz.getProperty("hazelcast.shutdownhook.enabled"));
    assertEquals("15", hz.getProperty("hazelcast.max.no.heartbeat.seconds"));
    assertEquals(List.of("10.0.0.3"), List.copyOf(hz.getNetworkConfig().getInterfaces().getInterfaces()));
    assertEquals(3, hz.getSplitBrainProtectionConfig("claude-proxy-quorum").getMinimumClusterSize());
    assertEquals("claude-proxy-quorum", hz.getMapConfig("cp-state.claude-proxy.limits").getSplitBrainProtectionName());
    // Vert.x's own maps keep their settings.
    assertNotNull(hz.getMultiMapConfigs().get("__vertx.subs"));
  }

  @Test
  void aHazelcastFileIsTakenAsItIsButNeverCallsHome() throws Exception {
    Path file = dir.resolve("hazelcast.yaml");
    Files.writeString(file, """
        hazelcast:
          cluster-name: from-file
          properties:
            hazelcast.phone.home.enabled: true
          network:
            join:
              multicast:
                enabled: false
              kubernetes:
                enabled: true
                service-dns: proxy.default.svc.cluster.local
        """);
    Config hz = ClusterNode.hazelcast(cluster(new JsonObject().put("PROXY_HAZELCAST_CONFIG", file.toString())));
    assertEquals("from-file", hz.getClusterName());
    assertTrue(hz.getNetworkConfig().getJoin().getKubernetesConfig().isEnabled());
    assertEquals("false", hz.getProperty("hazelcast.phone.home.enabled"));
    assertEquals("false", hz.getProperty("hazelcast.shutdownhook.enabled"));
  }

  @Test
  void rolesAndClusterSettingsAreChecked() {
    assertThrows(ConfigException.class, () -> cluster(new JsonObject().put("PROXY_ROLE", "both")));
    ConfigException noCluster = assertThrows(ConfigException.class,
        () -> cluster(new JsonObject().put("PROXY_ROLE", "http")));
    assertTrue(noCluster.getMessage().contains("PROXY_CLUSTER_MEMBERS"), noCluster.getMessage());
    assertThrows(ConfigException.class, () -> cluster(new JsonObject().put("PROXY_CLUSTER_MEMBERS", "h:notaport")));
    assertThrows(ConfigException.class, () -> cluster(new JsonObject().put("PROXY_CLUSTER_MEMBERS", "h")
        .put("PROXY_BUS_TLS_KEY_STORE", dir.resolve("missing.p12").toString())));
    assertFalse(cluster(new JsonObject()).clustered());
  }
}
