package dev.claudeproxy.users;

import java.util.List;

/** A caller of the proxy, as the users file describes it. Keys are stored only as {@code sha256:} hashes. */
public record User(String id, List<String> keyHashes) {
  public User {
    keyHashes = List.copyOf(keyHashes);
  }
}
