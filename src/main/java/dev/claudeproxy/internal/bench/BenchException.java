package dev.claudeproxy.internal.bench;

/** Stops the bench with a message for its user (the Python bench's {@code SystemExit}). */
final class BenchException extends RuntimeException {
  BenchException(String message) {
    super(message);
  }
}
