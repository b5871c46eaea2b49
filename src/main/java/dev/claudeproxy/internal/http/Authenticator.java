package dev.claudeproxy.internal.http;

import dev.claudeproxy.internal.api.ApiError;
import dev.claudeproxy.internal.observe.ProxyMetrics;
import dev.claudeproxy.internal.users.Caller;
import dev.claudeproxy.internal.users.TokenVerifier;
import dev.claudeproxy.internal.users.User;
import dev.claudeproxy.internal.users.UserDirectory;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import java.util.Optional;

/**
 * Finds the caller and puts a {@link Caller} in the routing context; answers 401 otherwise. API keys come as
 * {@code x-api-key} or {@code Authorization: Bearer} (the old and new SDK styles); a bearer value shaped like a JWT
 * is checked as a token when tokens are configured. Messages name the problem and never echo the secret.
 */
final class Authenticator implements Handler<RoutingContext> {
  static final String CALLER = "claude-proxy.caller";

  private final UserDirectory users;
  private final TokenVerifier tokens;
  private final ProxyMetrics stats;

  Authenticator(UserDirectory users, TokenVerifier tokens, ProxyMetrics stats) {
    this.users = users;
    this.tokens = tokens;
    this.stats = stats;
  }

  static Caller caller(RoutingContext ctx) {
    return ctx.get(CALLER);
  }

  @Override
  public void handle(RoutingContext ctx) {
    String apiKey = ctx.request().getHeader("x-api-key");
    String authorization = ctx.request().getHeader("authorization");
    if (apiKey != null) {
      byKey(ctx, apiKey.trim(), "x-api-key");
      return;
    }
    if (authorization == null) {
      refuse(ctx, "x-api-key header is required (or Authorization: Bearer <key or token>)");
      return;
    }
    if (!authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      refuse(ctx, "Authorization header must use the Bearer scheme: \"Authorization: Bearer <key or token>\"");
      return;
    }
    String bearer = authorization.substring(7).trim();
    if (tokens != null && TokenVerifier.looksLikeJwt(bearer)) {
      tokens.verify(bearer, users)
          .onSuccess(caller -> {
            ctx.put(CALLER, caller);
            ctx.next();
          })
          .onFailure(e -> refuse(ctx, e instanceof TokenVerifier.Refused ? e.getMessage()
              : "bearer token could not be checked"));
      return;
    }
    byKey(ctx, bearer, "bearer key");
  }

  private void byKey(RoutingContext ctx, String key, String what) {
    Optional<User> user = users.authenticate(key);
    if (user.isEmpty()) {
      refuse(ctx, "invalid " + what);
      return;
    }
    ctx.put(CALLER, users.caller(user.get(), null, "api_key"));
    ctx.next();
  }

  private void refuse(RoutingContext ctx, String message) {
    stats.rejected("authentication");
    ErrorResponses.send(ctx.response(), ApiError.authentication(message));
  }
}
