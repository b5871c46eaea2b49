package dev.claudeproxy.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The proxy's own meters, in Prometheus form at {@code /metrics}. Labels are kept to small fixed sets (endpoint,
 * outcome, status, error type, limit, tier, model): never a user id or a request id.
 */
public final class ProxyMetrics {
  private final PrometheusMeterRegistry registry;
  private final AtomicInteger active = new AtomicInteger();
  private final Counter events;
  private final Counter bytes;
  private final Counter retries;
  private final Counter cancellations;
  private final Timer upstreamHead;
  /** Meters with labels, by their label values: built once, not looked up through a builder per call. */
  private final java.util.Map<String, Timer> durations = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Map<String, Timer> firstBytes = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.Map<String, Counter> counters = new java.util.concurrent.ConcurrentHashMap<>();

  public ProxyMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    registry.gauge("claude_proxy_active_streams", active);
    events = Counter.builder("claude_proxy_events_forwarded").description("SSE events written to clients")
        .register(registry);
    bytes = Counter.builder("claude_proxy_bytes_forwarded").baseUnit("bytes")
        .description("Response bytes relayed to clients").register(registry);
    retries = Counter.builder("claude_proxy_upstream_retries").description("Upstream attempts after the first")
        .register(registry);
    cancellations = Counter.builder("claude_proxy_cancellations")
        .description("Streams cancelled because the client went away").register(registry);
    upstreamHead = latency("claude_proxy_upstream_time_to_head",
        "From starting an upstream attempt, getting a connection included, to its response head",
        Duration.ofMinutes(10)).register(registry);
  }

  public static ProxyMetrics create() {
    return new ProxyMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The registry's text exposition. */
  public String scrape() {
    return registry.scrape();
  }

  public void streamStarted() {
    active.incrementAndGet();
  }

  public void streamEnded(String endpoint, String outcome, long nanos) {
    active.decrementAndGet();
    durations.computeIfAbsent(endpoint + "|" + outcome, k -> latency("claude_proxy_stream_duration",
        "From request to the end of the response", Duration.ofHours(1)).tags("endpoint", endpoint, "outcome", outcome)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  public void firstByte(String endpoint, long nanos) {
    firstBytes.computeIfAbsent(endpoint, k -> latency("claude_proxy_time_to_first_token",
        "From request to the first streamed event", Duration.ofMinutes(10)).tags("endpoint", endpoint)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * A latency histogram from 1 ms to {@code max}. The first-token and upstream-head meters share their buckets, so
   * that the upstream's share of a first token can be read bucket against bucket.
   */
  private static Timer.Builder latency(String name, String description, Duration max) {
    return Timer.builder(name).description(description).publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(max);
  }

  private Counter counter(String name, String description, String... tags) {
    return counters.computeIfAbsent(name + String.join("|", tags), k -> Counter.builder(name).description(description)
        .tags(tags).register(registry));
  }

  public void forwarded(long eventCount, long byteCount) {
    events.increment(eventCount);
    bytes.increment(byteCount);
  }

  public void upstreamStatus(int status) {
    counter("claude_proxy_upstream_responses", "Upstream answers by HTTP status", "status", Integer.toString(status))
        .increment();
  }

  public void streamError(String type) {
    counter("claude_proxy_stream_errors", "Streams that ended with an error, by error type", "type", type).increment();
  }

  /**
   * How long one upstream attempt took to answer with its head. Beside {@code claude_proxy_time_to_first_token} it
   * tells the upstream's share of a slow first token from the proxy's own.
   */
  public void upstreamHead(long nanos) {
    upstreamHead.record(nanos, TimeUnit.NANOSECONDS);
  }

  public void retry() {
    retries.increment();
  }

  public void cancelled() {
    cancellations.increment();
  }

  /** A request refused before it went upstream: {@code authentication}, or the limit that was hit. */
  public void rejected(String reason) {
    counter("claude_proxy_rejections", "Requests refused by authentication or limits", "reason", reason).increment();
  }

  /** Tokens of a finished call, from its usage counters. */
  public void tokens(String tier, String model, JsonObject usage) {
    String t = tier == null ? "none" : tier;
    String m = model == null ? "unknown" : model;
    for (String kind : new String[] {"input_tokens", "output_tokens", "cache_creation_input_tokens",
        "cache_read_input_tokens"}) {
      if (usage.getValue(kind) instanceof Number n && n.longValue() > 0) {
        counter("claude_proxy_tokens", "Tokens used, by tier, model and kind", "tier", t, "model", m, "kind",
            kind.replace("_tokens", "")).increment(n.doubleValue());
      }
    }
  }
}
