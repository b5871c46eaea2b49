package dev.claudeproxy.internal.simulator;

import java.util.Locale;

/**
 * A fault (or the absence of one) chosen per request with {@code x-sim-scenario}, or by default from
 * {@code SIM_SCENARIO}.
 *
 * @param kind what happens
 * @param failures for {@link Kind#FAIL_THEN_SUCCEED}: how many attempts of the same request fail first; else 0
 */
public record Scenario(Kind kind, int failures) {

  public enum Kind {
    /** A normal reply; lets a request opt out of a configured default scenario. */
    NONE("none"),
    /** 529 overloaded_error with retry-after, before any byte of a stream. */
    OVERLOADED("overloaded"),
    /** 429 rate_limit_error with retry-after. */
    RATE_LIMITED("rate_limited"),
    /** 500 api_error. */
    SERVER_ERROR("server_error"),
    /** An SSE error event (overloaded_error) after some deltas, then the end of the body without message_stop. */
    MIDSTREAM_ERROR("midstream_error"),
    /** The connection is cut after some deltas, without the chunked terminator. */
    DISCONNECT("disconnect"),
    /** No more bytes after some deltas; the connection stays open until the client leaves. */
    STALL("stall"),
    /** The TTFT becomes SIM_SLOW_FIRST_TOKEN_MS. */
    SLOW_FIRST_TOKEN("slow_first_token"),
    /** The first N attempts of the same request get a 529, the next succeeds. */
    FAIL_THEN_SUCCEED("fail_then_succeed");

    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    public String wireName() {
      return wireName;
    }
  }

  public static final Scenario NONE = new Scenario(Kind.NONE, 0);

  public Scenario {
    if (kind == null) {
      throw new IllegalArgumentException("scenario kind is required");
    }
    if (failures < 0 || (kind != Kind.FAIL_THEN_SUCCEED && failures != 0)) {
      throw new IllegalArgumentException("failures only applies to fail_then_succeed and must be >= 0");
    }
  }

  /** Parses a wire name such as {@code overloaded} or {@code fail_then_succeed:2}; the message names bad input. */
  public static Scenario parse(String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (t.startsWith(Kind.FAIL_THEN_SUCCEED.wireName)) {
      String rest = t.substring(Kind.FAIL_THEN_SUCCEED.wireName.length());
      if (rest.isEmpty()) {
        return new Scenario(Kind.FAIL_THEN_SUCCEED, 1);
      }
      if (rest.startsWith(":")) {
        try {
          int n = Integer.parseInt(rest.substring(1));
          if (n >= 0 && n <= 1000) {
            return new Scenario(Kind.FAIL_THEN_SUCCEED, n);
          }
        } catch (NumberFormatException e) {
          // falls through to the error below, which names the whole value
        }
      }
      throw new IllegalArgumentException("unknown scenario \"" + text + "\" (fail_then_succeed takes :N, 0..1000)");
    }
    for (Kind k : Kind.values()) {
      if (k != Kind.FAIL_THEN_SUCCEED && k.wireName.equals(t)) {
        return k == Kind.NONE ? NONE : new Scenario(k, 0);
      }
    }
    throw new IllegalArgumentException("unknown scenario \"" + text + "\"; known: none, overloaded, rate_limited, "
        + "server_error, midstream_error, disconnect, stall, slow_first_token, fail_then_succeed:N");
  }

  /** The wire form, parseable by {@link #parse}. */
  public String text() {
    return kind == Kind.FAIL_THEN_SUCCEED ? kind.wireName + ":" + failures : kind.wireName;
  }

  /** Whether the fault strikes after the response has started (stream) or instead of a late response. */
  public boolean isMidStream() {
    return kind == Kind.MIDSTREAM_ERROR || kind == Kind.DISCONNECT || kind == Kind.STALL;
  }
}
