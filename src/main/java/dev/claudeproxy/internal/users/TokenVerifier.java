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
import java.util.Base64;
import java.util.List;

/**
 * Checks JWT bearer tokens (vertx-auth-jwt: HS256, RSA and EC public keys, a JWKS document) and turns one into a
 * {@link Caller}: the user from the configured claim, the tier from the tier claim, the user's entry in the users
 * file when there is one.
 *
 * <p>Failures say what is wrong (malformed, expired, not valid) and never repeat the token.
 */
public final class TokenVerifier {
  private final JWTAuth auth;
  private final JwtConfig config;

  /** Why a token was refused; its message is safe to show the caller. */
  public static final class Refused extends RuntimeException {
    public Refused(String message) {
      super(message, null, false, false);
    }
  }

  private TokenVerifier(JWTAuth auth, JwtConfig config) {
    this.auth = auth;
    this.config = config;
  }

  /** A verifier for the configured keys, or null when tokens are not configured. */
  public static TokenVerifier create(Vertx vertx, JwtConfig config) {
    if (config == null) {
      return null;
    }
    JWTAuthOptions options = new JWTAuthOptions();
    if (config.hs256Secret() != null) {
      options.addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(config.hs256Secret()));
    }
    for (JwtConfig.PublicKey key : config.publicKeys()) {
      options.addPubSecKey(new PubSecKeyOptions().setAlgorithm(key.algorithm()).setBuffer(read(key.pem())));
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
      keys.forEach(k -> options.addJwk((JsonObject) k));
    }
    JWTOptions checks = new JWTOptions().setLeeway(5);
    if (config.issuer() != null) {
      checks.setIssuer(config.issuer());
    }
    if (config.audience() != null) {
      checks.setAudience(List.of(config.audience()));
    }
    options.setJWTOptions(checks);
    try {
      return new TokenVerifier(JWTAuth.create(vertx, options), config);
    } catch (RuntimeException e) {
      throw new ConfigException("JWT keys could not be loaded: " + e.getMessage(), e);
    }
  }

  /** Whether a bearer value looks like a JWT (three dot-separated parts) rather than an API key. */
  public static boolean looksLikeJwt(String bearer) {
    int first = bearer.indexOf('.');
    return first > 0 && bearer.indexOf('.', first + 1) > first + 1 && bearer.chars().filter(c -> c == '.').count() == 2;
  }

  public Future<Caller> verify(String token, UserDirectory users) {
    JsonObject claims;
    try {
      String[] parts = token.split("\\.", -1);
      JsonObject header = decodePart(parts[0]);
      claims = decodePart(parts[1]);
      if (header == null || claims == null || parts.length != 3) {
        return Future.failedFuture(new Refused("malformed bearer token"));
      }
    } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException e) {
      return Future.failedFuture(new Refused("malformed bearer token"));
    }
    return auth.authenticate(new TokenCredentials(token))
        .recover(e -> Future.failedFuture(new Refused(expired(claims)
            ? "bearer token has expired" : "bearer token is not valid (signature, issuer, audience or dates)")))
        .compose(verified -> caller(claims, users));
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
