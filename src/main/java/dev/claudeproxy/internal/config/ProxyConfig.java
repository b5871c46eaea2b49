package dev.claudeproxy.internal.config;

import dev.claudeproxy.bus.BusAddresses;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The proxy's settings, read once at start from the merged configuration and validated.
 *
 * @param host address the HTTP server binds to ({@code PROXY_HOST})
 * @param port HTTP port ({@code PROXY_PORT}); 0 picks a free port
 * @param httpInstances HTTP verticle instances ({@code PROXY_HTTP_INSTANCES})
 * @param workerInstances stream worker verticle instances ({@code PROXY_WORKER_INSTANCES})
 * @param upstreamKey the key sent to Claude ({@code ANTHROPIC_API_KEY}); null selects the built-in simulator
 * @param upstreamBaseUrl Claude's base URL ({@code ANTHROPIC_BASE_URL})
 * @param usersFile the users file ({@code PROXY_USERS})
 * @param maxBodyBytes largest request body accepted ({@code PROXY_MAX_BODY_BYTES})
 * @param upstreamProtocol how to speak to the upstream ({@code UPSTREAM_PROTOCOL}): {@code auto} (HTTP/2 by ALPN
 *     over TLS, else HTTP/1.1), {@code h2c} (HTTP/2 in clear text, with prior knowledge: many streams share a
 *     connection) or {@code http1}
 * @param upstreamPoolSize HTTP/1.1 connections per worker instance to the upstream ({@code UPSTREAM_POOL_SIZE}); a
 *     hundredth of it for HTTP/2
 * @param connectTimeout upstream connect timeout ({@code UPSTREAM_CONNECT_TIMEOUT_MS})
 * @param streamCreditBytes bytes a worker may send for one stream before the HTTP side grants more
 *     ({@code PROXY_STREAM_CREDIT_BYTES})
 * @param startTimeout how long the HTTP side waits for a worker to accept a stream ({@code PROXY_START_TIMEOUT_MS})
 * @param chatModel the model {@code /v1/chat} uses when the caller names none ({@code PROXY_CHAT_MODEL})
 * @param chatMaxTokens the max_tokens {@code /v1/chat} uses when the caller gives none ({@code PROXY_CHAT_MAX_TOKENS})
 * @param forwardSimHeaders whether callers' {@code x-sim-*} headers (the simulator's scenario and timing knobs) go
 *     upstream ({@code PROXY_FORWARD_SIM_HEADERS}; default on when the upstream is the built-in simulator)
 * @param upstreamPolicy retries and timeouts towards the upstream
 * @param clientPolicy keepalives, stalls, worker checks and draining towards clients
 * @param resumePolicy what a worker keeps of a stream for readers who come back, and for how long
 * @param edges browser origins allowed, and where metrics and health are served
 * @param bus the event-bus addresses, under {@code PROXY_BUS_PREFIX} (default {@code claude-proxy})
 */
public record ProxyConfig(
    String host,
    int port,
    int httpInstances,
    int workerInstances,
    String upstreamKey,
    URI upstreamBaseUrl,
    String upstreamProtocol,
    Path usersFile,
    long maxBodyBytes,
    int upstreamPoolSize,
    Duration connectTimeout,
    int streamCreditBytes,
    Duration startTimeout,
    String chatModel,
    int chatMaxTokens,
    boolean forwardSimHeaders,
    UpstreamPolicy upstreamPolicy,
    ClientPolicy clientPolicy,
    ResumePolicy resumePolicy,
    HttpEdges edges,
    BusAddresses bus) {

  public static final String DEFAULT_BASE_URL = "https://api.anthropic.com";

  public static ProxyConfig from(Settings s) {
    int cores = Runtime.getRuntime().availableProcessors();
    String key = s.string("ANTHROPIC_API_KEY", null);
    Duration startTimeout = Duration.ofMillis(s.longInRange("PROXY_START_TIMEOUT_MS", 5_000, 1, 600_000));
    return new ProxyConfig(
        s.string("PROXY_HOST", "0.0.0.0"),
        (int) s.longInRange("PROXY_PORT", 8080, 0, 65535),
        (int) s.longInRange("PROXY_HTTP_INSTANCES", cores, 1, 256),
        // One worker per event loop (Vert.x has two per core), so every HTTP verticle has one on its own thread.
        (int) s.longInRange("PROXY_WORKER_INSTANCES", 2L * cores, 1, 256),
        key,
        baseUrl(s.string("ANTHROPIC_BASE_URL", DEFAULT_BASE_URL)),
        protocol(s.string("UPSTREAM_PROTOCOL", "auto")),
        Path.of(s.string("PROXY_USERS", "conf/users.json")),
        s.longInRange("PROXY_MAX_BODY_BYTES", 32L * 1024 * 1024, 1024, 1L << 31),
        (int) s.longInRange("UPSTREAM_POOL_SIZE", 10_000, 1, 1_000_000),
        Duration.ofMillis(s.longInRange("UPSTREAM_CONNECT_TIMEOUT_MS", 10_000, 1, 600_000)),
        (int) s.longInRange("PROXY_STREAM_CREDIT_BYTES", 256 * 1024, 1024, 64L * 1024 * 1024),
        startTimeout,
        s.string("PROXY_CHAT_MODEL", "claude-sonnet-4-6"),
        (int) s.longInRange("PROXY_CHAT_MAX_TOKENS", 1024, 1, 1_000_000),
        // An HTTP node of a cluster has no upstream key of its own (its workers have it): no default to go by there.
        s.bool("PROXY_FORWARD_SIM_HEADERS", key == null
            && !ClusterConfig.HTTP.equalsIgnoreCase(s.string("PROXY_ROLE", ClusterConfig.ALL))),
        UpstreamPolicy.from(s),
        ClientPolicy.from(s, descriptorsPerStream(s, key), pendingStartsFor(startTimeout, cores)),
        ResumePolicy.from(s),
        HttpEdges.from(s),
        busAddresses(s.string("PROXY_BUS_PREFIX", BusAddresses.DEFAULT_PREFIX)));
  }

  /** True when replies come from the built-in simulator rather than Claude. */
  public boolean simulated() {
    return upstreamKey == null;
  }

  public ProxyConfig withUpstream(URI baseUrl) {
    return new ProxyConfig(host, port, httpInstances, workerInstances, upstreamKey, baseUrl, upstreamProtocol, usersFile,
        maxBodyBytes, upstreamPoolSize, connectTimeout, streamCreditBytes, startTimeout, chatModel, chatMaxTokens,
        forwardSimHeaders, upstreamPolicy, clientPolicy, resumePolicy, edges, bus);
  }

  /**
   * The default of {@code PROXY_MAX_PENDING_STARTS}: about as many starts as the node's workers take within the start
   * timeout under a burst (1,000 a second per core: a 2-core node took 2,000 to 3,000 a second at the peak of a burst
   * of 19,000 streams, sharing its cores with the load generator and the simulator). A start queued behind more than
   * that would most likely be refused at the start timeout anyway, after its client had waited for nothing, and the
   * node would spend the burst on starts it then gives up.
   */
  private static int pendingStartsFor(Duration startTimeout, int cores) {
    return (int) Math.max(100, Math.min(Integer.MAX_VALUE, startTimeout.toMillis() * cores));
  }

  /**
   * The file descriptors one stream holds in this process: its client's socket, and its own upstream connection too
   * when this process runs workers that speak HTTP/1.1 upstream (HTTP/2 streams share a few connections).
   */
  private static int descriptorsPerStream(Settings s, String key) {
    if (!ClusterConfig.ALL.equalsIgnoreCase(s.string("PROXY_ROLE", ClusterConfig.ALL))) {
      return 1;
    }
    String protocol = protocol(s.string("UPSTREAM_PROTOCOL", "auto"));
    boolean tls = s.string("ANTHROPIC_BASE_URL", DEFAULT_BASE_URL).regionMatches(true, 0, "https:", 0, 6);
    // "auto" speaks HTTP/2 over TLS (ALPN) and to the built-in simulator, HTTP/1.1 to any other clear-text upstream.
    boolean http1 = protocol.equals("http1") || protocol.equals("auto") && !tls && key != null;
    return http1 ? 2 : 1;
  }

  private static String protocol(String value) {
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    if (!v.equals("auto") && !v.equals("h2c") && !v.equals("http1")) {
      throw new ConfigException("UPSTREAM_PROTOCOL must be auto, h2c or http1, got " + value);
    }
    return v;
  }

  private static BusAddresses busAddresses(String prefix) {
    try {
      return BusAddresses.of(prefix);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("PROXY_BUS_PREFIX: " + e.getMessage());
    }
  }

  private static URI baseUrl(String value) {
    URI uri;
    try {
      uri = URI.create(value.endsWith("/") ? value.substring(0, value.length() - 1) : value);
    } catch (IllegalArgumentException e) {
      throw new ConfigException("ANTHROPIC_BASE_URL is not a URL: " + value);
    }
    if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
      throw new ConfigException("ANTHROPIC_BASE_URL must be an http or https URL, got " + value);
    }
    return uri;
  }
}
