package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Every requirement a check cites is defined in docs/spec, at the level the check claims. */
class CheckCitationsTest {
  private static final Pattern DEFINITION =
      Pattern.compile("(?m)^\\*\\*([A-Z]{3}-\\d{3})\\*\\* \\((MUST|SHOULD)\\)");

  @Test
  void everyCitedRequirementIsDefinedAtTheSameLevel() throws IOException {
    Set<String> defined = new TreeSet<>();
    try (Stream<Path> files = Files.list(Path.of("..", "docs", "spec"))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".md")).toList()) {
        Matcher m = DEFINITION.matcher(Files.readString(file));
        while (m.find()) {
          defined.add(m.group(1) + " " + m.group(2));
        }
      }
    }
    assertThat(defined).isNotEmpty();

    Set<String> cited = new TreeSet<>();
    for (Class<?> suite : List.of(AbstractNodeSuite.class, AbstractRequestValidationSuite.class,
        AbstractTrustSuite.class, AbstractIdentifierSuite.class,
        AbstractServiceCenterSuite.class, AbstractAggregationSuite.class,
        AbstractMonitoringSuite.class, AbstractSelectionSuite.class,
        AbstractOrderSuite.class)) {
      for (Method check : ConformanceRunner.checksOf(suite)) {
        Check annotation = check.getAnnotation(Check.class);
        for (String id : annotation.requirements()) {
          cited.add(id + " " + annotation.level());
        }
      }
    }
    assertThat(defined).containsAll(cited);
  }

  @Test
  void everySuiteIsBoundByTheRunner() {
    ConformanceTarget none = ConformanceTarget.plaintext("127.0.0.1:1", null, null);
    assertThat(Suites.bind(none)).extracting(s -> (Object) s.getClass().getSuperclass())
        .containsExactly(AbstractNodeSuite.class, AbstractRequestValidationSuite.class,
            AbstractTrustSuite.class, AbstractIdentifierSuite.class,
            AbstractServiceCenterSuite.class, AbstractAggregationSuite.class,
            AbstractMonitoringSuite.class, AbstractSelectionSuite.class,
            AbstractOrderSuite.class);
  }
}
