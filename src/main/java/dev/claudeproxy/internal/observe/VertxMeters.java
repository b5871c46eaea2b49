package dev.claudeproxy.internal.observe;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.spi.metrics.ClientMetrics;
import io.vertx.core.spi.metrics.DatagramSocketMetrics;
import io.vertx.core.spi.metrics.EventBusMetrics;
import io.vertx.core.spi.metrics.HttpClientMetrics;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.PoolMetrics;
import io.vertx.core.spi.metrics.TCPMetrics;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MetricsDomain;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import java.util.EnumSet;

/**
 * Vert.x's own meters (HTTP server, connection pools, JVM) in the proxy's registry: vertx-micrometer's, except the
 * HTTP server's, which {@link HttpServerMeters} keeps under the same names at a fraction of the cost per request.
 */
public final class VertxMeters implements VertxMetricsFactory {
  private final MicrometerMetricsFactory micrometer;
  private final HttpServerMeters httpServer;

  public VertxMeters(MeterRegistry registry) {
    this.micrometer = new MicrometerMetricsFactory(registry);
    this.httpServer = new HttpServerMeters(registry);
  }

  /** A Vert.x whose own meters go to {@code registry}. */
  public static Vertx vertx(MeterRegistry registry, VertxOptions options) {
    return builder(registry, options).build();
  }

  /** A builder of a Vert.x, clustered or not, whose own meters go to {@code registry}. */
  public static io.vertx.core.VertxBuilder builder(MeterRegistry registry, VertxOptions options) {
    return Vertx.builder().with(options.setMetricsOptions(options())).withMetrics(new VertxMeters(registry));
  }

  /** The options the proxy gives vertx-micrometer. */
  static MicrometerMetricsOptions options() {
    return new MicrometerMetricsOptions().setEnabled(true).setJvmMetricsEnabled(true)
        // Method, status and pool only: a path label would let callers mint label values. HttpServerMeters keeps
        // the HTTP server's meters with the method and status labels.
        .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.POOL_TYPE, Label.POOL_NAME))
        // Per-message event-bus meters cost more than the hop they measure; the proxy counts events itself. Upstream
        // calls have the proxy's own meters (status, time to first token, retries), so Vert.x's per-request
        // HTTP-client meters would only repeat them at a cost on every call.
        .addDisabledMetricsCategory(MetricsDomain.EVENT_BUS)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_CLIENT)
        .addDisabledMetricsCategory(MetricsDomain.HTTP_SERVER);
  }

  @Override
  public VertxMetrics metrics(VertxOptions options) {
    return new WithHttpServer(micrometer.metrics(options), httpServer);
  }

  @Override
  public MetricsOptions newOptions() {
    return micrometer.newOptions();
  }

  @Override
  public MetricsOptions newOptions(MetricsOptions options) {
    return micrometer.newOptions(options);
  }

  @Override
  public MetricsOptions newOptions(JsonObject json) {
    return micrometer.newOptions(json);
  }

  /** vertx-micrometer's meters, with {@link HttpServerMeters} for every HTTP server. */
  private record WithHttpServer(VertxMetrics micrometer, HttpServerMeters httpServer) implements VertxMetrics {
    @Override
    public HttpServerMetrics<?, ?, ?> createHttpServerMetrics(HttpServerOptions options, SocketAddress local) {
      return httpServer;
    }

    @Override
    public EventBusMetrics<?> createEventBusMetrics() {
      return micrometer.createEventBusMetrics();
    }

    @Override
    public ClientMetrics<?, ?, ?> createClientMetrics(SocketAddress remoteAddress, String type, String namespace) {
      return micrometer.createClientMetrics(remoteAddress, type, namespace);
    }

    @Override
    public HttpClientMetrics<?, ?, ?> createHttpClientMetrics(HttpClientOptions options) {
      return micrometer.createHttpClientMetrics(options);
    }

    @Override
    public TCPMetrics<?> createNetServerMetrics(NetServerOptions options, SocketAddress localAddress) {
      return micrometer.createNetServerMetrics(options, localAddress);
    }

    @Override
    public TCPMetrics<?> createNetClientMetrics(NetClientOptions options) {
      return micrometer.createNetClientMetrics(options);
    }

    @Override
    public DatagramSocketMetrics createDatagramSocketMetrics(DatagramSocketOptions options) {
      return micrometer.createDatagramSocketMetrics(options);
    }

    @Override
    public PoolMetrics<?, ?> createPoolMetrics(String type, String name, int maxSize) {
      return micrometer.createPoolMetrics(type, name, maxSize);
    }

    @Override
    public void vertxCreated(Vertx vertx) {
      micrometer.vertxCreated(vertx);
    }

    @Override
    public void close() {
      micrometer.close();
    }
  }
}
