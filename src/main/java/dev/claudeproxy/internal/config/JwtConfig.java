package dev.claudeproxy.internal.config;

import java.net.URI;
import java.net.URISyntaxException;
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
 * @param jwksUrl where the identity provider publishes its JWK set ({@code JWT_JWKS_URL}), fetched at start and again
 *     when a token names a key id the set does not have
 * @param jwksMinRefreshMs the least time between two fetches of {@code jwksUrl} ({@code JWT_JWKS_MIN_REFRESH_MS},
 *     default 30000), so that tokens naming unknown keys cannot make the proxy hammer the provider
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
    URI jwksUrl,
    long jwksMinRefreshMs,
    String userClaim,
    String tierClaim,
    String defaultTier,
    String issuer,
    String audience) {

  /** A public key file and the algorithm it verifies. */
  public record PublicKey(String algorithm, Path pem) {}

  /** The default of {@code JWT_JWKS_MIN_REFRESH_MS}. */
  public static final long DEFAULT_JWKS_MIN_REFRESH_MS = 30_000;

  /** The JWT settings, or null when no key is configured (tokens are then not accepted). */
  public static JwtConfig from(Settings s) {
    String secret = s.string("JWT_HS256_SECRET", null);
    String keys = s.string("JWT_PUBLIC_KEYS", null);
    String jwks = s.string("JWT_JWKS_FILE", null);
    String jwksUrl = s.string("JWT_JWKS_URL", null);
    if (secret == null && keys == null && jwks == null && jwksUrl == null) {
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
    return new JwtConfig(secret, publicKeys, jwks == null ? null : Path.of(jwks), jwksUrl == null ? null
        : jwksUrl(jwksUrl), s.longInRange("JWT_JWKS_MIN_REFRESH_MS", DEFAULT_JWKS_MIN_REFRESH_MS, 0, 86_400_000L),
        s.string("JWT_USER_CLAIM", "sub"), s.string("JWT_TIER_CLAIM", null), s.string("JWT_DEFAULT_TIER", null),
        s.string("JWT_ISSUER", null), s.string("JWT_AUDIENCE", null));
  }

  private static URI jwksUrl(String value) {
    try {
      URI uri = new URI(value.trim());
      if (("http".equalsIgnoreCase(uri.getScheme()) || "https".equalsIgnoreCase(uri.getScheme()))
          && uri.getHost() != null) {
        return uri;
      }
    } catch (URISyntaxException e) {
      // said below
    }
    throw new ConfigException("JWT_JWKS_URL must be an http or https URL, e.g."
        + " https://login.example.com/.well-known/jwks.json; got \"" + value + "\"");
  }
}
