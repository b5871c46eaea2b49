package dev.claudeproxy.internal.observe;

import dev.claudeproxy.internal.api.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The proxy's own meters, in any Micrometer registry; in Prometheus form at {@code /metrics} when the registry is
 * Prometheus's. Labels are kept to small fixed sets (endpoint,
 * outcome, status, error type, limit, tier, model): never a user id or a request id.
 */
public final class ProxyMetrics {
  private final MeterRegistry registry;
  private final AtomicInteger active = new AtomicInteger();
  private final AtomicInteger subscribers = new AtomicInteger();
  private final Counter events;
  private final Counter bytes;
  private final Counter retries;
  private final Counter cancellations;
  private final Timer upstreamHead;
  /** Meters with labels, by their label values: built once, not looked up through a builder per call. */
  private final Map<String, Map<Outcome, Timer>> durations = new ConcurrentHashMap<>();
  private final Map<String, Timer> firstTokens = new ConcurrentHashMap<>();
  private final Map<String, Timer> firstEvents = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  /** Upstream answers by status, indexed by it: counted once per stream. */
  private final AtomicReferenceArray<Counter> statuses = new AtomicReferenceArray<>(600);
  /** Token counters by tier, then model: the four kinds of each, counted at the end of every stream. */
  private final Map<String, Map<String, AtomicReferenceArray<Counter>>> tokenCounters = new ConcurrentHashMap<>();
  /** The token counters of a usage object, as the API names them (the access line reads the same ones). */
  static final String[] TOKEN_KINDS = {"input_tokens", "output_tokens", "cache_creation_input_tokens",
      "cache_read_input_tokens"};

  /** Meters in {@code registry}, whatever its kind (Prometheus for {@code /metrics}, or a host application's own). */
  public ProxyMetrics(MeterRegistry registry) {
    this.registry = registry;
    registry.gauge("claude_proxy_active_streams", active);
    Gauge.builder("claude_proxy_stream_subscribers", subscribers, AtomicInteger::get)
        .description("Readers following a stream they did not start (GET /v1/streams/{id}), open now")
        .register(registry);
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
    return new ProxyMetrics(Prometheus.registry());
  }

  /**
   * A registry for a proxy given none: Prometheus's, so that {@code /metrics} can be served, when its module is on the
   * class path (the library declares it optional; the server has it), else Micrometer's simple one.
   */
  public static MeterRegistry defaultRegistry() {
    return PROMETHEUS ? Prometheus.registry() : new SimpleMeterRegistry();
  }

  /** Whether micrometer-registry-prometheus is on the class path. */
  private static final boolean PROMETHEUS = present("io.micrometer.prometheusmetrics.PrometheusMeterRegistry");

  private static boolean present(String className) {
    try {
      Class.forName(className, false, ProxyMetrics.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /** What needs the Prometheus module, loaded only when it is there. */
  private static final class Prometheus {
    static MeterRegistry registry() {
      return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    static boolean is(MeterRegistry registry) {
      return registry instanceof PrometheusMeterRegistry;
    }

    static String scrape(MeterRegistry registry) {
      return ((PrometheusMeterRegistry) registry).scrape();
    }
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Whether {@link #scrape} has a text exposition to give: the registry is Prometheus's. */
  public boolean scrapable() {
    return PROMETHEUS && Prometheus.is(registry);
  }

  /** The registry's Prometheus text exposition; only when {@link #scrapable}. */
  public String scrape() {
    return Prometheus.scrape(registry);
  }

  public void streamStarted() {
    active.incrementAndGet();
  }

  public void streamEnded(String endpoint, Outcome outcome, long nanos) {
    active.decrementAndGet();
    durations.computeIfAbsent(endpoint, k -> new ConcurrentHashMap<>())
        .computeIfAbsent(outcome, k -> latency("claude_proxy_stream_duration", "From request to the end of the response",
            Duration.ofHours(1)).tags("endpoint", endpoint, "outcome", outcome.wire())
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** The first content of a stream (a text, thinking or tool-input delta) reached the client's side. */
  public void firstToken(String endpoint, long nanos) {
    firstTokens.computeIfAbsent(endpoint, k -> latency("claude_proxy_time_to_first_token",
        "From request to the first content delta (text, thinking or tool input)", Duration.ofMinutes(10))
        .tags("endpoint", endpoint).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** The first bytes of an answer (for a stream, usually its {@code message_start}) reached the client's side. */
  public void firstEvent(String endpoint, long nanos) {
    firstEvents.computeIfAbsent(endpoint, k -> latency("claude_proxy_time_to_first_event",
        "From request to the first bytes of the answer (a stream's message_start)", Duration.ofMinutes(10))
        .tags("endpoint", endpoint).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
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
    boolean held = status >= 0 && status < statuses.length();
    Counter counter = held ? statuses.get(status) : null;
    if (counter == null) {
      counter = counter("claude_proxy_upstream_responses", "Upstream answers by HTTP status", "status",
          Integer.toString(status));
      if (held) {
        statuses.set(status, counter);
      }
    }
    counter.increment();
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

  /**
   * A request to read a stream ({@code GET /v1/streams/{id}}): {@code result} is {@code ok}, {@code not_found},
   * {@code ahead} (position beyond the events) or {@code gone} (position no longer kept).
   */
  public void resume(String result) {
    counter("claude_proxy_stream_resumes", "Requests to read a stream from a position, by result", "result", result)
        .increment();
  }

  /** A reader of a stream it did not start began ({@code +1}) or ended ({@code -1}). */
  public void subscriber(int change) {
    subscribers.addAndGet(change);
  }

  /** The client of a resumable stream went away, and the stream went on without it. */
  public void detached() {
    counter("claude_proxy_stream_detaches", "Resumable streams whose client went away, left running for a reader")
        .increment();
  }

  /** A detached stream had no reader back within the grace time, and was cancelled. */
  public void graceExpired() {
    counter("claude_proxy_stream_grace_expiries", "Detached streams cancelled because no reader came back in time")
        .increment();
  }

  /** A stream stopped on request ({@code DELETE /v1/streams/{id}}). */
  public void stopped() {
    counter("claude_proxy_stream_stops", "Streams stopped on request").increment();
  }

  /**
   * A request refused before it went upstream: {@code authentication}, the user's limit that was hit, or the node's
   * own ({@code capacity}: {@code PROXY_MAX_STREAMS}; {@code pending_starts}: {@code PROXY_MAX_PENDING_STARTS}).
   */
  public void rejected(String reason) {
    counter("claude_proxy_rejections", "Requests refused by authentication, limits or the node's capacity", "reason",
        reason).increment();
  }

  /** Shows {@code count}, the starts sent to workers and not taken yet, as {@code claude_proxy_pending_starts}. */
  public void pendingStarts(AtomicInteger count) {
    Gauge.builder("claude_proxy_pending_starts", count, AtomicInteger::get).strongReference(true)
        .description("Streams sent to a stream worker that no worker has taken yet").register(registry);
  }

  /** Tokens of a finished call, from its usage counters. */
  public void tokens(String tier, String model, JsonObject usage) {
    String t = tier == null ? "none" : tier;
    String m = model == null ? "unknown" : model;
    AtomicReferenceArray<Counter> kinds = null;
    for (int i = 0; i < TOKEN_KINDS.length; i++) {
      if (usage.getValue(TOKEN_KINDS[i]) instanceof Number n && n.longValue() > 0) {
        if (kinds == null) {
          kinds = tokenCounters.computeIfAbsent(t, k -> new ConcurrentHashMap<>())
              .computeIfAbsent(m, k -> new AtomicReferenceArray<>(TOKEN_KINDS.length));
        }
        Counter counter = kinds.get(i);
        if (counter == null) {
          // Built at most a few times over (registering the same meter again returns the one registered).
          counter = counter("claude_proxy_tokens", "Tokens used, by tier, model and kind", "tier", t, "model", m,
              "kind", TOKEN_KINDS[i].replace("_tokens", ""));
          kinds.set(i, counter);
        }
        counter.increment(n.doubleValue());
      }
    }
  }
}
