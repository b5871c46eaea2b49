package dev.claudeproxy.internal.users;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsersFileTest {
  private static final String HASH = ApiKeys.hash("sk-csp-test");
  @TempDir Path dir;

  @Test
  void readsTiersUsersAndOverrides() throws Exception {
    Path file = write("""
        {"tiers": {"team": {"models": ["claude-sonnet-4-6"], "maxTokens": 4096, "requestsPerMinute": 60,
                            "tokensPerMinute": 200000, "concurrentStreams": 4, "dailyTokens": 5000000,
                            "system": "Answer as the Acme assistant."}},
         "users": [{"id": "alice", "keys": ["%s"], "tier": "team"},
                   {"id": "ops", "keys": [], "admin": true, "limits": {"concurrentStreams": 50}}]}
        """.formatted(HASH));
    UserDirectory users = UsersFile.read(file);
    User alice = users.authenticate("sk-csp-test").orElseThrow();
    Caller caller = users.caller(alice, null, "api_key");
    assertEquals("team", caller.tier());
    assertEquals(4096, caller.limits().maxTokens());
    assertEquals(5_000_000L, caller.limits().dailyTokens());
    Caller ops = users.caller(users.byId("ops").orElseThrow(), null, "api_key");
    assertTrue(ops.admin());
    assertEquals(50, ops.limits().concurrentStreams());
  }

  @Test
  void namesTheLineAndFieldOfAMistake() throws Exception {
    assertMistake("""
        {"tiers": {"team": {"maxTokens": 4096}},
         "users": [
           {"id": "alice", "keys": ["%s"], "tier": "team"},
           {"id": "bob", "keys": ["sha256:nothex"]}
         ]}
        """.formatted(HASH), "line 4", "users[1].keys[0]");
    assertMistake("""
        {"tiers": {"team": {
            "maxTokens": "lots"}},
         "users": []}
        """, "line 2", "tiers.team.maxTokens");
    assertMistake("""
        {"users": [{"id": "alice", "keys": [], "tier": "gold"}]}
        """, "line 1", "users[0].tier");
    assertMistake("""
        {"users": [{"id": "alice", "keys": [],
                    "limits": {"concurrentStreams": 2, "speed": 3}}]}
        """, "line 2", "users[0].limits.speed");
    assertMistake("""
        {"users": [{"id": "alice", "keys": []},
                   {"id": "alice", "keys": []}]}
        """, "line 2", "users[1].id");
    assertMistake("{\"users\": [\n  {\"id\": \"alice\",, }]}", "line 2", "not valid JSON");
  }

  @Test
  void addsKeysWithoutLosingTheRest() throws Exception {
    Path file = write("""
        {"tiers": {"team": {"maxTokens": 100}}, "users": [{"id": "alice", "keys": [], "tier": "team"}]}
        """);
    UsersFile.addKey(file, "alice", "sk-csp-new");
    UsersFile.addKey(file, "carol", "sk-csp-other");
    UserDirectory users = UsersFile.read(file);
    assertEquals("alice", users.authenticate("sk-csp-new").orElseThrow().id());
    assertEquals("team", users.authenticate("sk-csp-new").orElseThrow().tier());
    assertEquals("carol", users.authenticate("sk-csp-other").orElseThrow().id());
    assertTrue(!Files.readString(file).contains("sk-csp-new"), "only the hash is stored");
  }

  private void assertMistake(String json, String line, String field) throws Exception {
    Path file = write(json);
    ConfigException e = assertThrows(ConfigException.class, () -> UsersFile.read(file));
    assertTrue(e.getMessage().contains(line) && e.getMessage().contains(field), e.getMessage());
  }

  private Path write(String json) throws Exception {
    Path file = Files.createTempFile(dir, "users", ".json");
    Files.writeString(file, json);
    return file;
  }
}
