package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.http.HttpServerOptions;
import java.nio.file.Path;

/**
 * Every knob of the simulator, validated once at start-up so that request handling never has to re-check them.
 *
 * <p>Flat keys (the same names work as environment variables): {@code SIM_HOST}, {@code SIM_PORT},
 * {@code SIM_API_KEY}, {@code SIM_TTFT_MS}, {@code SIM_TOKENS_PER_SECOND}, {@code SIM_JITTER},
 * {@code SIM_OUTPUT_TOKENS}, {@code SIM_SCENARIO}, {@code SIM_SLOW_FIRST_TOKEN_MS}, {@code SIM_RETRY_AFTER_S},
 * {@code SIM_FAULT_AFTER_DELTAS}, {@code SIM_INSTANCES}, {@code SIM_MODELS}, {@code SIM_STRICT_MODELS},
 * {@code SIM_WRITE}, {@code SIM_H2_RESET_LIMIT}.
 *
 * @param host the interface to bind
 * @param port the port to bind; 0 picks a free one
 * @param apiKey when not null, every {@code /v1} request must carry it ({@code x-api-key} or bearer token)
 * @param ttftMs delay from the response head to the first content block
 * @param tokensPerSecond mean emission rate; 0 means as fast as the socket takes
 * @param jitter fraction (0..1) by which each inter-token delay varies around its mean
 * @param outputTokens reply length in tokens when {@code max_tokens} does not cut it first
 * @param scenario the fault scenario applied when a request names none, or null
 * @param slowFirstTokenMs the TTFT used by the {@code slow_first_token} scenario
 * @param retryAfterSeconds the {@code retry-after} value sent with 429 and 529 (fractions allowed)
 * @param faultAfterDeltas how many content deltas go out before a mid-stream fault strikes
 * @param instances how many server verticles (event loops) to deploy
 * @param models the model catalog: the built-in one, or the file {@code SIM_MODELS} names
 * @param strictModels when true, a model not in the catalog gets the real API's 404; otherwise any other
 *     {@code claude-*} id is accepted (with a warning once per id) under the catalog's unknown-model limits
 * @param write how a stream's events are written: each on its own ({@link WriteMode#EVENT}, as Claude's API does)
 *     or packed together ({@link WriteMode#BATCH}); the bytes are the same
 * @param h2ResetLimit how many HTTP/2 stream resets a client may send on one connection within 30 s before the
 *     simulator closes the connection (and every stream on it), as servers built on Netty guard against a rapid-reset
 *     flood; 200, Vert.x's default, unless set
 */
public record SimulatorConfig(
    String host,
    int port,
    String apiKey,
    long ttftMs,
    double tokensPerSecond,
    double jitter,
    int outputTokens,
    Scenario scenario,
    long slowFirstTokenMs,
    double retryAfterSeconds,
    int faultAfterDeltas,
    int instances,
    ModelCatalog models,
    boolean strictModels,
    WriteMode write,
    int h2ResetLimit) {

  public static final String HOST = "SIM_HOST";
  public static final String PORT = "SIM_PORT";
  public static final String API_KEY = "SIM_API_KEY";
  public static final String TTFT_MS = "SIM_TTFT_MS";
  public static final String TOKENS_PER_SECOND = "SIM_TOKENS_PER_SECOND";
  public static final String JITTER = "SIM_JITTER";
  public static final String OUTPUT_TOKENS = "SIM_OUTPUT_TOKENS";
  public static final String SCENARIO = "SIM_SCENARIO";
  public static final String SLOW_FIRST_TOKEN_MS = "SIM_SLOW_FIRST_TOKEN_MS";
  public static final String RETRY_AFTER_S = "SIM_RETRY_AFTER_S";
  public static final String FAULT_AFTER_DELTAS = "SIM_FAULT_AFTER_DELTAS";
  public static final String INSTANCES = "SIM_INSTANCES";
  public static final String MODELS = "SIM_MODELS";
  public static final String STRICT_MODELS = "SIM_STRICT_MODELS";
  public static final String WRITE = "SIM_WRITE";
  public static final String H2_RESET_LIMIT = "SIM_H2_RESET_LIMIT";

  /** Upper bound for a configured reply; keeps a typo from asking for a stream that never ends. */
  public static final int MAX_OUTPUT_TOKENS = 10_000_000;

  public SimulatorConfig {
    if (host == null || host.isBlank()) {
      throw new ConfigException(HOST + " must not be empty");
    }
    check(PORT, port, 0, 65535);
    if (apiKey != null && apiKey.isBlank()) {
      apiKey = null;
    }
    check(TTFT_MS, ttftMs, 0, 3_600_000);
    if (!(tokensPerSecond >= 0) || tokensPerSecond > 1_000_000 || Double.isInfinite(tokensPerSecond)) {
      throw new ConfigException(TOKENS_PER_SECOND + " must be between 0 and 1000000, got " + tokensPerSecond);
    }
    if (!(jitter >= 0 && jitter <= 1)) {
      throw new ConfigException(JITTER + " must be between 0 and 1, got " + jitter);
    }
    check(OUTPUT_TOKENS, outputTokens, 0, MAX_OUTPUT_TOKENS);
    check(SLOW_FIRST_TOKEN_MS, slowFirstTokenMs, 0, 3_600_000);
    if (!(retryAfterSeconds >= 0 && retryAfterSeconds <= 3600)) {
      throw new ConfigException(RETRY_AFTER_S + " must be between 0 and 3600, got " + retryAfterSeconds);
    }
    check(FAULT_AFTER_DELTAS, faultAfterDeltas, 0, Integer.MAX_VALUE);
    check(INSTANCES, instances, 1, 1024);
    if (models == null) {
      throw new ConfigException(MODELS + ": no model catalog");
    }
    if (write == null) {
      throw new ConfigException(WRITE + " must be event or batch");
    }
    check(H2_RESET_LIMIT, h2ResetLimit, 1, Integer.MAX_VALUE);
  }

  private static void check(String key, long value, long min, long max) {
    if (value < min || value > max) {
      throw new ConfigException(key + " must be between " + min + " and " + max + ", got " + value);
    }
  }

  public static SimulatorConfig defaults() {
    return new SimulatorConfig("127.0.0.1", 9000, null, 300, 60, 0.2, 60, null, 5000, 1, 3,
        Runtime.getRuntime().availableProcessors(), ModelCatalog.builtIn(), false, WriteMode.EVENT,
        HttpServerOptions.DEFAULT_HTTP2_RST_FLOOD_MAX_RST_FRAME_PER_WINDOW);
  }

  /** Reads the flat keys; absent keys keep their defaults. */
  public static SimulatorConfig from(Settings s) {
    SimulatorConfig d = defaults();
    Scenario scenario = null;
    String scenarioName = s.string(SCENARIO, null);
    if (scenarioName != null) {
      try {
        scenario = Scenario.parse(scenarioName);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(SCENARIO + ": " + e.getMessage());
      }
    }
    String modelsFile = s.string(MODELS, null);
    WriteMode write = d.write;
    String writeName = s.string(WRITE, null);
    if (writeName != null) {
      try {
        write = WriteMode.parse(writeName);
      } catch (IllegalArgumentException e) {
        throw new ConfigException(WRITE + " " + e.getMessage());
      }
    }
    return new SimulatorConfig(
        s.string(HOST, d.host),
        s.integer(PORT, d.port),
        s.string(API_KEY, null),
        s.longValue(TTFT_MS, d.ttftMs),
        s.decimal(TOKENS_PER_SECOND, d.tokensPerSecond),
        s.decimal(JITTER, d.jitter),
        s.integer(OUTPUT_TOKENS, d.outputTokens),
        scenario,
        s.longValue(SLOW_FIRST_TOKEN_MS, d.slowFirstTokenMs),
        s.decimal(RETRY_AFTER_S, d.retryAfterSeconds),
        s.integer(FAULT_AFTER_DELTAS, d.faultAfterDeltas),
        s.integer(INSTANCES, d.instances),
        modelsFile == null || modelsFile.isBlank() ? d.models : ModelCatalog.fromFile(Path.of(modelsFile.trim())),
        s.bool(STRICT_MODELS, d.strictModels),
        write,
        s.integer(H2_RESET_LIMIT, d.h2ResetLimit));
  }

  public SimulatorConfig withHost(String v) {
    return new SimulatorConfig(v, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withPort(int v) {
    return new SimulatorConfig(host, v, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withApiKey(String v) {
    return new SimulatorConfig(host, port, v, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  /** TTFT, rate and jitter together, since tests nearly always set all three. */
  public SimulatorConfig withTiming(long ttft, double tps, double jit) {
    return new SimulatorConfig(host, port, apiKey, ttft, tps, jit, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withOutputTokens(int v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, v, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withScenario(Scenario v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, v,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withSlowFirstTokenMs(long v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        v, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withRetryAfterSeconds(double v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, v, faultAfterDeltas, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withFaultAfterDeltas(int v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, v, instances, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withModels(ModelCatalog v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, v, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withStrictModels(boolean v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, v, write, h2ResetLimit);
  }

  public SimulatorConfig withInstances(int v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, v, models, strictModels, write, h2ResetLimit);
  }

  public SimulatorConfig withWrite(WriteMode v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, v,
        h2ResetLimit);
  }

  /** Never prints the key itself. */
  @Override
  public String toString() {
    return "SimulatorConfig[host=" + host + ", port=" + port + ", apiKey=" + (apiKey == null ? "none" : "set")
        + ", ttftMs=" + ttftMs + ", tokensPerSecond=" + tokensPerSecond + ", jitter=" + jitter
        + ", outputTokens=" + outputTokens + ", scenario=" + (scenario == null ? "none" : scenario.text())
        + ", slowFirstTokenMs=" + slowFirstTokenMs + ", retryAfterSeconds=" + retryAfterSeconds
        + ", faultAfterDeltas=" + faultAfterDeltas + ", instances=" + instances + ", models="
        + models.models().size() + ", strictModels=" + strictModels + ", write=" + write.wireName() + "]";
  }

  public SimulatorConfig withH2ResetLimit(int v) {
    return new SimulatorConfig(host, port, apiKey, ttftMs, tokensPerSecond, jitter, outputTokens, scenario,
        slowFirstTokenMs, retryAfterSeconds, faultAfterDeltas, instances, models, strictModels, write, v);
  }
}
