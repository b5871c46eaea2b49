package dev.claudeproxy.internal.simulator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.Settings;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

class SimulatorConfigTest {

  @Test
  void defaultsWhenAbsent() {
    SimulatorConfig c = SimulatorConfig.from(new Settings(new JsonObject()));
    assertEquals("127.0.0.1", c.host());
    assertEquals(9000, c.port());
    assertNull(c.apiKey());
    assertEquals(300, c.ttftMs());
    assertEquals(60, c.tokensPerSecond());
    assertEquals(0.2, c.jitter());
    assertEquals(60, c.outputTokens());
    assertNull(c.scenario());
    assertEquals(5000, c.slowFirstTokenMs());
    assertEquals(1, c.retryAfterSeconds());
    assertEquals(3, c.faultAfterDeltas());
    assertTrue(c.instances() >= 1);
    assertEquals(WriteMode.EVENT, c.write());
  }

  @Test
  void readsEnvironmentStyleStrings() {
    JsonObject v = new JsonObject()
        .put("SIM_HOST", "0.0.0.0").put("SIM_PORT", "0").put("SIM_API_KEY", "k").put("SIM_TTFT_MS", "10")
        .put("SIM_TOKENS_PER_SECOND", "0").put("SIM_JITTER", "0.5").put("SIM_OUTPUT_TOKENS", "7")
        .put("SIM_SCENARIO", "fail_then_succeed:2").put("SIM_SLOW_FIRST_TOKEN_MS", 100)
        .put("SIM_RETRY_AFTER_S", "0.25").put("SIM_FAULT_AFTER_DELTAS", "5").put("SIM_INSTANCES", "3")
        .put("SIM_WRITE", " Batch ");
    SimulatorConfig c = SimulatorConfig.from(new Settings(v));
    assertEquals("0.0.0.0", c.host());
    assertEquals(0, c.port());
    assertEquals("k", c.apiKey());
    assertEquals(10, c.ttftMs());
    assertEquals(0, c.tokensPerSecond());
    assertEquals(0.5, c.jitter());
    assertEquals(7, c.outputTokens());
    assertEquals(new Scenario(Scenario.Kind.FAIL_THEN_SUCCEED, 2), c.scenario());
    assertEquals(100, c.slowFirstTokenMs());
    assertEquals(0.25, c.retryAfterSeconds());
    assertEquals(5, c.faultAfterDeltas());
    assertEquals(3, c.instances());
    assertEquals(WriteMode.BATCH, c.write());
    assertFalse(c.toString().contains("=k,"), "the key is not printed");
  }

  @Test
  void invalidValuesNameTheKey() {
    for (String[] bad : new String[][] {
        {"SIM_PORT", "70000"}, {"SIM_PORT", "x"}, {"SIM_JITTER", "1.5"}, {"SIM_TOKENS_PER_SECOND", "-1"},
        {"SIM_OUTPUT_TOKENS", "-3"}, {"SIM_SCENARIO", "chaos"}, {"SIM_TTFT_MS", "-1"}, {"SIM_INSTANCES", "0"},
        {"SIM_RETRY_AFTER_S", "-2"}, {"SIM_FAULT_AFTER_DELTAS", "-1"}, {"SIM_WRITE", "chunky"}}) {
      ConfigException e = assertThrows(ConfigException.class,
          () -> SimulatorConfig.from(new Settings(new JsonObject().put(bad[0], bad[1]))), bad[0]);
      assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
    }
    assertEquals("SIM_WRITE must be event or batch, got \"chunky\"", assertThrows(ConfigException.class,
        () -> SimulatorConfig.from(new Settings(new JsonObject().put("SIM_WRITE", "chunky")))).getMessage());
  }

  @Test
  void scenarioParsing() {
    assertEquals(Scenario.Kind.OVERLOADED, Scenario.parse("Overloaded").kind());
    assertEquals(1, Scenario.parse("fail_then_succeed").failures());
    assertEquals(4, Scenario.parse("fail_then_succeed:4").failures());
    assertEquals("fail_then_succeed:4", Scenario.parse("fail_then_succeed:4").text());
    assertThrows(IllegalArgumentException.class, () -> Scenario.parse("fail_then_succeed:x"));
    assertThrows(IllegalArgumentException.class, () -> Scenario.parse("stall:2"));
    assertTrue(Scenario.parse("stall").isMidStream());
    assertFalse(Scenario.parse("overloaded").isMidStream());
  }

  @Test
  void attemptTrackerFailsNTimesThenSucceedsAndForgets() {
    AttemptTracker t = new AttemptTracker(2, 1000);
    assertTrue(t.shouldFail("a", 2, 0));
    assertTrue(t.shouldFail("a", 2, 1));
    assertFalse(t.shouldFail("a", 2, 2));
    assertTrue(t.shouldFail("a", 2, 3), "after a success the cycle starts again");
    assertTrue(t.shouldFail("b", 1, 3));
    assertTrue(t.shouldFail("c", 1, 3));
    assertEquals(2, t.size(), "bounded");
    assertTrue(t.shouldFail("c", 5, 3));
    assertTrue(t.shouldFail("c", 5, 5000), "an expired entry starts over");
  }
}
