package dev.claudeproxy.internal.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

/** What a worker keeps of a resumable stream, and for how long: the defaults, each setting on its own. */
class ResumePolicyTest {
  @Test
  void theDefaultsAreThirtySecondsOfGraceOneMebibyteAndFiveMinutes() {
    assertEquals(new ResumePolicy(30_000, 1024 * 1024, 300_000), policy(new JsonObject()));
    assertEquals(new ResumePolicy(1_000, 4096, 0), policy(new JsonObject().put("PROXY_RESUME_GRACE_MS", 1_000)
        .put("PROXY_RESUME_BUFFER_BYTES", 4096).put("PROXY_RESUME_TTL_MS", 0)));
  }

  @Test
  void aBufferTooSmallToHoldAnEventIsRefusedByName() {
    ConfigException e = assertThrows(ConfigException.class,
        () -> policy(new JsonObject().put("PROXY_RESUME_BUFFER_BYTES", 10)));
    assertTrue(e.getMessage().startsWith("PROXY_RESUME_BUFFER_BYTES"), e.getMessage());
  }

  private static ResumePolicy policy(JsonObject settings) {
    return ResumePolicy.from(new Settings(settings));
  }
}
