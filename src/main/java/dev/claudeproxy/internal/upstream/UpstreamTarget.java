package dev.claudeproxy.internal.upstream;

import dev.claudeproxy.internal.VertxInternals;
import dev.claudeproxy.internal.config.ProxyConfig;
import io.vertx.core.Vertx;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import java.net.URI;
import java.util.List;

/**
 * Where upstream calls go and how the worker's HTTP client is set up for it.
 *
 * @param pathPrefix the base URL's path, kept in front of {@code /v1/...} as the SDKs do
 * @param apiKey the upstream key, or null (the built-in simulator needs none)
 * @param streamWindowBytes the HTTP/2 flow-control window of each upstream stream: as many bytes as the HTTP side
 *     grants a stream ({@code PROXY_STREAM_CREDIT_BYTES}), so a stream the client reads slowly holds at most that
 *     much here, and a fast one needs no window update before it has sent that much
 */
public record UpstreamTarget(
    String host, int port, boolean ssl, String protocol, String pathPrefix, String apiKey, int poolSize,
    int connectTimeoutMs, int streamWindowBytes) {
  /**
   * The HTTP/2 window of a whole upstream connection. Bytes count against it until their stream takes them, so it is
   * large enough that streams paused for slow clients do not hold up the others on the connection; each of those
   * holds at most its own stream window.
   */
  static final int CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

  public static UpstreamTarget from(ProxyConfig config) {
    URI uri = config.upstreamBaseUrl();
    boolean ssl = "https".equals(uri.getScheme());
    int port = uri.getPort() != -1 ? uri.getPort() : ssl ? 443 : 80;
    String prefix = uri.getRawPath() == null ? "" : uri.getRawPath();
    // The built-in simulator is known to speak HTTP/2 in clear text, so "auto" takes it there.
    String protocol = config.upstreamProtocol().equals("auto") && config.simulated() && !ssl ? "h2c"
        : config.upstreamProtocol();
    return new UpstreamTarget(uri.getHost(), port, ssl, protocol, prefix, config.upstreamKey(), config.upstreamPoolSize(),
        (int) config.connectTimeout().toMillis(), config.streamCreditBytes());
  }

  /**
   * Client options. {@code auto}: over TLS, HTTP/2 is offered through ALPN and HTTP/1.1 taken when the server
   * declines it; in clear text, HTTP/1.1 without an upgrade dance. {@code h2c}: HTTP/2 in clear text from the first
   * byte (prior knowledge), for an upstream known to speak it, such as the simulator; streams then share a few
   * connections instead of holding one socket each. {@code http1}: HTTP/1.1 only.
   */
  public HttpClientOptions clientOptions() {
    HttpClientOptions options = new HttpClientOptions()
        .setDefaultHost(host)
        .setDefaultPort(port)
        .setSsl(ssl)
        .setConnectTimeout(connectTimeoutMs)
        .setKeepAlive(true)
        .setTcpNoDelay(true)
        .setDecompressionSupported(false);
    if (protocol.equals("h2c") && !ssl) {
      options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    } else if (ssl && !protocol.equals("http1")) {
      options.setUseAlpn(true)
          .setProtocolVersion(HttpVersion.HTTP_2)
          .setAlpnVersions(List.of(HttpVersion.HTTP_2, HttpVersion.HTTP_1_1));
    }
    // HTTP/2's default windows (64 KB a stream, 64 KB a connection) make every busy connection send a window update
    // (a write and a system call) for each 32 KB it receives, and let one fast stream hold up the others.
    options.setInitialSettings(new Http2Settings().setInitialWindowSize(streamWindowBytes))
        .setHttp2ConnectionWindowSize(CONNECTION_WINDOW_BYTES);
    return options;
  }

  /** The worker's client: these options and pool, and one flush per pass for the requests sharing a connection. */
  public HttpClient createClient(Vertx vertx) {
    return vertx.httpClientBuilder().with(clientOptions()).with(poolOptions())
        .withConnectHandler(VertxInternals::consolidateFlushes).build();
  }

  public PoolOptions poolOptions() {
    return new PoolOptions().setHttp1MaxSize(poolSize).setHttp2MaxSize(Math.max(1, poolSize / 100))
        .setMaxWaitQueueSize(-1);
  }
}
