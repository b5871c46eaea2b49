package dev.claudeproxy.examples.host;

import dev.claudeproxy.Caller;
import dev.claudeproxy.CallerLimits;
import dev.claudeproxy.CallerResolver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host application's own login, standing for whatever login an application already has: {@code POST /login}
 * with {@code {"user": ..., "password": ...}} answers a bearer token that the host keeps in a map; the host's routes
 * and, through {@link #resolve}, the proxy's routes take it as {@code Authorization: Bearer <token>}.
 *
 * <p>The users are a fixed demo list (alice and bob, password {@code demo-<name>}); each maps to a {@link Caller}
 * whose limits the proxy enforces. Tokens live as long as the process.
 */
public final class HostLogin {
  /** A user of the host, the password it signs in with, and who it is to the proxy. */
  private record HostUser(String password, Caller caller) {}

  private static final Map<String, HostUser> USERS = Map.of(
      "alice", new HostUser("demo-alice", new Caller("alice", "team", false,
          new CallerLimits(List.of("claude-sonnet-4-6", "claude-haiku-4-5"), 1024, null, null, 4, null, null))),
      "bob", new HostUser("demo-bob", new Caller("bob", "trial", false,
          new CallerLimits(List.of("claude-haiku-4-5"), 256, 10, null, 1, 100_000L, null))));

  private final Map<String, Caller> tokens = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final Counter logins;

  /** A login whose sign-ins are counted in {@code registry} ({@code host_logins_total}). */
  public HostLogin(MeterRegistry registry) {
    this.logins = Counter.builder("host.logins").description("Sign-ins to the example host").register(registry);
  }

  /** {@code POST /login}: a token for a known user and password, 401 otherwise, 400 for a body that is not one. */
  public void login(RoutingContext ctx) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      body = null;
    }
    if (body == null || !(body.getValue("user") instanceof String name)
        || !(body.getValue("password") instanceof String password)) {
      reply(ctx, 400, new JsonObject().put("error", "send {\"user\": ..., \"password\": ...} as JSON"));
      return;
    }
    HostUser user = USERS.get(name);
    if (user == null || !MessageDigest.isEqual(user.password().getBytes(StandardCharsets.UTF_8),
        password.getBytes(StandardCharsets.UTF_8))) {
      reply(ctx, 401, new JsonObject().put("error", "unknown user or wrong password"));
      return;
    }
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    String token = "host-" + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    tokens.put(token, user.caller());
    logins.increment();
    reply(ctx, 200, new JsonObject().put("token", token).put("user", name));
  }

  // tag::resolver[]
  /**
   * The proxy's {@link CallerResolver}: the host's bearer token decides who calls and with which limits. Runs on
   * the request's event loop, so it only looks the token up.
   */
  public Future<Caller> resolve(RoutingContext request) {
    Caller caller = callerOf(request);
    if (caller == null) {
      return Future.failedFuture(new CallerResolver.Refusal(401,
          "sign in to the host first (POST /login) and send its token as Authorization: Bearer <token>"));
    }
    return Future.succeededFuture(caller);
  }
  // end::resolver[]

  /** The caller whose token {@code request} carries, or null. */
  public Caller callerOf(RoutingContext request) {
    String authorization = request.request().getHeader("authorization");
    if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return tokens.get(authorization.substring(7).trim());
  }

  static void reply(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
