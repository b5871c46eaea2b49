package dev.claudeproxy.internal.simulator;

import dev.claudeproxy.internal.api.ApiError;
import io.vertx.core.MultiMap;

/**
 * The timing, length and fault settings for one request: the configuration, overridden by {@code x-sim-*} headers.
 *
 * @param ttftMs delay before the first content block
 * @param tokensPerSecond emission rate, 0 for as fast as possible
 * @param jitter relative spread of each inter-token delay
 * @param outputTokens reply length when max_tokens allows it
 * @param scenario the fault to inject ({@link Scenario#NONE} for none)
 * @param shouldRetry the value echoed as {@code x-should-retry} on error responses, or null for no header
 * @param write how a stream's events are written: each on its own, or packed together
 */
record RequestKnobs(long ttftMs, double tokensPerSecond, double jitter, int outputTokens, Scenario scenario,
    Boolean shouldRetry, WriteMode write) {

  static final String SCENARIO = "x-sim-scenario";
  static final String TTFT_MS = "x-sim-ttft-ms";
  static final String TOKENS_PER_SECOND = "x-sim-tokens-per-second";
  static final String OUTPUT_TOKENS = "x-sim-output-tokens";
  static final String JITTER = "x-sim-jitter";
  static final String SHOULD_RETRY = "x-sim-should-retry";
  static final String WRITE = "x-sim-write";

  /** A bad override header; carries the 400 to send. */
  static final class Invalid extends Exception {
    final ApiError error;

    Invalid(String message) {
      super(message, null, false, false);
      this.error = ApiError.invalidRequest(message);
    }
  }

  static RequestKnobs from(MultiMap headers, SimulatorConfig config) throws Invalid {
    Scenario scenario = config.scenario() == null ? Scenario.NONE : config.scenario();
    String s = headers.get(SCENARIO);
    if (s != null) {
      try {
        scenario = Scenario.parse(s);
      } catch (IllegalArgumentException e) {
        throw new Invalid(SCENARIO + ": " + e.getMessage());
      }
    }
    long ttft = scenario.kind() == Scenario.Kind.SLOW_FIRST_TOKEN ? config.slowFirstTokenMs() : config.ttftMs();
    ttft = wholeHeader(headers, TTFT_MS, ttft, 0, 3_600_000);
    double tps = decimalHeader(headers, TOKENS_PER_SECOND, config.tokensPerSecond(), 0, 1_000_000);
    double jitter = decimalHeader(headers, JITTER, config.jitter(), 0, 1);
    int outputTokens = (int) wholeHeader(headers, OUTPUT_TOKENS, config.outputTokens(), 0,
        SimulatorConfig.MAX_OUTPUT_TOKENS);
    Boolean shouldRetry = null;
    String r = headers.get(SHOULD_RETRY);
    if (r != null) {
      switch (r.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "true" -> shouldRetry = Boolean.TRUE;
        case "false" -> shouldRetry = Boolean.FALSE;
        default -> throw new Invalid(SHOULD_RETRY + ": must be true or false, got \"" + r + "\"");
      }
    }
    WriteMode write = config.write();
    String w = headers.get(WRITE);
    if (w != null) {
      try {
        write = WriteMode.parse(w);
      } catch (IllegalArgumentException e) {
        throw new Invalid(WRITE + ": " + e.getMessage());
      }
    }
    return new RequestKnobs(ttft, tps, jitter, outputTokens, scenario, shouldRetry, write);
  }

  private static long wholeHeader(MultiMap headers, String name, long fallback, long min, long max) throws Invalid {
    String v = headers.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below with the accepted range
    }
    throw new Invalid(name + ": must be a whole number between " + min + " and " + max + ", got \"" + v + "\"");
  }

  private static double decimalHeader(MultiMap headers, String name, double fallback, double min, double max)
      throws Invalid {
    String v = headers.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      double d = Double.parseDouble(v.trim());
      if (d >= min && d <= max) {
        return d;
      }
    } catch (NumberFormatException e) {
      // reported below with the accepted range
    }
    throw new Invalid(name + ": must be a number between " + min + " and " + max + ", got \"" + v + "\"");
  }
}
