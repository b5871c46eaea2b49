package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Streams held open by several load generators, summed into the one summary the memory sections read. */
class HeldStreamsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void oneLoadGeneratorsSummaryIsTheSummary() throws Exception {
    ObjectNode one = (ObjectNode) JSON.readTree("{\"streams\": {\"started\": 5, \"completed\": 5, \"failed\": 0}}");
    assertSame(one, Bench.HeldStreams.merge(List.of(one)));
  }

  @Test
  void sumsTheStreamsDeltasAndErrorsOfSeveral() throws Exception {
    ObjectNode a = (ObjectNode) JSON.readTree("{\"streams\": {\"started\": 500, \"completed\": 498, \"failed\": 2},"
        + " \"deltas\": 1000, \"errors\": {\"timeout\": 2}}");
    ObjectNode b = (ObjectNode) JSON.readTree("{\"streams\": {\"started\": 500, \"completed\": 497, \"failed\": 3},"
        + " \"deltas\": 900, \"errors\": {\"timeout\": 1, \"reset\": 2}}");
    ObjectNode merged = Bench.HeldStreams.merge(List.of(a, b));
    assertEquals("{\"started\":1000,\"completed\":995,\"failed\":5,\"completion_rate\":0.995}",
        merged.get("streams").toString());
    assertEquals(1900, merged.get("deltas").asLong());
    assertEquals("{\"timeout\":3,\"reset\":2}", merged.get("errors").toString());
    assertEquals(2, merged.get("parts").size());
  }
}
