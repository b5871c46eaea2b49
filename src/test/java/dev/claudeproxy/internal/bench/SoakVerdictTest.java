package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The soak's pass or fail. */
class SoakVerdictTest {
  private static final SoakVerdict.Streams CLEAN =
      new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of());

  private static List<String> failed(SoakVerdict v) {
    return v.checks().stream().filter(c -> !c.passed()).map(SoakVerdict.Check::name).toList();
  }

  @Test
  void cleanRunPasses() {
    SoakVerdict v = new SoakVerdict(CLEAN, 20_000_000, 20_900_000, 0.05, 31, 33, 8, 0);
    assertTrue(v.passed(), v.checks().toString());
    assertEquals(5, v.checks().size());
  }

  @Test
  void heapBeyondToleranceEitherWayFails() {
    assertEquals(List.of("heap"), failed(new SoakVerdict(CLEAN, 20_000_000, 21_100_000, 0.05, 31, 31, 8, 0)));
    assertEquals(List.of("heap"), failed(new SoakVerdict(CLEAN, 20_000_000, 18_900_000, 0.05, 31, 31, 8, 0)));
    assertEquals(List.of("heap"), failed(new SoakVerdict(CLEAN, -1, 18_900_000, 0.05, 31, 31, 8, 0)));
    assertTrue(new SoakVerdict(CLEAN, 20_000_000, 21_000_000, 0.05, 31, 31, 8, 0).passed());
  }

  @Test
  void streamsIntegrityDescriptorsAndLeaks() {
    SoakVerdict.Streams lost = new SoakVerdict.Streams(1000, 1000, 999, 1, 999, 0, Map.of("truncated", 1L));
    assertEquals(List.of("streams", "integrity"), failed(new SoakVerdict(lost, 1, 1, 0.05, 31, 31, 8, 0)));
    SoakVerdict.Streams mismatched = new SoakVerdict.Streams(1000, 1000, 1000, 0, 999, 1, Map.of());
    assertEquals(List.of("integrity"), failed(new SoakVerdict(mismatched, 1, 1, 0.05, 31, 31, 8, 0)));
    SoakVerdict.Streams short_ = new SoakVerdict.Streams(1000, 990, 990, 0, 990, 0, Map.of());
    assertEquals(List.of("streams", "integrity"), failed(new SoakVerdict(short_, 1, 1, 0.05, 31, 31, 8, 0)));
    assertEquals(List.of("descriptors"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, 31, 40, 8, 0)));
    assertEquals(List.of("descriptors"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, -1, 40, 8, 0)));
    assertEquals(List.of("leak detector"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, 31, 31, 8, 2)));
  }

  @Test
  void theFirstMinutesSampleIsTheLastWithinSixtySecondsButNeverTheEnd() {
    List<JsonObject> idle = List.of(new JsonObject().put("t_s", 24.0), new JsonObject().put("t_s", 56.1),
        new JsonObject().put("t_s", 66.0), new JsonObject().put("t_s", 412.8));
    assertEquals(56.1, SoakCommand.firstMinute(idle).getDouble("t_s"));
    assertEquals(80.0, SoakCommand.firstMinute(List.of(new JsonObject().put("t_s", 80.0),
        new JsonObject().put("t_s", 160.0))).getDouble("t_s"));
    assertEquals(20.0, SoakCommand.firstMinute(List.of(new JsonObject().put("t_s", 20.0),
        new JsonObject().put("t_s", 40.0))).getDouble("t_s"));
  }

  @Test
  void pooledUpstreamConnectionsAreLeftOutOfTheDescriptors() {
    JsonObject sample = new JsonObject().put("fds", 231)
        .put("fds_by_kind", new JsonObject().put("upstream_sockets", 200).put("files", 6));
    assertEquals(31, SoakCommand.ownFds(sample));
    assertEquals(31, SoakCommand.ownFds(new JsonObject().put("fds", 31).put("fds_by_kind", new JsonObject())));
  }
}
