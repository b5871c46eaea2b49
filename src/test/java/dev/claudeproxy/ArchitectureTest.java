package dev.claudeproxy;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.EvaluationResult;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import dev.claudeproxy.internal.config.ConfigException;
import dev.claudeproxy.internal.config.ProxyConfig;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.impl.HttpClientConnectionInternal;
import io.vertx.core.internal.buffer.BufferInternal;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The layout the library promises (issue 22), checked on the main classes: the core never needs the server's parts,
 * and the public API shows no internal type. The server ({@code internal.server}, {@code internal.cli}) may depend on
 * anything. Javadoc on the public types is checked by the javadoc plugin's doclint in {@code mvn verify} (ArchUnit
 * reads class files, which keep no comments).
 */
@AnalyzeClasses(packages = "dev.claudeproxy", importOptions = ImportOption.DoNotIncludeTests.class)
public class ArchitectureTest { // public, so that its public fixtures below are types a host could name
  /** The public API: the facade's package (only its top level) and the bus contract's. */
  static final DescribedPredicate<JavaClass> PUBLIC_API = resideInAnyPackage("dev.claudeproxy", "dev.claudeproxy.bus..")
      .as("the public API (dev.claudeproxy, dev.claudeproxy.bus)");

  /** What a host application gets from the library: the public API and the internals it runs on. */
  static final DescribedPredicate<JavaClass> CORE = resideInAnyPackage("dev.claudeproxy", "dev.claudeproxy.bus..",
      "dev.claudeproxy.internal.api..", "dev.claudeproxy.internal.bus..", "dev.claudeproxy.internal.config..",
      "dev.claudeproxy.internal.http..", "dev.claudeproxy.internal.observe..", "dev.claudeproxy.internal.upstream..",
      "dev.claudeproxy.internal.users..").and(DescribedPredicate.not(JavaClass.Predicates.equivalentTo(
          ClaudeSimulator.class))).as("the core (the public API but ClaudeSimulator, the simulator's own door;"
          + " internal api, bus, config, http, observe, upstream, users)");

  /** Types the public API must not show: the library's internals, and Vert.x's and Netty's own internals. */
  static final DescribedPredicate<JavaClass> NOT_FOR_THE_API = resideInAnyPackage("dev.claudeproxy.internal..",
      "io.vertx..impl..", "io.vertx.core.internal..", "io.netty..")
      .as("internal types (dev.claudeproxy.internal, io.vertx..impl, io.vertx.core.internal, io.netty)");

  /** (a) The server and the CLI start the core; the core never reaches back into them. */
  @ArchTest
  static final ArchRule coreNeedsNoServer = noClasses().that(CORE).should().dependOnClassesThat(
      resideInAnyPackage("dev.claudeproxy.internal.cli..", "dev.claudeproxy.internal.server.."))
      .because("the server is one user of the library, and a host embeds the core without it");

  /**
   * (c) The simulator and the load generator are tools beside the core (a host's tests may embed the simulator), never
   * something it needs.
   */
  @ArchTest
  static final ArchRule coreNeedsNoSimulatorNorLoadGenerator = noClasses().that(CORE).should().dependOnClassesThat(
      resideInAnyPackage("dev.claudeproxy.internal.simulator..", "dev.claudeproxy.internal.load.."))
      .because("a host that embeds the proxy gets neither the simulator nor the load generator as a dependency");

  /** (b) A Vert.x or Netty patch release, or a change of the library's internals, must not break a host's code. */
  @ArchTest
  static final ArchRule publicApiShowsNoInternalType = classes().that(PUBLIC_API).and(effectivelyPublic())
      .should(exposeNo(NOT_FOR_THE_API));

  @Test
  void theSignatureRuleSeesEveryWayATypeLeaks() {
    // The enclosing class too: it makes the fixtures public (the main rule imports every enclosing class with them).
    EvaluationResult result = classes().should(exposeNo(NOT_FOR_THE_API)).evaluate(
        new ClassFileImporter().importClasses(ArchitectureTest.class, Leaky.class, LeakyBase.class, Sealed.class));
    List<String> lines = result.getFailureReport().getDetails();
    assertTrue(result.hasViolation());
    String report = String.join("\n", lines);
    for (String expected : List.of(
        "Leaky.leaksNetty()> returns or takes io.netty.buffer.ByteBuf",
        "Leaky.leaksInFuture()> returns or takes io.vertx.core.internal.buffer.BufferInternal",
        "Leaky.leaksImpl(java.util.List)> returns or takes io.vertx.core.http.impl.HttpClientConnectionInternal",
        "Leaky.leaksThrows()> throws dev.claudeproxy.internal.config.ConfigException",
        "Leaky.leaksBound(java.util.function.Supplier)> returns or takes dev.claudeproxy.internal.config.ProxyConfig",
        "Leaky.leaksBound(java.util.function.Supplier)> has a type parameter bounded by"
            + " dev.claudeproxy.internal.config.ProxyConfig",
        "Leaky.<init>(io.netty.buffer.ByteBuf)> returns or takes io.netty.buffer.ByteBuf",
        "Leaky.config> has the type dev.claudeproxy.internal.config.ProxyConfig",
        "LeakyBase.inherited> has the type io.netty.buffer.ByteBuf",
        "Leaky> extends or implements io.netty.buffer.ByteBufHolder")) {
      assertTrue(report.contains(expected), () -> "missing <" + expected + "> in\n" + report);
    }
    // Nothing private, package-private or in a class of its own: Sealed passes, and so do Leaky's hidden members.
    assertEquals(10, lines.size(), report);
    assertFalse(report.contains("Sealed"), report);
    assertFalse(report.contains("hidden"), report);
  }

  @Test
  void onlyTypesAHostCanReachAreChecked() {
    var imported = new ClassFileImporter().importClasses(ArchitectureTest.class, Leaky.class, Hidden.class,
        Hidden.Inner.class);
    Set<String> checked = imported.stream().filter(effectivelyPublic()).map(JavaClass::getSimpleName)
        .collect(Collectors.toSet());
    // Hidden is package-private, and Inner, public, is inside it.
    assertEquals(Set.of("ArchitectureTest", "Leaky"), checked);
  }

  /** Public classes whose enclosing classes are public too (a public class nested in a hidden one is not API). */
  static DescribedPredicate<JavaClass> effectivelyPublic() {
    return DescribedPredicate.describe("are public (with every enclosing class)", c -> {
      for (JavaClass k = c; k != null; k = k.getEnclosingClass().orElse(null)) {
        if (!k.getModifiers().contains(JavaModifier.PUBLIC)) {
          return false;
        }
      }
      return true;
    });
  }

  /**
   * Fails a class whose public or protected constructors, methods and fields, or whose supertypes, show a type of
   * {@code forbidden}: in a parameter, a return type, a type argument anywhere within them (such as
   * {@code Future<BufferInternal>}), a type parameter's bound, or a throws clause.
   */
  static ArchCondition<JavaClass> exposeNo(DescribedPredicate<JavaClass> forbidden) {
    return new ArchCondition<>("expose no " + forbidden.getDescription()
        + " in a public or protected signature, public field or supertype") {
      @Override
      public void check(JavaClass c, ConditionEvents events) {
        List<JavaType> supertypes = new ArrayList<>(c.getInterfaces());
        c.getSuperclass().ifPresent(supertypes::add);
        for (JavaType supertype : supertypes) {
          report(events, c, c.getDescription() + " extends or implements", involved(List.of(supertype)), forbidden);
        }
        for (JavaCodeUnit unit : c.getCodeUnits()) {
          if (!visible(unit) || unit.getModifiers().contains(JavaModifier.SYNTHETIC)) {
            continue;
          }
          List<JavaType> signature = new ArrayList<>(unit.getParameterTypes());
          signature.add(unit.getReturnType());
          report(events, unit, unit.getDescription() + " returns or takes", involved(signature), forbidden);
          report(events, unit, unit.getDescription() + " has a type parameter bounded by",
              involved(unit.getTypeParameters()), forbidden);
          report(events, unit, unit.getDescription() + " throws",
              new LinkedHashSet<>(unit.getThrowsClause().getTypes()), forbidden);
        }
        for (JavaField field : c.getFields()) {
          if (visible(field)) {
            report(events, field, field.getDescription() + " has the type", involved(List.of(field.getType())),
                forbidden);
          }
        }
      }
    };
  }

  private static boolean visible(JavaMember member) {
    Set<JavaModifier> modifiers = member.getModifiers();
    return modifiers.contains(JavaModifier.PUBLIC) || modifiers.contains(JavaModifier.PROTECTED);
  }

  private static Set<JavaClass> involved(List<? extends JavaType> types) {
    Set<JavaClass> raw = new LinkedHashSet<>();
    types.forEach(t -> raw.addAll(t.getAllInvolvedRawTypes()));
    return raw;
  }

  private static void report(ConditionEvents events, Object where, String what, Set<JavaClass> types,
      DescribedPredicate<JavaClass> forbidden) {
    for (JavaClass type : types) {
      if (forbidden.test(type)) {
        events.add(SimpleConditionEvent.violated(where, what + " " + type.getName()));
      }
    }
  }

  // Fixtures of the self-tests: a class that leaks in every way the rule knows, and one whose internals stay hidden.

  /** A supertype whose public field a subclass inherits, reported where it is declared. */
  public static class LeakyBase {
    public ByteBuf inherited;
  }

  @SuppressWarnings("unused")
  public abstract static class Leaky extends LeakyBase implements io.netty.buffer.ByteBufHolder {
    public ProxyConfig config;
    private BufferInternal hiddenField;

    protected Leaky(ByteBuf buf) {
    }

    Leaky(BufferInternal hidden) {
    }

    public abstract ByteBuf leaksNetty();

    public abstract Future<BufferInternal> leaksInFuture();

    protected abstract void leaksImpl(List<? extends HttpClientConnectionInternal> connections);

    public abstract void leaksThrows() throws ConfigException;

    public abstract <T extends ProxyConfig> T leaksBound(Supplier<T> supplier);

    public abstract Future<JsonObject> fine(Buffer buffer);

    abstract BufferInternal hiddenPackagePrivate();

    private BufferInternal hiddenPrivate() {
      return null;
    }
  }

  /** Only public Vert.x types in its signatures; its internals are private. */
  @SuppressWarnings("unused")
  public static final class Sealed {
    private final ByteBuf buf = null;

    public Future<Buffer> read(JsonObject options) {
      return Future.succeededFuture(Buffer.buffer());
    }

    private ProxyConfig config() {
      return null;
    }
  }

  static final class Hidden {
    /** Public, but inside a class a host cannot name. */
    public static final class Inner {
    }
  }
}
