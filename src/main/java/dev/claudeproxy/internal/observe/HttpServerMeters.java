package dev.claudeproxy.internal.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.observability.HttpRequest;
import io.vertx.core.spi.observability.HttpResponse;
import io.vertx.micrometer.MetricsNaming;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Vert.x's HTTP-server meters as vertx-micrometer reports them with the method and status labels (the same names,
 * descriptions, labels and meter types, registered at the same moments), but with each meter registered once per
 * method, or method and status, and kept. vertx-micrometer builds the label set and looks each meter up in the
 * registry on every request: about 5 % of a short stream's CPU in this proxy. One instance serves every HTTP server
 * of a Vert.x, as vertx-micrometer's meters of several servers with no address label are one set of series. The proxy
 * serves no WebSockets, so there is no WebSocket gauge.
 */
final class HttpServerMeters implements HttpServerMetrics<HttpServerMeters.Exchange, Void, Object> {
  /** The socket metric: connections have no labels of their own, so one token serves them all. */
  private static final Object CONNECTION = new Object();
  private static final int STATUSES = 600;

  private final MeterRegistry registry;
  private final MetricsNaming names = MetricsNaming.v4Names().withBaseName("vertx.http.server.");
  private final LongAdder connections = new LongAdder();
  private final Counter bytesRead;
  private final Counter bytesWritten;
  private final Map<String, ByMethod> byMethod = new ConcurrentHashMap<>();
  private final Lazily<Counter> errors;

  HttpServerMeters(MeterRegistry registry) {
    this.registry = registry;
    Gauge.builder(names.getNetActiveConnections(), connections, LongAdder::doubleValue)
        .description("Number of opened connections to the server").strongReference(true).register(registry);
    bytesRead = Counter.builder(names.getNetBytesRead()).description("Number of bytes received by the server")
        .register(registry);
    bytesWritten = Counter.builder(names.getNetBytesWritten()).description("Number of bytes sent by the server")
        .register(registry);
    errors = new Lazily<>(() -> Counter.builder(names.getNetErrorCount()).description("Number of errors")
        .register(registry));
  }

  @Override
  public Object connected(SocketAddress remoteAddress, String remoteName) {
    connections.increment();
    return CONNECTION;
  }

  @Override
  public void disconnected(Object socketMetric, SocketAddress remoteAddress) {
    connections.decrement();
  }

  @Override
  public void bytesRead(Object socketMetric, SocketAddress remoteAddress, long numberOfBytes) {
    bytesRead.increment(numberOfBytes);
  }

  @Override
  public void bytesWritten(Object socketMetric, SocketAddress remoteAddress, long numberOfBytes) {
    bytesWritten.increment(numberOfBytes);
  }

  @Override
  public void exceptionOccurred(Object socketMetric, SocketAddress remoteAddress, Throwable t) {
    errors.get().increment();
  }

  @Override
  public Exchange requestBegin(Object socketMetric, HttpRequest request) {
    return new Exchange(method(request.method()));
  }

  @Override
  public Exchange responsePushed(Object socketMetric, HttpMethod method, String uri, HttpResponse response) {
    return new Exchange(method(method));
  }

  @Override
  public void requestReset(Exchange exchange) {
    exchange.method.resets.get().increment();
    exchange.method.active.decrement();
    exchange.reset = true;
  }

  @Override
  public void requestEnd(Exchange exchange, HttpRequest request, long bytesRead) {
    exchange.method.requestBytes.get().record(bytesRead);
    exchange.requestEnded = true;
    if (!exchange.reset && exchange.responseEnded) {
      exchange.method.active.decrement();
    }
  }

  @Override
  public void responseEnd(Exchange exchange, HttpResponse response, long bytesWritten) {
    ByStatus meters = exchange.method.status(response.statusCode());
    meters.requests.increment();
    meters.time.record(System.nanoTime() - exchange.startedAt, TimeUnit.NANOSECONDS);
    meters.bytes.record(bytesWritten);
    exchange.responseEnded = true;
    if (!exchange.reset && exchange.requestEnded) {
      exchange.method.active.decrement();
    }
  }

  private ByMethod method(HttpMethod method) {
    ByMethod meters = byMethod.get(method.name());
    return meters != null ? meters : byMethod.computeIfAbsent(method.name(), ByMethod::new);
  }

  /**
   * A meter registered at its first use, as vertx-micrometer registers it, then held. Registering again returns the
   * meter already registered, so a race costs nothing but the lookup.
   */
  static final class Lazily<M> {
    private final Supplier<M> register;
    private volatile M meter;

    Lazily(Supplier<M> register) {
      this.register = register;
    }

    M get() {
      M held = meter;
      if (held == null) {
        held = register.get();
        meter = held;
      }
      return held;
    }
  }

  /** One request and its response. */
  static final class Exchange {
    final ByMethod method;
    final long startedAt = System.nanoTime();
    boolean requestEnded;
    boolean responseEnded;
    boolean reset;

    Exchange(ByMethod method) {
      this.method = method;
      method.active.increment();
    }
  }

  /** The meters of one method: registered with its first request, those of a status with its first response. */
  final class ByMethod {
    final String method;
    final LongAdder active = new LongAdder();
    private final AtomicReferenceArray<ByStatus> statuses = new AtomicReferenceArray<>(STATUSES);
    private final Map<Integer, ByStatus> otherStatuses = new ConcurrentHashMap<>();
    final Lazily<DistributionSummary> requestBytes;
    final Lazily<Counter> resets;

    ByMethod(String method) {
      this.method = method;
      Gauge.builder(names.getHttpActiveRequests(), active, LongAdder::doubleValue)
          .description("Number of requests being processed").tag("method", method).strongReference(true)
          .register(registry);
      requestBytes = new Lazily<>(() -> DistributionSummary.builder(names.getHttpRequestBytes())
          .description("Size of requests in bytes").tag("method", method).register(registry));
      resets = new Lazily<>(() -> Counter.builder(names.getHttpRequestResetsCount())
          .description("Number of request resets").tag("method", method).register(registry));
    }

    ByStatus status(int code) {
      if (code < 0 || code >= STATUSES) {
        return otherStatuses.computeIfAbsent(code, c -> new ByStatus(method, c));
      }
      ByStatus meters = statuses.get(code);
      if (meters == null) {
        meters = new ByStatus(method, code);
        statuses.set(code, meters);
      }
      return meters;
    }
  }

  /** The meters of one method and status. */
  final class ByStatus {
    final Counter requests;
    final Timer time;
    final DistributionSummary bytes;

    ByStatus(String method, int code) {
      String status = Integer.toString(code);
      requests = Counter.builder(names.getHttpRequestsCount()).description("Number of processed requests")
          .tags("code", status, "method", method).register(registry);
      time = Timer.builder(names.getHttpResponseTime()).description("Request processing time")
          .tags("code", status, "method", method).register(registry);
      bytes = DistributionSummary.builder(names.getHttpResponseBytes()).description("Size of responses in bytes")
          .tags("code", status, "method", method).register(registry);
    }
  }
}
