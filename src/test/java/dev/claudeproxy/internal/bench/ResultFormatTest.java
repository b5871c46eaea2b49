package dev.claudeproxy.internal.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Numbers and JSON as the Python bench printed them. */
class ResultFormatTest {
  @Test
  void roundsTheDoublesExactValueHalfToEvenAsPythonsFormatDoes() {
    assertEquals("2.67", ResultFormat.f2(2.675)); // 2.67499999... in binary
    assertEquals("0.12", ResultFormat.f2(0.125)); // exact: half to even
    assertEquals("0.38", ResultFormat.f2(0.375));
    assertEquals("nan", ResultFormat.f2(Double.NaN));
    assertEquals("-0.00", ResultFormat.f2(-0.001));
    assertEquals("+1.50", ResultFormat.signed2(1.5));
    assertEquals("-1.50", ResultFormat.signed2(-1.5));
    assertEquals("1234", ResultFormat.fixed(1233.5, 0));
    assertEquals("12.2", ResultFormat.fixed(12.25, 1));
  }

  @Test
  void printsJsonNumbersAsPythonsStrDoes() throws Exception {
    ObjectMapper json = new ObjectMapper();
    assertEquals("16.82", ResultFormat.str(json.readTree("16.82")));
    assertEquals("12", ResultFormat.str(json.readTree("12")));
    assertEquals("100.0", ResultFormat.str(json.readTree("100.0")));
    assertEquals("0.05", ResultFormat.str(json.readTree("0.05")));
    assertEquals("–", ResultFormat.str(null));
    assertEquals("1e-05", ResultFormat.repr(0.00001));
    assertEquals("1e+16", ResultFormat.repr(1e16));
  }

  @Test
  void dumpsJsonOnOneLineAsPythonsJsonDumpsDoes() throws Exception {
    ObjectMapper json = new ObjectMapper();
    assertEquals("{\"a\": 1, \"b\": {\"c{x=\\\"y\\\"}\": 2.0}, \"d\": [1, \"\\u00b5\"]}",
        ResultFormat.dumps(json.readTree("{\"a\":1,\"b\":{\"c{x=\\\"y\\\"}\":2.0},\"d\":[1,\"µ\"]}")));
    assertEquals("{}", ResultFormat.dumps(json.readTree("{}")));
  }

  @Test
  void writesJsonFilesAsPythonsJsonDumpWithAnIndentDoes(@TempDir Path dir) throws Exception {
    ObjectNode value = new ObjectMapper().createObjectNode();
    value.put("a", Double.NaN);
    value.putArray("b").add(1).add(2.5);
    value.putObject("c");
    value.putArray("d");
    value.putObject("e").put("f", "g");
    Path file = dir.resolve("x.json");
    Bench.writeJson(file, value);
    // json.dumps({"a": float("nan"), "b": [1, 2.5], "c": {}, "d": [], "e": {"f": "g"}}, indent=2)
    assertEquals("{\n  \"a\": NaN,\n  \"b\": [\n    1,\n    2.5\n  ],\n  \"c\": {},\n  \"d\": [],\n"
        + "  \"e\": {\n    \"f\": \"g\"\n  }\n}", Files.readString(file));
  }
}
