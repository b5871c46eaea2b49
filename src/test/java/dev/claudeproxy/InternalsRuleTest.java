package dev.claudeproxy;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import dev.claudeproxy.internal.VertxInternals;
import org.junit.jupiter.api.Test;

/**
 * Vert.x's internal API ({@code io.vertx.core.internal..}, any {@code ..impl..} package) and Netty's types are used in
 * one class only, {@link VertxInternals}, where each use has its reason, its measured gain and a fallback to the
 * public API. The rule is the strictest one: no Netty type at all elsewhere, not even those Vert.x's public API hands
 * out (a request's {@code decoderResult()}, {@code HttpHeaders.createOptimized}'s {@code AsciiString}, a buffer's
 * {@code ByteBuf}), so that a Vert.x or Netty release can only break that one class. Vert.x's public API types that
 * merely extend Netty's are not Netty's and stay allowed.
 */
class InternalsRuleTest {
  private static final JavaClasses MAIN = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
      .importPackages("dev.claudeproxy");

  private static final String[] GUARDED = {"io.vertx..impl..", "io.vertx.core.internal..", "io.netty.."};

  @Test
  void onlyVertxInternalsUsesVertxOrNettyInternals() {
    ArchRule rule = noClasses().that().doNotBelongToAnyOf(VertxInternals.class)
        .should().dependOnClassesThat().resideInAnyPackage(GUARDED)
        .because("Vert.x's internal API and Netty change in any release: VertxInternals isolates them, with a"
            + " fallback");
    rule.check(MAIN);
  }

  @Test
  void theRuleSeesTheUsesItGuards() {
    // A rule that sees nothing passes whatever the code does: the same rule without its one exception must fail, on
    // VertxInternals' own uses.
    ArchRule unexcepted = noClasses().should().dependOnClassesThat().resideInAnyPackage(GUARDED);
    AssertionError failed = assertThrows(AssertionError.class, () -> unexcepted.check(MAIN));
    assertTrue(failed.getMessage().contains(VertxInternals.class.getName()), failed.getMessage());
    assertTrue(failed.getMessage().contains("io.vertx.core.internal.buffer.BufferInternal"), failed.getMessage());
  }
}
