package dev.claudeproxy.internal.users;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;

/** Creating API keys and the {@code sha256:<hex>} form in which they are stored. */
public final class ApiKeys {
  public static final String PREFIX = "sk-csp-";
  public static final String HASH_PREFIX = "sha256:";
  private static final SecureRandom RANDOM = new SecureRandom();

  private ApiKeys() {}

  /** A new key: a prefix (so leaked keys are recognisable) and 256 random bits. */
  public static String generate() {
    byte[] bytes = new byte[32];
    RANDOM.nextBytes(bytes);
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  /** The stored form of a key: {@code sha256:} and the hex SHA-256 of its UTF-8 bytes. */
  public static String hash(String key) {
    return HASH_PREFIX + HexFormat.of().formatHex(sha256(key));
  }

  static byte[] sha256(String key) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
