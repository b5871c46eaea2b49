package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * bench/results.md rendered from fixed results. The fixtures are the results.json of a quick run of the Python bench
 * (trimmed of what the renderer does not read; one made-up cluster step with errors), and a copy given several rounds;
 * each .md beside them is what the Python bench's renderer wrote from the same results, so the Java renderer must
 * write it to the byte.
 */
class ResultsMarkdownTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String resource(String name) throws IOException {
    try (InputStream in = ResultsMarkdownTest.class.getResourceAsStream("/bench/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void rendersAQuickRunAsThePythonBenchDid() throws IOException {
    JsonNode results = JSON.readTree(resource("results-quick.json"));
    assertEquals(resource("results-quick.md"), ResultsMarkdown.render(results, true));
  }

  @Test
  void rendersRoundsAsThePythonBenchDid() throws IOException {
    JsonNode results = JSON.readTree(resource("results-rounds.json"));
    assertEquals(resource("results-rounds.md"), ResultsMarkdown.render(results, false));
  }

  @Test
  void countsHowEachRunsCpuWasCounted() throws IOException {
    assertEquals(Map.of("schedstat", 72, "ticks", 36),
        Rounds.cpuCountedBy(JSON.readTree(resource("results-rounds.json"))));
  }

  @Test
  void takesTheMedianRoundWithEveryRoundsFigure() throws IOException {
    List<ObjectNode> rounds = List.of(run(3.0, "schedstat"), run(1.0, "ticks"), run(2.0, "schedstat"),
        run(5.0, "schedstat"));
    ObjectNode chosen = Rounds.medianRound(rounds);
    assertEquals(3.0, chosen.get("cpu_us_per_delta").asDouble()); // the upper middle one of four
    assertEquals("[3.0,1.0,2.0,5.0]", chosen.get("rounds_us_per_delta").toString());
    assertEquals("[\"schedstat\",\"ticks\",\"schedstat\",\"schedstat\"]", chosen.get("rounds_counted_by").toString());
  }

  @Test
  void takesTheMedianFirstTokenTimesOfTheRounds() throws IOException {
    List<ObjectNode> rounds = List.of(
        (ObjectNode) JSON.readTree("{\"time_to_first_token_ms\": {\"p50\": 1.5, \"p99\": 9, \"max\": 20},"
            + " \"inside_ms\": {\"first_token\": {\"p50\": 1.0, \"p99\": 5.0}}}"),
        (ObjectNode) JSON.readTree("{\"time_to_first_token_ms\": {\"p50\": 1.2, \"p99\": 7.5, \"max\": 30},"
            + " \"inside_ms\": {\"first_token\": {\"p50\": 2.0, \"p99\": 4.0}}}"),
        (ObjectNode) JSON.readTree("{\"time_to_first_token_ms\": {\"p50\": 1.9, \"p99\": 8, \"max\": 40},"
            + " \"inside_ms\": {\"first_token\": {\"p50\": 3.0, \"p99\": 6.0}}}"));
    ObjectNode chosen = Rounds.medianTtft(rounds);
    assertEquals("{\"p50\":1.5,\"p99\":8,\"max\":20}", chosen.get("time_to_first_token_ms").toString());
    assertEquals("[9,7.5,8]", chosen.get("rounds_p99_ms").toString());
    assertEquals("{\"first_token\":{\"p50\":2.0,\"p99\":5.0}}", chosen.get("inside_ms").toString());
  }

  private static ObjectNode run(double usPerDelta, String countedBy) {
    ObjectNode s = JSON.createObjectNode();
    s.put("cpu_us_per_delta", usPerDelta);
    s.put("cpu_counted_by", countedBy);
    return s;
  }
}
