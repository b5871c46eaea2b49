package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's embedding snippets come from compiled code: each region tagged {@code // tag::NAME[]} ...
 * {@code // end::NAME[]} in the example host's sources must appear in the README verbatim, once its common
 * indentation is stripped.
 */
class EmbeddingSnippetsTest {
  private static final Path SOURCES = Path.of("src/it/embedded-host/src/main/java");
  private static final Pattern TAG = Pattern.compile("^\\s*// tag::([\\w-]+)\\[]\\s*$");
  private static final Pattern END = Pattern.compile("^\\s*// end::([\\w-]+)\\[]\\s*$");

  @Test
  void everyTaggedRegionOfTheExampleIsInTheReadme() throws IOException {
    String readme = Files.readString(Path.of("README.md"));
    Map<String, String> regions = regions();
    assertTrue(regions.keySet().containsAll(List.of("create", "mount", "resolver", "usage-sink", "close")),
        "the example's tagged regions: " + regions.keySet());
    regions.forEach((name, snippet) -> assertTrue(readme.contains("```java\n" + snippet + "```\n"),
        "the README lacks the region " + name + " as it is in the example:\n" + snippet));
  }

  @Test
  void regionsLoseOnlyTheirCommonIndentation() {
    assertEquals("if (a) {\n  b();\n}\n", dedent(List.of("    if (a) {", "      b();", "    }")));
    assertEquals("  x\ny\n", dedent(List.of("  x", "y")));
  }

  private static Map<String, String> regions() throws IOException {
    Map<String, String> regions = new LinkedHashMap<>();
    List<Path> files;
    try (Stream<Path> walk = Files.walk(SOURCES)) {
      files = walk.filter(p -> p.toString().endsWith(".java")).sorted().toList();
    }
    for (Path file : files) {
      String open = null;
      List<String> lines = new ArrayList<>();
      for (String line : Files.readAllLines(file)) {
        Matcher tag = TAG.matcher(line);
        Matcher end = END.matcher(line);
        if (tag.matches()) {
          open = tag.group(1);
          lines.clear();
        } else if (end.matches()) {
          assertEquals(open, end.group(1), "tags nest or cross in " + file);
          assertFalse(regions.containsKey(open), "the tag " + open + " is used twice");
          regions.put(open, dedent(lines));
          open = null;
        } else if (open != null) {
          lines.add(line);
        }
      }
      assertEquals(null, open, "a region is not closed in " + file);
    }
    return regions;
  }

  /** The lines without the indentation they all share (blank lines aside), each ending with a newline. */
  private static String dedent(List<String> lines) {
    int indent = lines.stream().filter(l -> !l.isBlank()).mapToInt(l -> l.length() - l.stripLeading().length())
        .min().orElse(0);
    StringBuilder out = new StringBuilder();
    for (String line : lines) {
      out.append(line.isBlank() ? "" : line.substring(indent)).append('\n');
    }
    return out.toString();
  }
}
