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
      new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), -1, 0, -1, 0);

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
  void aCutStreamNotResumedFails() {
    SoakVerdict.Streams allResumed = new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), 20, 20, -1, 0);
    SoakVerdict clean = new SoakVerdict(allResumed, 20_000_000, 20_000_000, 0.05, 31, 31, 8, 0);
    assertTrue(clean.passed(), clean.checks().toString());
    assertEquals(6, clean.checks().size());
    SoakVerdict.Streams oneLost = new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), 20, 19, -1, 0);
    assertEquals(List.of("resumes"), failed(new SoakVerdict(oneLost, 20_000_000, 20_000_000, 0.05, 31, 31, 8, 0)));
    SoakVerdict.Streams noneCut = new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), 0, 0, -1, 0);
    assertEquals(List.of("resumes"), failed(new SoakVerdict(noneCut, 20_000_000, 20_000_000, 0.05, 31, 31, 8, 0)),
        "a resumed shape that cut nothing checked nothing");
  }

  @Test
  void aStreamToBreakThatEndedOtherwiseFails() {
    SoakVerdict.Streams asPlanned = new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), -1, 0, 20, 20);
    SoakVerdict clean = new SoakVerdict(asPlanned, 20_000_000, 20_000_000, 0.05, 31, 31, 8, 0);
    assertTrue(clean.passed(), clean.checks().toString());
    assertEquals(6, clean.checks().size());
    SoakVerdict.Streams oneOff = new SoakVerdict.Streams(1000, 1000, 1000, 0, 1000, 0, Map.of(), -1, 0, 20, 19);
    assertEquals(List.of("failures"), failed(new SoakVerdict(oneOff, 20_000_000, 20_000_000, 0.05, 31, 31, 8, 0)));
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
    SoakVerdict.Streams lost = new SoakVerdict.Streams(1000, 1000, 999, 1, 999, 0, Map.of("truncated", 1L), -1, 0, -1, 0);
    assertEquals(List.of("streams", "integrity"), failed(new SoakVerdict(lost, 1, 1, 0.05, 31, 31, 8, 0)));
    SoakVerdict.Streams mismatched = new SoakVerdict.Streams(1000, 1000, 1000, 0, 999, 1, Map.of(), -1, 0, -1, 0);
    assertEquals(List.of("integrity"), failed(new SoakVerdict(mismatched, 1, 1, 0.05, 31, 31, 8, 0)));
    SoakVerdict.Streams short_ = new SoakVerdict.Streams(1000, 990, 990, 0, 990, 0, Map.of(), -1, 0, -1, 0);
    assertEquals(List.of("streams", "integrity"), failed(new SoakVerdict(short_, 1, 1, 0.05, 31, 31, 8, 0)));
    assertEquals(List.of("descriptors"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, 31, 40, 8, 0)));
    assertEquals(List.of("descriptors"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, -1, 40, 8, 0)));
    assertEquals(List.of("leak detector"), failed(new SoakVerdict(CLEAN, 1, 1, 0.05, 31, 31, 8, 2)));
  }

  private static JsonObject idle(double t, long upstream) {
    return new JsonObject().put("t_s", t).put("fds", 31 + upstream)
        .put("fds_by_kind", new JsonObject().put("upstream_sockets", upstream));
  }

  @Test
  void theFirstMinutesSampleIsTheFirstAfterSixtySecondsWithTheSameUpstreamConnectionsAsTheEnd() {
    // The burst's 200 connections close at about a minute: the sample at 62 s still has them, the one at 70 s not.
    List<JsonObject> run = List.of(idle(24, 200), idle(56, 200), idle(62, 200), idle(70, 2), idle(400, 2));
    assertEquals(70.0, SoakCommand.firstMinute(run).getDouble("t_s"));
    // None alike after 60 s: the first after 60 s.
    assertEquals(62.0, SoakCommand.firstMinute(List.of(idle(24, 2), idle(62, 200), idle(400, 2)))
        .getDouble("t_s"));
    // A run shorter than a minute: its first sample.
    assertEquals(20.0, SoakCommand.firstMinute(List.of(idle(20, 2), idle(40, 2))).getDouble("t_s"));
    assertEquals(80.0, SoakCommand.firstMinute(List.of(idle(80, 0), idle(160, 0))).getDouble("t_s"));
  }

  @Test
  void theHeapsTrendIsItsSlopeOverTheStreams() {
    List<JsonObject> idle = List.of(
        new JsonObject().put("streams_done", 25_000L).put("heap_live_bytes", 11_750_000L),
        new JsonObject().put("streams_done", 50_000L).put("heap_live_bytes", 11_760_000L),
        new JsonObject().put("streams_done", 75_000L).put("heap_live_bytes", 11_770_000L));
    assertEquals(400.0, SoakCommand.slope(idle));
    assertTrue(Double.isNaN(SoakCommand.slope(idle.subList(0, 2))));
  }

  @Test
  void pooledUpstreamConnectionsAreLeftOutOfTheDescriptors() {
    JsonObject sample = new JsonObject().put("fds", 231)
        .put("fds_by_kind", new JsonObject().put("upstream_sockets", 200).put("files", 6));
    assertEquals(31, SoakCommand.ownFds(sample));
    assertEquals(31, SoakCommand.ownFds(new JsonObject().put("fds", 31).put("fds_by_kind", new JsonObject())));
  }
}
