package cn.cpin.conformance;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** The results of one run, per check and per requirement, as a table and as JUnit XML. */
public final class ConformanceReport {
  /** The combined result of every check of one requirement. */
  public record RequirementResult(String id, Level level, Outcome outcome, int passedChecks,
      int totalChecks) {}

  private final String target;
  private final String profile;
  private final List<CheckResult> checks;

  public ConformanceReport(String target, String profile, List<CheckResult> checks) {
    this.target = target;
    this.profile = profile;
    this.checks = List.copyOf(checks);
  }

  public List<CheckResult> checks() {
    return checks;
  }

  /** One row per requirement ID, sorted by ID. */
  public List<RequirementResult> requirements() {
    Map<String, RequirementResult> byId = new TreeMap<>();
    for (CheckResult check : checks) {
      for (String id : check.requirements()) {
        RequirementResult old = byId.get(id);
        int passed = check.outcome() == Outcome.PASSED ? 1 : 0;
        byId.put(id, old == null
            ? new RequirementResult(id, check.level(), check.outcome(), passed, 1)
            : new RequirementResult(id, old.level() == Level.MUST ? Level.MUST : check.level(),
                old.outcome().and(check.outcome()), old.passedChecks() + passed,
                old.totalChecks() + 1));
      }
    }
    return new ArrayList<>(byId.values());
  }

  /** Whether any MUST requirement failed. */
  public boolean hasFailures() {
    return checks.stream().anyMatch(c -> c.outcome() == Outcome.FAILED);
  }

  /** Prints the per-requirement table, then the checks that did not pass. */
  public void print(PrintStream out) {
    out.printf("CPIN conformance suite (v1): target %s, profile %s%n%n", target, profile);
    out.printf("%-11s %-6s %-8s %s%n", "REQUIREMENT", "LEVEL", "RESULT", "CHECKS PASSED");
    Map<Outcome, Integer> totals = new EnumMap<>(Outcome.class);
    for (RequirementResult r : requirements()) {
      out.printf("%-11s %-6s %-8s %d/%d%n", r.id(), r.level(), r.outcome(), r.passedChecks(),
          r.totalChecks());
      totals.merge(r.outcome(), 1, Integer::sum);
    }
    out.println();
    for (CheckResult c : checks) {
      if (c.outcome() != Outcome.PASSED) {
        out.printf("%s %s.%s %s: %s%n", c.outcome(), c.suite(), c.check(), c.requirements(),
            c.message());
      }
    }
    out.printf("Requirements: %d PASSED, %d FAILED, %d WARNING, %d SKIPPED (%d checks run)%n",
        totals.getOrDefault(Outcome.PASSED, 0), totals.getOrDefault(Outcome.FAILED, 0),
        totals.getOrDefault(Outcome.WARNING, 0), totals.getOrDefault(Outcome.SKIPPED, 0),
        checks.size());
  }

  /**
   * Writes JUnit XML (the surefire schema CI servers read): one testsuite per conformance suite,
   * one testcase per check named by its requirement IDs. WARNING is a pass with the warning in
   * system-out, since SHOULD-level findings must not break a vendor's build.
   */
  public void writeJunitXml(Path file) throws IOException {
    if (file.getParent() != null) {
      Files.createDirectories(file.getParent());
    }
    Map<String, List<CheckResult>> bySuite = new TreeMap<>();
    for (CheckResult c : checks) {
      bySuite.computeIfAbsent(c.suite(), k -> new ArrayList<>()).add(c);
    }
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\""
          + xml("cpin-conformance " + profile + " " + target) + "\">\n");
      for (Map.Entry<String, List<CheckResult>> suite : bySuite.entrySet()) {
        List<CheckResult> cs = suite.getValue();
        long failures = cs.stream().filter(c -> c.outcome() == Outcome.FAILED).count();
        long skipped = cs.stream().filter(c -> c.outcome() == Outcome.SKIPPED).count();
        w.write(String.format(Locale.ROOT,
            "  <testsuite name=\"%s\" tests=\"%d\" failures=\"%d\" errors=\"0\" skipped=\"%d\" "
                + "time=\"%s\">%n", xml("cpin.conformance." + profile + "." + suite.getKey()),
            cs.size(), failures, skipped, seconds(cs.stream().map(CheckResult::elapsed)
                .reduce(Duration.ZERO, Duration::plus))));
        for (CheckResult c : cs) {
          w.write(String.format(Locale.ROOT, "    <testcase classname=\"%s\" name=\"%s\" time=\"%s\"",
              xml(suite.getKey()), xml(String.join(",", c.requirements()) + " " + c.check()),
              seconds(c.elapsed())));
          switch (c.outcome()) {
            case PASSED -> w.write("/>\n");
            case FAILED -> w.write(">\n      <failure message=\"" + xml(c.message()) + "\"/>\n"
                + "    </testcase>\n");
            case SKIPPED -> w.write(">\n      <skipped message=\"" + xml(c.message()) + "\"/>\n"
                + "    </testcase>\n");
            case WARNING -> w.write(">\n      <system-out>" + xml("WARNING (SHOULD): "
                + c.message()) + "</system-out>\n    </testcase>\n");
          }
        }
        w.write("  </testsuite>\n");
      }
      w.write("</testsuites>\n");
    }
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e9);
  }

  private static String xml(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (char c : s.toCharArray()) {
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        default -> out.append(c < 0x20 && c != '\n' && c != '\t' ? ' ' : c);
      }
    }
    return out.toString();
  }
}
