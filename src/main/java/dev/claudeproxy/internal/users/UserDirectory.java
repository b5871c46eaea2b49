package dev.claudeproxy.internal.users;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The users and tiers the proxy knows, and the check of a presented API key against the stored hashes.
 *
 * <p>The presented key is hashed first and the digest is compared with {@link MessageDigest#isEqual}, which takes
 * the same time wherever the bytes differ, so timing reveals nothing about stored hashes.
 */
public final class UserDirectory {
  private final List<User> users;
  private final Map<String, Limits> tiers;
  private final Map<String, User> byId = new HashMap<>();
  private final Map<String, Entry> byHashPrefix = new HashMap<>();

  private record Entry(byte[] digest, User user) {}

  public UserDirectory(List<User> users, Map<String, Limits> tiers) {
    this.users = List.copyOf(users);
    this.tiers = Map.copyOf(tiers);
    HexFormat hex = HexFormat.of();
    for (User user : users) {
      byId.put(user.id(), user);
      for (String stored : user.keyHashes()) {
        byte[] digest = hex.parseHex(stored.substring(ApiKeys.HASH_PREFIX.length()));
        // The map is keyed by the first 4 digest bytes only; the full digest is compared in constant time.
        byHashPrefix.put(hex.formatHex(digest, 0, 4), new Entry(digest, user));
      }
    }
  }

  public UserDirectory(List<User> users) {
    this(users, Map.of());
  }

  public List<User> users() {
    return users;
  }

  public Map<String, Limits> tiers() {
    return tiers;
  }

  public boolean isEmpty() {
    return users.isEmpty();
  }

  public Optional<User> byId(String id) {
    return Optional.ofNullable(byId.get(id));
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

  /** The caller a user is, with its tier's limits and its own overrides applied. */
  public Caller caller(User user, String tierOverride, String via) {
    String tier = tierOverride != null ? tierOverride : user.tier();
    Limits base = tier == null ? Limits.NONE : tiers.getOrDefault(tier, Limits.NONE);
    return new Caller(user.id(), tier, user.admin(), base.overriddenBy(user.limits()), via);
  }

  /** A caller known only from a token: its tier's limits, no overrides. */
  public Caller caller(String userId, String tier, String via) {
    Limits base = tier == null ? Limits.NONE : tiers.getOrDefault(tier, Limits.NONE);
    return new Caller(userId, tier, false, base, via);
  }

  public boolean hasTier(String tier) {
    return tiers.containsKey(tier);
  }

  /** A directory with one more user; used for the development key in simulator mode. */
  public UserDirectory with(User user) {
    List<User> all = new ArrayList<>(users);
    all.add(user);
    return new UserDirectory(all, tiers);
  }
}
