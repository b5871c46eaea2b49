package dev.claudeproxy.internal.users;

/**
 * Who a request comes from, once authenticated, with the limits that apply to it.
 *
 * @param userId the user's id (from the users file, or from the JWT's user claim)
 * @param tier the tier's name, or null
 * @param admin whether the caller may see everyone's usage
 * @param limits the tier's limits with the user's overrides applied
 * @param via how the caller proved who it is: {@code api_key} or {@code jwt}
 */
public record Caller(String userId, String tier, boolean admin, Limits limits, String via) {}
