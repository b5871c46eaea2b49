package dev.claudeproxy.http;

import dev.claudeproxy.api.ApiError;
import dev.claudeproxy.users.User;
import dev.claudeproxy.users.UserDirectory;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * Finds the caller from {@code x-api-key} or {@code Authorization: Bearer} (the old and new SDK styles) and puts the
 * {@link User} in the routing context; answers 401 otherwise. Messages never echo the presented secret.
 */
final class Authenticator implements Handler<RoutingContext> {
  static final String USER = "claude-proxy.user";

  private final UserDirectory users;

  Authenticator(UserDirectory users) {
    this.users = users;
  }

  @Override
  public void handle(RoutingContext ctx) {
    String apiKey = ctx.request().getHeader("x-api-key");
    String authorization = ctx.request().getHeader("authorization");
    String presented;
    if (apiKey != null) {
      presented = apiKey.trim();
    } else if (authorization != null) {
      if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
        ErrorResponses.send(ctx.response(), ApiError.authentication(
            "Authorization header must use the Bearer scheme: \"Authorization: Bearer <key>\""));
        return;
      }
      presented = authorization.substring(7).trim();
    } else {
      ErrorResponses.send(ctx.response(), ApiError.authentication(
          "x-api-key header is required (or Authorization: Bearer <key>)"));
      return;
    }
    Optional<User> user = users.authenticate(presented);
    if (user.isEmpty()) {
      ErrorResponses.send(ctx.response(), ApiError.authentication("invalid x-api-key"));
      return;
    }
    ctx.put(USER, user.get());
    ctx.next();
  }
}
