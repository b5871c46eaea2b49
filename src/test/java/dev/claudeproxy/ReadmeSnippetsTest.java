package dev.claudeproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The README's code snippets come from compiled code, so they cannot rot. A snippet is marked in the README with
 * {@code <!-- snippet: path/in/the/repo.java#tag -->} on the line before its fenced block, and in the source with
 * {@code // tag::tag[]} and {@code // end::tag[]} lines; the block must be the lines between those, with their common
 * indentation removed. Every tag under {@code src/test/java/dev/claudeproxy/examples} and the example host's sources
 * ({@code src/it/embedded-host}) must be shown somewhere.
 */
class ReadmeSnippetsTest {
  private static final Pattern MARKER = Pattern.compile("<!-- snippet: (\\S+)#(\\S+) -->");
  private static final Pattern TAG = Pattern.compile("//\\s*tag::([\\w-]+)\\[]");
  /** Where tagged sources live: the examples of this project's tests, and the example host's sources. */
  private static final List<Path> EXAMPLES = List.of(Path.of("src/test/java/dev/claudeproxy/examples"),
      Path.of("src/it/embedded-host/src/main/java"));

  @Test
  void everySnippetInTheReadmeIsItsTaggedSource() throws IOException {
    List<String> readme = Files.readAllLines(Path.of("README.md"));
    Set<String> shown = new LinkedHashSet<>();
    for (int i = 0; i < readme.size(); i++) {
      Matcher marker = MARKER.matcher(readme.get(i).trim());
      if (!marker.matches()) {
        continue;
      }
      Path file = Path.of(marker.group(1));
      String tag = marker.group(2);
      assertTrue(i + 1 < readme.size() && readme.get(i + 1).startsWith("```"),
          "README line " + (i + 1) + ": a fenced block must follow the snippet marker");
      List<String> block = new ArrayList<>();
      int j = i + 2;
      while (j < readme.size() && !readme.get(j).startsWith("```")) {
        block.add(readme.get(j++));
      }
      String expected = String.join("\n", tagged(file, tag));
      assertEquals(expected, String.join("\n", block), "README line " + (i + 1) + ": the block differs from "
          + file + "#" + tag + "; it should read:\n" + expected + "\n");
      shown.add(file.normalize() + "#" + tag);
    }
    assertFalse(shown.isEmpty(), "the README shows at least one snippet");
    for (Path root : EXAMPLES) {
      try (Stream<Path> files = Files.walk(root)) {
        for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
          Matcher tag = TAG.matcher(Files.readString(file));
          while (tag.find()) {
            assertTrue(shown.contains(file.normalize() + "#" + tag.group(1)),
                file + "#" + tag.group(1) + " is tagged but the README does not show it");
          }
        }
      }
    }
  }

  /** The lines between {@code tag::tag[]} and {@code end::tag[]} in {@code file}, their common indentation removed. */
  static List<String> tagged(Path file, String tag) throws IOException {
    List<String> lines = Files.readAllLines(file);
    int start = -1;
    int end = -1;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.matches("//\\s*tag::" + Pattern.quote(tag) + "\\[]")) {
        start = i + 1;
      } else if (line.matches("//\\s*end::" + Pattern.quote(tag) + "\\[]") && start >= 0) {
        end = i;
        break;
      }
    }
    assertTrue(start >= 0 && end >= start, file + " has no region tagged " + tag);
    List<String> region = lines.subList(start, end);
    int indent = region.stream().filter(l -> !l.isBlank())
        .mapToInt(l -> l.length() - l.stripLeading().length()).min().orElse(0);
    return region.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList();
  }
}
