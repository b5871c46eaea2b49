package dev.claudeproxy.internal.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What this process is in a deployment: its role, and whether (and how) it joins a Vert.x cluster on Hazelcast.
 *
 * @param role {@code all} (HTTP side and workers in one process, the default), {@code http} or {@code worker}
 *     ({@code PROXY_ROLE})
 * @param members Hazelcast TCP/IP members, {@code host:port} or {@code host} ({@code PROXY_CLUSTER_MEMBERS})
 * @param hazelcastConfig a Hazelcast configuration file (XML or YAML) used instead of the one built from these
 *     settings ({@code PROXY_HAZELCAST_CONFIG}), or null
 * @param host the address this node's Hazelcast member and event bus bind to and are reached at
 *     ({@code PROXY_CLUSTER_HOST}), or null for Hazelcast's own choice
 * @param port this node's Hazelcast port ({@code PROXY_CLUSTER_PORT}, default 5701; the next free one up to 100 above
 *     is taken when it is busy)
 * @param busPort the event bus's TCP port ({@code PROXY_BUS_PORT}, default 0: a free port)
 * @param name the cluster's name; nodes join only a cluster of the same name ({@code PROXY_CLUSTER_NAME})
 * @param nodeId this node's name in metrics and logs ({@code PROXY_NODE_ID}, default role, host name and process id)
 * @param stateTimeoutMs how long a new stream waits for the cluster-wide limit state before it is refused with 503
 *     ({@code PROXY_CLUSTER_STATE_TIMEOUT_MS})
 * @param minMembers split-brain protection: with fewer members than this in sight, the limit and usage state refuses
 *     every operation, so new streams are refused with 503 ({@code PROXY_CLUSTER_MIN_MEMBERS}, default 0: off)
 * @param tls the event bus's TLS settings, or null for clear text
 */
public record ClusterConfig(
    String role,
    List<String> members,
    Path hazelcastConfig,
    String host,
    int port,
    int busPort,
    String name,
    String nodeId,
    long stateTimeoutMs,
    int minMembers,
    BusTls tls) {

  public static final String ALL = "all";
  public static final String HTTP = "http";
  public static final String WORKER = "worker";

  /**
   * The event bus over TLS between nodes, with mutual authentication: every node presents the key store's certificate
   * and trusts only the trust store's.
   *
   * @param keyStore a PKCS#12 (or JKS, by its extension) key store ({@code PROXY_BUS_TLS_KEY_STORE})
   * @param keyStorePassword its password ({@code PROXY_BUS_TLS_KEY_STORE_PASSWORD}, from the environment)
   * @param trustStore the certificates to trust ({@code PROXY_BUS_TLS_TRUST_STORE}, default the key store)
   * @param trustStorePassword its password ({@code PROXY_BUS_TLS_TRUST_STORE_PASSWORD}, default the key store's)
   */
  public record BusTls(Path keyStore, String keyStorePassword, Path trustStore, String trustStorePassword) {
    /** The store type Vert.x should read a file as. */
    public static String type(Path store) {
      String name = store.getFileName().toString().toLowerCase(Locale.ROOT);
      return name.endsWith(".jks") ? "JKS" : "PKCS12";
    }
  }

  public static ClusterConfig from(Settings s) {
    String role = s.string("PROXY_ROLE", ALL).toLowerCase(Locale.ROOT);
    if (!role.equals(ALL) && !role.equals(HTTP) && !role.equals(WORKER)) {
      throw new ConfigException("PROXY_ROLE must be all, http or worker, got " + s.string("PROXY_ROLE", ""));
    }
    List<String> members = new ArrayList<>();
    for (String m : s.string("PROXY_CLUSTER_MEMBERS", "").split(",")) {
      if (!m.isBlank()) {
        members.add(member(m.trim()));
      }
    }
    Path hz = s.has("PROXY_HAZELCAST_CONFIG") ? Path.of(s.string("PROXY_HAZELCAST_CONFIG", null)) : null;
    if (hz != null && !Files.isRegularFile(hz)) {
      throw new ConfigException("PROXY_HAZELCAST_CONFIG: no such file: " + hz);
    }
    if (!role.equals(ALL) && members.isEmpty() && hz == null) {
      throw new ConfigException("PROXY_ROLE=" + role + " needs a cluster: set PROXY_CLUSTER_MEMBERS (Hazelcast"
          + " members, host:port,...) or PROXY_HAZELCAST_CONFIG");
    }
    BusTls tls = null;
    if (s.has("PROXY_BUS_TLS_KEY_STORE")) {
      Path keyStore = existing(s, "PROXY_BUS_TLS_KEY_STORE");
      String password = s.string("PROXY_BUS_TLS_KEY_STORE_PASSWORD", null);
      if (password == null) {
        throw new ConfigException("PROXY_BUS_TLS_KEY_STORE is set but PROXY_BUS_TLS_KEY_STORE_PASSWORD is not");
      }
      Path trust = s.has("PROXY_BUS_TLS_TRUST_STORE") ? existing(s, "PROXY_BUS_TLS_TRUST_STORE") : keyStore;
      tls = new BusTls(keyStore, password, trust, s.string("PROXY_BUS_TLS_TRUST_STORE_PASSWORD", password));
    }
    String defaultId = role + "-" + hostName() + "-" + ProcessHandle.current().pid();
    return new ClusterConfig(role, List.copyOf(members), hz,
        s.has("PROXY_CLUSTER_HOST") ? s.string("PROXY_CLUSTER_HOST", null) : null,
        (int) s.longInRange("PROXY_CLUSTER_PORT", 5701, 1, 65535),
        (int) s.longInRange("PROXY_BUS_PORT", 0, 0, 65535),
        s.string("PROXY_CLUSTER_NAME", "claude-stream-proxy"),
        s.string("PROXY_NODE_ID", defaultId),
        stateTimeoutMs(s),
        (int) s.longInRange("PROXY_CLUSTER_MIN_MEMBERS", 0, 0, 1000),
        tls);
  }

  /**
   * {@code PROXY_CLUSTER_STATE_TIMEOUT_MS}, on its own: a host's Vert.x may be clustered without any other setting of
   * this record.
   */
  public static long stateTimeoutMs(Settings s) {
    return s.longInRange("PROXY_CLUSTER_STATE_TIMEOUT_MS", 2_000, 10, 600_000);
  }

  /** Whether this process joins a cluster. */
  public boolean clustered() {
    return !members.isEmpty() || hazelcastConfig != null;
  }

  public boolean servesHttp() {
    return !role.equals(WORKER);
  }

  public boolean runsWorkers() {
    return !role.equals(HTTP);
  }

  private static String member(String m) {
    int colon = m.lastIndexOf(':');
    if (colon > 0 && m.indexOf(':') == colon) {
      try {
        int port = Integer.parseInt(m.substring(colon + 1));
        if (port < 1 || port > 65535) {
          throw new NumberFormatException();
        }
      } catch (NumberFormatException e) {
        throw new ConfigException("PROXY_CLUSTER_MEMBERS: not a host:port: " + m);
      }
    }
    return m;
  }

  private static Path existing(Settings s, String key) {
    Path p = Path.of(s.string(key, null));
    if (!Files.isRegularFile(p)) {
      throw new ConfigException(key + ": no such file: " + p);
    }
    return p;
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "localhost";
    }
  }
}
