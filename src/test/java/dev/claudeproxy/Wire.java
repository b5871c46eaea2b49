package dev.claudeproxy;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Small helpers the end-to-end tests share for reading SSE bodies and awaiting counters. */
final class Wire {
  private Wire() {}

  /** Polls {@code condition} (a counter the system under test keeps) until it holds, for up to 5 seconds. */
  static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
    waitFor(condition, what, Duration.ofSeconds(5));
  }

  /** Polls {@code condition} until it holds, for up to {@code limit}. */
  static void waitFor(BooleanSupplier condition, String what, Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  /** Words of the libraries under the proxy (Jackson, Netty, Vert.x, Java), which no caller-facing message has. */
  private static final java.util.regex.Pattern LIBRARY_WORDS = java.util.regex.Pattern.compile(
      "(?i)exception|jackson|netty|vertx|com\\.fasterxml|io\\.|java\\.|constraints|getMax|Failed to decode|"
      + "Stream reset|GOAWAY|error code|end-of-input|Connection was closed|\\[Source");

  /** Fails when {@code message} speaks in a library's words rather than the API's. */
  static void assertNoLibraryWords(String message) {
    java.util.regex.Matcher m = LIBRARY_WORDS.matcher(message);
    if (m.find()) {
      throw new AssertionError("library phrasing \"" + m.group() + "\" in: " + message);
    }
  }

  /** The last event of an SSE body, with its blank line. */
  static String lastEvent(String body) {
    String trimmed = body.substring(0, body.length() - 2);
    return trimmed.substring(trimmed.lastIndexOf("\n\n") + 2) + "\n\n";
  }

  /**
   * SSE events without the keepalives: {@code ping} events on {@code /v1/messages} (the upstream's and the proxy's),
   * {@code : ping} comments on {@code /v1/chat}. Positions count neither, and a resumed stream replays neither.
   */
  static java.util.List<String> withoutPings(java.util.List<String> events) {
    return events.stream().filter(e -> !isPing(e)).toList();
  }

  static boolean isPing(String event) {
    return event.startsWith("event: ping\n") || event.startsWith(":");
  }

  static int count(String haystack, String needle) {
    int n = 0;
    for (int i = haystack.indexOf(needle); i >= 0; i = haystack.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
