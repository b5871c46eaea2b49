package dev.claudeproxy;

import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;

/**
 * Decides who the caller of an API request is, in place of the proxy's own API keys and JWTs: a host application
 * plugs in its own login (a session cookie, its own tokens, a header set by its gateway).
 *
 * <p>Called on the request's event loop for every API request, before its body is parsed; it must not block. Return
 * the caller, or fail the future with a {@link Refusal} to answer with that status (401 or 403) in the Anthropic
 * error shape. Any other failure, or a null caller, is answered 401 and the failure logged.
 */
@FunctionalInterface
public interface CallerResolver {
  /**
   * The caller of {@code request}.
   *
   * @param request the API request, before its body is parsed
   * @return a future of the caller; failed with a {@link Refusal} to answer 401 or 403
   */
  Future<Caller> resolve(RoutingContext request);

  /**
   * A refusal to name in the answer: 401 ({@code authentication_error}: who are you?) or 403
   * ({@code permission_error}: you may not). The message is sent to the caller as it is.
   */
  final class Refusal extends RuntimeException {
    /** The HTTP status to answer with: 401 or 403. */
    private final int status;

    /**
     * A refusal with {@code status} and {@code message}.
     *
     * @param status 401 or 403
     * @param message the message sent to the caller as it is
     * @throws IllegalArgumentException when {@code status} is neither 401 nor 403
     */
    public Refusal(int status, String message) {
      super(message, null, false, false);
      if (status != 401 && status != 403) {
        throw new IllegalArgumentException("a refusal is 401 or 403, not " + status);
      }
      this.status = status;
    }

    /**
     * 401 or 403.
     *
     * @return the HTTP status to answer with, 401 or 403
     */
    public int status() {
      return status;
    }
  }
}
