package dev.claudeproxy.examples.host;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The host uses the proxy's public API only: nothing under {@code dev.claudeproxy.internal}. */
class PublicApiOnlyTest {
  @Test
  void theHostDependsOnNothingInternal() {
    JavaClasses host = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.claudeproxy.examples");
    assertFalse(host.isEmpty());
    noClasses().should().dependOnClassesThat().resideInAPackage("dev.claudeproxy.internal..")
        .because("a host application uses the public API (dev.claudeproxy, dev.claudeproxy.bus) only")
        .check(host);
  }
}
