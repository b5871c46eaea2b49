package dev.claudeproxy.internal.server;

import com.hazelcast.config.Config;
import com.hazelcast.config.JoinConfig;
import com.hazelcast.config.MapConfig;
import com.hazelcast.config.NetworkConfig;
import com.hazelcast.config.SplitBrainProtectionConfig;
import dev.claudeproxy.internal.config.ClusterConfig;
import dev.claudeproxy.internal.config.ConfigException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import io.vertx.core.eventbus.EventBusOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.net.JksOptions;
import io.vertx.core.net.KeyStoreOptionsBase;
import io.vertx.core.net.PfxOptions;
import io.vertx.spi.cluster.hazelcast.ConfigUtil;
import io.vertx.spi.cluster.hazelcast.HazelcastClusterManager;
import java.io.IOException;

/**
 * A clustered Vert.x on Hazelcast, as {@link ClusterConfig} describes it: TCP/IP discovery among the listed members
 * (never multicast), no phone-home, failure detection in seconds, the event bus on its own port, optionally over TLS.
 */
public final class ClusterNode {
  /**
   * Heartbeats once a second; a member silent for this long is taken out of the cluster. A member whose process died
   * is taken out sooner, as its connections are refused (about a second on loopback, in {@code ClusterTest} the same
   * with 5 s or 15 s here). The silence is what a member starved of CPU shows: with 5 s, a saturated machine's nodes
   * (event loops stalled 5.7-6.7 s) took each other for dead and ended 15,413 healthy streams (bench/analysis.md,
   * "The cluster split under saturation"). 15 s rides out such stalls; a machine that vanishes without closing its
   * connections is noticed 10 s later than with 5 s.
   */
  static final int MAX_NO_HEARTBEAT_SECONDS = 15;
  /** The maps of the proxy's cluster-wide state, under any bus prefix; split-brain protection applies to them. */
  static final String STATE_MAPS = dev.claudeproxy.internal.users.ClusterState.MAP_PREFIX + "*";

  private ClusterNode() {}

  /** Joins the cluster; {@code builder} carries the options and metrics of a plain Vert.x. */
  public static Future<Vertx> start(ClusterConfig cluster, VertxBuilder builder, VertxOptions options) {
    // Set before any Hazelcast class reads it: the member never calls home, whatever its configuration says.
    System.setProperty("hazelcast.phone.home.enabled", "false");
    Config hz;
    try {
      hz = hazelcast(cluster);
    } catch (ConfigException e) {
      return Future.failedFuture(e);
    }
    EventBusOptions bus = options.getEventBusOptions().setPort(cluster.busPort());
    if (cluster.host() != null) {
      bus.setHost(cluster.host());
    }
    if (cluster.tls() != null) {
      ClusterConfig.BusTls tls = cluster.tls();
      // The event bus hands its options to its server and client as JSON, which carries the PKCS#12 and JKS kinds
      // of store (not a generic KeyStoreOptions).
      bus.setSsl(true).setClientAuth(ClientAuth.REQUIRED)
          .setKeyCertOptions(store(tls.keyStore(), tls.keyStorePassword()))
          .setTrustOptions(store(tls.trustStore(), tls.trustStorePassword()));
    }
    return builder.with(options).withClusterManager(new HazelcastClusterManager(hz)).buildClustered();
  }

  private static KeyStoreOptionsBase store(java.nio.file.Path path, String password) {
    KeyStoreOptionsBase store = "JKS".equals(ClusterConfig.BusTls.type(path)) ? new JksOptions() : new PfxOptions();
    return store.setPath(path.toString()).setPassword(password);
  }

  static Config hazelcast(ClusterConfig cluster) {
    int minMembers = cluster.minMembers();
    Config hz;
    if (cluster.hazelcastConfig() != null) {
      try {
        hz = Config.loadFromFile(cluster.hazelcastConfig().toFile());
      } catch (IOException | RuntimeException e) {
        throw new ConfigException("PROXY_HAZELCAST_CONFIG: cannot read " + cluster.hazelcastConfig() + ": "
            + e.getMessage(), e);
      }
    } else {
      // Vert.x's own map settings (its subscriptions and node information), then ours.
      hz = ConfigUtil.loadConfig();
      hz.setClusterName(cluster.name());
      NetworkConfig network = hz.getNetworkConfig();
      network.setPort(cluster.port()).setPortAutoIncrement(true).setPortCount(100);
      if (cluster.host() != null) {
        // Bound to that address only. No public address with the port: when the port is busy the next one is taken,
        // and the member announces the port it has.
        network.getInterfaces().setEnabled(true).addInterface(cluster.host());
        hz.setProperty("hazelcast.local.localAddress", cluster.host());
      }
      JoinConfig join = network.getJoin();
      join.getMulticastConfig().setEnabled(false);
      join.getAutoDetectionConfig().setEnabled(false);
      join.getTcpIpConfig().setEnabled(true).setMembers(cluster.members());
      hz.setProperty("hazelcast.heartbeat.interval.seconds", "1");
      hz.setProperty("hazelcast.max.no.heartbeat.seconds", Integer.toString(MAX_NO_HEARTBEAT_SECONDS));
      // A member that cannot reach the others gives up on an operation after this long, rather than a minute.
      hz.setProperty("hazelcast.operation.call.timeout.millis", "10000");
      hz.setProperty("hazelcast.logging.type", "jdk");
    }
    hz.setProperty("hazelcast.phone.home.enabled", "false");
    // The process's own shutdown drains streams first and leaves the cluster last; Hazelcast must not leave first.
    hz.setProperty("hazelcast.shutdownhook.enabled", "false");
    if (minMembers > 1) {
      hz.addSplitBrainProtectionConfig(new SplitBrainProtectionConfig("claude-proxy-quorum", true, minMembers));
      hz.addMapConfig(new MapConfig(STATE_MAPS).setSplitBrainProtectionName("claude-proxy-quorum"));
    }
    return hz;
  }
}
