package dev.claudeproxy.internal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.claudeproxy.TestStack;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code loadtest --runs-from-stdin}: many runs in one JVM, each answered with a line, bad lines included. */
class LoadtestSessionTest {
  private static TestStack stack;

  @BeforeAll
  static void start() {
    stack = TestStack.start(Map.of("SIM_TTFT_MS", 10, "SIM_TOKENS_PER_SECOND", 500));
  }

  @AfterAll
  static void stop() {
    stack.close();
  }

  private JsonArray run(Path dir, String name, String... more) {
    JsonArray args = new JsonArray().add("--url").add(stack.proxyUrl()).add("--key").add(stack.callerKey)
        .add("-q").add("--json").add(dir.resolve(name + ".json").toString())
        .add("--html").add(dir.resolve(name + ".html").toString());
    for (String arg : more) {
      args.add(arg);
    }
    return args;
  }

  @Test
  void runsEachLineAndAnswersEveryOneEvenAfterABadOne(@TempDir Path dir) throws Exception {
    String input = String.join("\n",
        run(dir, "first", "-c", "10", "-n", "30", "--verify-tokens", "15").encode(),
        "not json",
        "",
        new JsonArray().add("--no-such-option").encode(),
        new JsonArray().add("-c").add(5).encode(),
        run(dir, "bad-header", "-H", "no-colon").encode(),
        new JsonArray().add("--runs-from-stdin").encode(),
        run(dir, "not-a-dir/unwritable", "-c", "2", "-n", "2").encode(),
        run(dir, "second", "--endpoint", "chat", "-c", "5", "-n", "12", "--verify-tokens", "8").encode(),
        run(dir, "unverified-resume", "--cut-and-resume").encode(),
        // The same proxy named twice: streams start on the first URL and are resumed on the second.
        run(dir, "resumed", "--url", stack.proxyUrl(), "--cut-and-resume", "-c", "5", "-n", "20", "--verify-tokens",
            "10").encode());
    Files.writeString(dir.resolve("not-a-dir"), "a file, so no summary can be written under it");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int code = LoadtestCommand.session(new BufferedReader(new StringReader(input)),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertEquals(0, code);

    List<JsonObject> answers = bytes.toString(StandardCharsets.UTF_8).lines().map(JsonObject::new).toList();
    assertEquals(10, answers.size(), answers.toString());
    for (int i = 0; i < answers.size(); i++) {
      assertEquals(i + 1, answers.get(i).getInteger("run"), answers.toString());
    }
    assertEquals(0, answers.get(0).getInteger("exit"), answers.get(0).encode());
    assertEquals(dir.resolve("first.json").toString(), answers.get(0).getString("json"));
    for (int i = 1; i <= 5; i++) {
      JsonObject bad = answers.get(i);
      assertEquals(2, bad.getInteger("exit"), bad.encode());
      assertTrue(bad.getString("error") != null && !bad.getString("error").isBlank(), bad.encode());
    }
    assertTrue(answers.get(2).getString("error").contains("--no-such-option"), answers.get(2).encode());
    assertTrue(answers.get(3).getString("error").contains("not one"), answers.get(3).encode());
    assertTrue(answers.get(4).getString("error").contains("NAME:VALUE"), answers.get(4).encode());
    assertEquals(3, answers.get(6).getInteger("exit"), answers.get(6).encode());
    assertTrue(answers.get(6).getString("error").contains("not-a-dir"), answers.get(6).encode());
    assertEquals(0, answers.get(7).getInteger("exit"), answers.get(7).encode());
    assertEquals(2, answers.get(8).getInteger("exit"), answers.get(8).encode());
    assertTrue(answers.get(8).getString("error").contains("--verify-tokens"), answers.get(8).encode());
    assertEquals(0, answers.get(9).getInteger("exit"), answers.get(9).encode());

    JsonObject first = new JsonObject(Files.readString(dir.resolve("first.json")));
    assertEquals(30, first.getJsonObject("streams").getLong("completed"), first.encode());
    assertEquals(30, first.getJsonObject("integrity").getLong("verified"), first.encode());
    assertEquals(30 * 15, first.getLong("deltas"));
    JsonObject second = new JsonObject(Files.readString(dir.resolve("second.json")));
    assertEquals(12, second.getJsonObject("integrity").getLong("verified"), second.encode());
    assertEquals(12 * 8, second.getLong("deltas"));
    assertEquals("chat", second.getJsonObject("config").getString("endpoint"), second.encode());
    assertTrue(Files.exists(dir.resolve("second.html")));
    JsonObject resumed = new JsonObject(Files.readString(dir.resolve("resumed.json")));
    assertEquals(20, resumed.getJsonObject("resume").getLong("resumed"), resumed.encode());
    assertEquals(new JsonArray().add(stack.proxyUrl()).add(stack.proxyUrl()),
        resumed.getJsonObject("config").getJsonArray("targets"));
  }

  @Test
  void aRunSpreadOverProcessesIsReportedAsOne(@TempDir Path dir) throws Exception {
    Path summary = dir.resolve("spread.json");
    int code = new CommandLine(new LoadtestCommand()).execute("--url", stack.proxyUrl(), "--key", stack.callerKey,
        "-q", "--processes", "2", "-c", "5", "-n", "21", "--verify-tokens", "12", "--json", summary.toString(),
        "--html", dir.resolve("spread.html").toString());
    assertEquals(0, code);
    JsonObject s = new JsonObject(Files.readString(summary));
    assertEquals(21, s.getJsonObject("streams").getLong("started"), s.encodePrettily());
    assertEquals(21, s.getJsonObject("streams").getLong("completed"));
    assertEquals(21, s.getJsonObject("integrity").getLong("verified"));
    assertEquals(21, s.getJsonObject("time_to_first_token_ms").getLong("count"));
    assertEquals(5, s.getJsonObject("config").getInteger("concurrency"));
    // Each process ran its share: 11 and 10 streams, 3 and 2 at once.
    JsonObject first = new JsonObject(Files.readString(dir.resolve("spread-processes").resolve("0.json")));
    JsonObject second = new JsonObject(Files.readString(dir.resolve("spread-processes").resolve("1.json")));
    assertEquals(11, first.getJsonObject("streams").getLong("completed"));
    assertEquals(3, first.getJsonObject("config").getInteger("concurrency"));
    assertEquals(10, second.getJsonObject("streams").getLong("completed"));
    assertEquals(2, second.getJsonObject("config").getInteger("concurrency"));
    assertTrue(Files.readString(dir.resolve("spread.html")).contains("\"started\":21"), "the report of the whole run");

    // More processes than streams at once: refused before anything starts.
    assertEquals(2, new CommandLine(new LoadtestCommand()).execute("--url", stack.proxyUrl(), "--key",
        stack.callerKey, "-q", "--processes", "3", "-c", "2", "-n", "4", "--json", dir.resolve("x.json").toString()));
  }
}
