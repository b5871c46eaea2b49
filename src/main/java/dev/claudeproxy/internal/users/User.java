package dev.claudeproxy.internal.users;

import java.util.List;

/**
 * A caller of the proxy, as the users file describes it. Keys are stored only as {@code sha256:} hashes.
 *
 * @param tier the tier's name, or null for none
 * @param limits the user's own overrides of the tier's limits
 */
public record User(String id, List<String> keyHashes, String tier, boolean admin, Limits limits) {
  public User {
    keyHashes = List.copyOf(keyHashes);
    limits = limits == null ? Limits.NONE : limits;
  }

  public User(String id, List<String> keyHashes) {
    this(id, keyHashes, null, false, Limits.NONE);
  }
}
