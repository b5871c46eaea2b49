package dev.claudeproxy.users;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The users the proxy knows, and the check of a presented API key against their stored hashes.
 *
 * <p>The presented key is hashed first and the digest is compared with {@link MessageDigest#isEqual}, which takes
 * the same time wherever the bytes differ, so timing reveals nothing about stored hashes.
 */
public final class UserDirectory {
  private final List<User> users;
  private final Map<String, Entry> byHashPrefix = new HashMap<>();

  private record Entry(byte[] digest, User user) {}

  public UserDirectory(List<User> users) {
    this.users = List.copyOf(users);
    HexFormat hex = HexFormat.of();
    for (User user : users) {
      for (String stored : user.keyHashes()) {
        byte[] digest = hex.parseHex(stored.substring(ApiKeys.HASH_PREFIX.length()));
        // The map is keyed by the first 4 digest bytes only; the full digest is compared in constant time.
        byHashPrefix.put(hex.formatHex(digest, 0, 4), new Entry(digest, user));
      }
    }
  }

  public List<User> users() {
    return users;
  }

  public boolean isEmpty() {
    return users.isEmpty();
  }

  /** The user owning {@code key}, if any. */
  public Optional<User> authenticate(String key) {
    if (key == null || key.isEmpty()) {
      return Optional.empty();
    }
    byte[] digest = ApiKeys.sha256(key);
    Entry entry = byHashPrefix.get(HexFormat.of().formatHex(digest, 0, 4));
    if (entry == null || !MessageDigest.isEqual(entry.digest(), digest)) {
      return Optional.empty();
    }
    return Optional.of(entry.user());
  }

  /** A directory with one more user; used for the development key in simulator mode. */
  public UserDirectory with(User user) {
    List<User> all = new ArrayList<>(users);
    all.add(user);
    return new UserDirectory(all);
  }
}
