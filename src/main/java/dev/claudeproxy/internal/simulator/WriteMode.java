package dev.claudeproxy.internal.simulator;

import java.util.Locale;

/**
 * How a stream's events are handed to the socket ({@code SIM_WRITE}, or per request {@code x-sim-write}). The bytes
 * are the same either way; only their chunking differs.
 */
public enum WriteMode {
  /**
   * Each SSE event in a write of its own, so in its own flush, HTTP/1.1 chunk or HTTP/2 DATA frame, as Claude's API
   * sends them; the default.
   */
  EVENT("event"),
  /** Events packed together: every token due at one wake-up in one write, and about 16 KB a write at full speed. */
  BATCH("batch");

  private final String wireName;

  WriteMode(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  /** {@code event} or {@code batch}, in any case; anything else is refused with a message naming both. */
  public static WriteMode parse(String text) {
    String t = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    for (WriteMode m : values()) {
      if (m.wireName.equals(t)) {
        return m;
      }
    }
    throw new IllegalArgumentException("must be event or batch, got \"" + text + "\"");
  }
}
