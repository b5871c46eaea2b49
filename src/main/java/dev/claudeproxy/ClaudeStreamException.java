package dev.claudeproxy;

import io.vertx.core.VertxException;

/**
 * Why a {@link ClaudeStream} failed or could not start, in the Messages API's terms: an HTTP status and an error
 * type such as {@code overloaded_error}, {@code rate_limit_error} or {@code api_error}, with its message. An upstream
 * error event mid-stream, an upstream error answer, a cut or timed-out upstream, a lost worker, and a refused start
 * all arrive as this, never as a clean end.
 */
public final class ClaudeStreamException extends VertxException {
  /** The HTTP status. */
  private final int status;
  /** The API's error type. */
  private final String type;

  /**
   * An error of {@code type} with the status the API gives it.
   *
   * @param status the HTTP status
   * @param type the API's error type, such as {@code overloaded_error}
   * @param message the error's message
   */
  public ClaudeStreamException(int status, String type, String message) {
    super(message, true);
    this.status = status;
    this.type = type;
  }

  /**
   * The HTTP status the API (or the proxy, for its own failures) gives this error.
   *
   * @return the HTTP status
   */
  public int status() {
    return status;
  }

  /**
   * The API's error type, such as {@code overloaded_error}.
   *
   * @return the error type
   */
  public String type() {
    return type;
  }

  @Override
  public String toString() {
    return "ClaudeStreamException[" + status + " " + type + ": " + getMessage() + "]";
  }
}
