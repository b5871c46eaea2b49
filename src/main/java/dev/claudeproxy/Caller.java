package dev.claudeproxy;

import java.util.Objects;

/**
 * Who a request comes from, as a host application's {@link CallerResolver} decides: the user the proxy counts usage
 * and limits for, and the limits that apply.
 *
 * @param userId the user's id, as the host knows it; it is never sent upstream as such (the proxy sends an opaque
 *     hash of it as {@code metadata.user_id})
 * @param tier a tier name for metrics and the access log, or null
 * @param admin whether the caller may read everyone's usage at {@code /v1/usage}
 * @param limits the caller's limits; never null ({@link CallerLimits#NONE} for none)
 */
public record Caller(String userId, String tier, boolean admin, CallerLimits limits) {
  /**
   * Checks that there is a user id and limits.
   *
   * @param userId the user's id; not null or blank
   * @param tier a tier name, or null
   * @param admin whether the caller may read everyone's usage
   * @param limits the caller's limits; not null
   * @throws NullPointerException when {@code userId} or {@code limits} is null
   * @throws IllegalArgumentException when {@code userId} is blank
   */
  public Caller {
    Objects.requireNonNull(userId, "userId");
    Objects.requireNonNull(limits, "limits");
    if (userId.isBlank()) {
      throw new IllegalArgumentException("userId must not be blank");
    }
  }

  /**
   * A caller with no tier, no admin rights and no limits.
   *
   * @param userId the user's id
   * @return the caller
   */
  public static Caller of(String userId) {
    return new Caller(userId, null, false, CallerLimits.NONE);
  }
}
