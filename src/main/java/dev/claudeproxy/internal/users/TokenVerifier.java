package dev.claudeproxy.internal.users;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.JwtConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Checks JWT bearer tokens (vertx-auth-jwt: HS256, RSA and EC public keys, a JWKS document, the JWK set of a URL)
 * and turns one into a {@link Caller}: the user from the configured claim, the tier from the tier claim, the user's
 * entry in the users file when there is one.
 *
 * <p>A token must be signed with an algorithm a configured key is for: {@code alg: none}, an empty signature, or an
 * algorithm other than the key's (an HS256 token "signed" with an RSA public key, say) are refused. With
 * {@code JWT_JWKS_URL}, the key set is fetched by {@link #load()} and again when a token names a key id the set does
 * not have ({@link JwksKeys}).
 *
 * <p>Failures say what is wrong (malformed, expired, not valid) and never repeat the token.
 */
public final class TokenVerifier {
  private final Vertx vertx;
  private final JwtConfig config;
  /** The keys from the settings themselves (secret, PEM files, JWKS file), and the checks on the claims. */
  private final List<PubSecKeyOptions> fixedKeys;
  private final List<JsonObject> fixedJwks;
  private final JWTOptions checks;
  /** The key ids among the fixed keys. */
  private final Set<String> fixedKids;
  /** The JWK set of {@code JWT_JWKS_URL}, or null. */
  private final JwksKeys jwks;
  /** The verifier of the fixed keys and the URL's keys as last fetched; made anew when those change. */
  private volatile Verifier verifier;

  private record Verifier(JwksKeys.Keys fetched, JWTAuth auth) {}

  /** Why a token was refused; its message is safe to show the caller. */
  public static final class Refused extends RuntimeException {
    public Refused(String message) {
      super(message, null, false, false);
    }
  }

  private TokenVerifier(Vertx vertx, JwtConfig config, List<PubSecKeyOptions> fixedKeys, List<JsonObject> fixedJwks,
      JWTOptions checks, Set<String> fixedKids, JwksKeys jwks) {
    this.vertx = vertx;
    this.config = config;
    this.fixedKeys = fixedKeys;
    this.fixedJwks = fixedJwks;
    this.checks = checks;
    this.fixedKids = fixedKids;
    this.jwks = jwks;
    JWTAuth fixedOnly = auth(JwksKeys.Keys.NONE);
    if (jwks == null && acceptsUnsigned(fixedOnly)) {
      throw new ConfigException("JWT keys could not be loaded: none of the configured keys can be used");
    }
  }

  /** An unsigned token ({@code alg: none}, two parts), which only a verifier that holds no key accepts. */
  private static final String UNSIGNED = base64Url("{\"alg\":\"none\"}") + "." + base64Url("{}");

  /**
   * Whether {@code auth} holds no key. vertx-auth-jwt leaves out, with a log line, a key it cannot load, and with none
   * left it accepts unsigned tokens; asking it to check one is how to tell from its public API.
   */
  private static boolean acceptsUnsigned(JWTAuth auth) {
    Future<?> probe = auth.authenticate(new TokenCredentials(UNSIGNED));
    return !probe.isComplete() || probe.succeeded();
  }

  /** Whether vertx-auth-jwt can check signatures with the JWK {@code jwk}. */
  static boolean usable(Vertx vertx, JsonObject jwk) {
    return !acceptsUnsigned(JWTAuth.create(vertx, new JWTAuthOptions().addJwk(jwk)));
  }

  private static String base64Url(String json) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(json.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A verifier for the configured keys, or null when tokens are not configured. With {@code JWT_JWKS_URL} it
   * accepts tokens only once {@link #load()} has fetched the key set.
   */
  public static TokenVerifier create(Vertx vertx, JwtConfig config) {
    if (config == null) {
      return null;
    }
    List<PubSecKeyOptions> fixedKeys = new ArrayList<>();
    List<JsonObject> fixedJwks = new ArrayList<>();
    Set<String> kids = new HashSet<>();
    if (config.hs256Secret() != null) {
      fixedKeys.add(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(config.hs256Secret()));
    }
    for (JwtConfig.PublicKey key : config.publicKeys()) {
      fixedKeys.add(new PubSecKeyOptions().setAlgorithm(key.algorithm()).setBuffer(read(key.pem())));
    }
    if (config.jwksFile() != null) {
      JsonArray keys;
      try {
        keys = new JsonObject(read(config.jwksFile())).getJsonArray("keys");
      } catch (DecodeException | ClassCastException e) {
        throw new ConfigException("JWT_JWKS_FILE " + config.jwksFile() + " is not a JWKS document");
      }
      if (keys == null || keys.isEmpty()) {
        throw new ConfigException("JWT_JWKS_FILE " + config.jwksFile() + " has no \"keys\"");
      }
      for (Object key : keys) {
        if (!(key instanceof JsonObject jwk)) {
          throw new ConfigException("JWT_JWKS_FILE " + config.jwksFile() + " has a key that is not a JSON object");
        }
        fixedJwks.add(jwk);
        if (jwk.getValue("kid") instanceof String kid) {
          kids.add(kid);
        }
      }
    }
    JWTOptions checks = new JWTOptions().setLeeway(5);
    if (config.issuer() != null) {
      checks.setIssuer(config.issuer());
    }
    if (config.audience() != null) {
      checks.setAudience(List.of(config.audience()));
    }
    JwksKeys jwks = config.jwksUrl() == null ? null
        : new JwksKeys(vertx, config.jwksUrl(), config.jwksMinRefreshMs());
    try {
      return new TokenVerifier(vertx, config, List.copyOf(fixedKeys), List.copyOf(fixedJwks), checks,
          Set.copyOf(kids), jwks);
    } catch (ConfigException e) {
      throw e;
    } catch (RuntimeException e) {
      throw new ConfigException("JWT keys could not be loaded: " + e.getMessage(), e);
    }
  }

  /**
   * Fetches the key set of {@code JWT_JWKS_URL}, when it is set; fails with a message naming the URL and the reason
   * when it cannot, so that the proxy does not start with keys it was told to have.
   */
  public Future<Void> load() {
    return jwks == null ? Future.succeededFuture() : jwks.load();
  }

  /** Releases what fetching the key set holds (its HTTP client). */
  public void close() {
    if (jwks != null) {
      jwks.close();
    }
  }

  /** Whether a bearer value looks like a JWT (three dot-separated parts) rather than an API key. */
  public static boolean looksLikeJwt(String bearer) {
    int first = bearer.indexOf('.');
    return first > 0 && bearer.indexOf('.', first + 1) > first + 1 && bearer.chars().filter(c -> c == '.').count() == 2;
  }

  /**
   * The caller a token names, once its signature, dates, issuer and audience are checked; fails with
   * {@link Refused} saying why a token is not accepted.
   */
  public Future<Caller> verify(String token, UserDirectory users) {
    JsonObject header;
    JsonObject claims;
    String[] parts = token.split("\\.", -1);
    try {
      if (parts.length != 3) {
        return Future.failedFuture(new Refused("malformed bearer token"));
      }
      header = decodePart(parts[0]);
      claims = decodePart(parts[1]);
      if (header == null || claims == null) {
        return Future.failedFuture(new Refused("malformed bearer token"));
      }
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new Refused("malformed bearer token"));
    }
    // vertx-auth-jwt refuses these too while it holds a key; without one (a key set not fetched yet) it would take
    // unsigned tokens, so they are refused here whatever it holds.
    if (!(header.getValue("alg") instanceof String alg) || "none".equalsIgnoreCase(alg) || parts[2].isEmpty()) {
      return Future.failedFuture(new Refused("bearer token is not signed"));
    }
    String kid = header.getValue("kid") instanceof String k ? k : null;
    Future<JwksKeys.Keys> fetched = jwks == null ? Future.succeededFuture(JwksKeys.Keys.NONE) : jwks.keysFor(kid);
    return fetched.compose(keys -> auth(keys).authenticate(new TokenCredentials(token))
        .recover(e -> Future.failedFuture(new Refused(refusal(claims, kid, keys)))))
        .compose(verified -> caller(claims, users));
  }

  private String refusal(JsonObject claims, String kid, JwksKeys.Keys keys) {
    if (jwks != null && kid != null && !keys.kids().contains(kid) && !fixedKids.contains(kid)) {
      return "bearer token is signed with a key (kid) that this proxy's key set does not have";
    }
    return expired(claims) ? "bearer token has expired"
        : "bearer token is not valid (signature, issuer, audience or dates)";
  }

  /** The verifier for the fixed keys and {@code fetched}, made anew when the fetched keys changed. */
  private JWTAuth auth(JwksKeys.Keys fetched) {
    Verifier current = verifier;
    if (current != null && current.fetched() == fetched) {
      return current.auth();
    }
    // Options made anew each time: their copy constructor shares the key lists.
    JWTAuthOptions options = new JWTAuthOptions().setJWTOptions(checks);
    fixedKeys.forEach(options::addPubSecKey);
    fixedJwks.forEach(options::addJwk);
    fetched.jwks().forEach(options::addJwk);
    JWTAuth auth = JWTAuth.create(vertx, options);
    verifier = new Verifier(fetched, auth);
    return auth;
  }

  private Future<Caller> caller(JsonObject claims, UserDirectory users) {
    if (!(claims.getValue(config.userClaim()) instanceof String userId) || userId.isBlank()) {
      return Future.failedFuture(new Refused("bearer token has no \"" + config.userClaim() + "\" claim"));
    }
    String tier = config.tierClaim() != null && claims.getValue(config.tierClaim()) instanceof String t ? t : null;
    if (tier != null && !users.hasTier(tier)) {
      return Future.failedFuture(new Refused("bearer token names a tier this proxy does not have"));
    }
    Caller caller = users.byId(userId)
        .map(user -> users.caller(user, tier, "jwt"))
        .orElseGet(() -> users.caller(userId, tier != null ? tier : config.defaultTier(), "jwt"));
    return Future.succeededFuture(caller);
  }

  private static boolean expired(JsonObject claims) {
    return claims.getValue("exp") instanceof Number exp && exp.longValue() * 1000 < System.currentTimeMillis();
  }

  private static JsonObject decodePart(String part) {
    byte[] json = Base64.getUrlDecoder().decode(part);
    try {
      return new JsonObject(new String(json, StandardCharsets.UTF_8));
    } catch (DecodeException | ClassCastException e) {
      return null;
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new ConfigException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
