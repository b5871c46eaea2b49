package dev.claudeproxy.internal.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How bearer tokens (JWT) are checked; absent when none of the key settings is given.
 *
 * @param hs256Secret the shared secret for HS256 ({@code JWT_HS256_SECRET}; from the environment)
 * @param publicKeys public keys as {@code ALG:path-to-PEM}, comma-separated, e.g. {@code RS256:/etc/jwt/rsa.pem}
 *     ({@code JWT_PUBLIC_KEYS}; RS256, RS384, RS512, ES256, ES384, ES512, PS256...)
 * @param jwksFile a JWKS document ({@code JWT_JWKS_FILE})
 * @param userClaim the claim naming the user ({@code JWT_USER_CLAIM}, default {@code sub})
 * @param tierClaim the claim naming the tier, if any ({@code JWT_TIER_CLAIM})
 * @param defaultTier the tier of a token user who has none ({@code JWT_DEFAULT_TIER})
 * @param issuer the required {@code iss}, if any ({@code JWT_ISSUER})
 * @param audience the required {@code aud}, if any ({@code JWT_AUDIENCE})
 */
public record JwtConfig(
    String hs256Secret,
    List<PublicKey> publicKeys,
    Path jwksFile,
    String userClaim,
    String tierClaim,
    String defaultTier,
    String issuer,
    String audience) {

  public record PublicKey(String algorithm, Path pem) {}

  /** The JWT settings, or null when no key is configured (tokens are then not accepted). */
  public static JwtConfig from(Settings s) {
    String secret = s.string("JWT_HS256_SECRET", null);
    String keys = s.string("JWT_PUBLIC_KEYS", null);
    String jwks = s.string("JWT_JWKS_FILE", null);
    if (secret == null && keys == null && jwks == null) {
      return null;
    }
    if (secret != null && secret.length() < 32) {
      throw new ConfigException("JWT_HS256_SECRET must be at least 32 characters");
    }
    List<PublicKey> publicKeys = new ArrayList<>();
    if (keys != null) {
      for (String entry : keys.split(",")) {
        int colon = entry.indexOf(':');
        if (colon <= 0) {
          throw new ConfigException("JWT_PUBLIC_KEYS entries must be ALG:path, e.g. RS256:/etc/jwt/key.pem; got \""
              + entry.trim() + "\"");
        }
        publicKeys.add(new PublicKey(entry.substring(0, colon).trim(), Path.of(entry.substring(colon + 1).trim())));
      }
    }
    return new JwtConfig(secret, publicKeys, jwks == null ? null : Path.of(jwks),
        s.string("JWT_USER_CLAIM", "sub"), s.string("JWT_TIER_CLAIM", null), s.string("JWT_DEFAULT_TIER", null),
        s.string("JWT_ISSUER", null), s.string("JWT_AUDIENCE", null));
  }
}
