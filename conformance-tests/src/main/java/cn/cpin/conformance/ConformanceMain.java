package cn.cpin.conformance;

import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.protocol.pki.KeyMaterial;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The command a vendor runs against their own node: prints one row per requirement and writes
 * JUnit XML. Exit status 0 when no MUST requirement failed, 1 otherwise, 2 for a bad command line.
 */
@Command(name = "cpin-conformance", mixinStandardHelpOptions = true,
    description = "Checks a CPIN node against the v1 standard (docs/spec) and reports PASSED, "
        + "FAILED, WARNING (SHOULD-level) or SKIPPED per requirement.")
public final class ConformanceMain implements Callable<Integer> {
  @Option(names = "--target", required = true, paramLabel = "HOST:PORT",
      description = "The node under test.")
  private String target;

  @Option(names = "--profile", required = true, paramLabel = "PROFILE",
      description = "The profile the node claims: national, regional or industry.")
  private String profile;

  @Option(names = "--junit-xml", paramLabel = "FILE",
      defaultValue = "cpin-conformance-report.xml",
      description = "Where to write the JUnit XML report (default: ${DEFAULT-VALUE}).")
  private Path junitXml;

  @Option(names = "--deadline-ms", defaultValue = "5000",
      description = "Deadline of each call in milliseconds (default: ${DEFAULT-VALUE}).")
  private long deadlineMillis;

  @Option(names = "--trust-anchor", paramLabel = "PEM",
      description = "The CPIN root certificate(s) the target's certificate chains to.")
  private Path trustAnchor;

  @Option(names = "--suite-ca", paramLabel = "DIR", defaultValue = "cpin-conformance-ca",
      description = "The suite's test CA, created on first use (default: ${DEFAULT-VALUE}). The "
          + "node under test must trust DIR/suite-ca.pem for the duration of the test.")
  private Path suiteCa;

  @Option(names = "--national", paramLabel = "HOST:PORT",
      description = "The national node of the target's federation, used to revoke a test "
          + "certificate for the revocation check (skipped without it).")
  private String national;

  @Option(names = "--insecure-plaintext-dev",
      description = "Connect without TLS, for nodes running in plaintext development mode; the "
          + "security checks are then skipped.")
  private boolean plaintext;

  @Override
  public Integer call() throws Exception {
    NodeProfile nodeProfile;
    try {
      nodeProfile = NodeProfile.parse(profile);
    } catch (IllegalArgumentException e) {
      System.err.println("error: --profile must be national, regional or industry");
      return 2;
    }
    if (!plaintext && trustAnchor == null) {
      System.err.println("error: --trust-anchor is required (or --insecure-plaintext-dev for a "
          + "node in plaintext development mode)");
      return 2;
    }
    Duration deadline = Duration.ofMillis(deadlineMillis);
    try (ConformanceTarget target = plaintext
        ? ConformanceTarget.plaintext(this.target, nodeProfile, deadline)
        : ConformanceTarget.mutualTls(this.target, nodeProfile, deadline,
            KeyMaterial.readCertificates(trustAnchor), SuitePki.open(suiteCa),
            national == null ? null : ConformanceTarget.parse(national))) {
      if (!plaintext) {
        System.out.println("Suite test CA: " + SuitePki.certificateFile(suiteCa).toAbsolutePath()
            + " (the node under test must trust it for this test only)");
      }
      ConformanceReport report = Suites.run(target);
      report.print(System.out);
      report.writeJunitXml(junitXml);
      System.out.println("JUnit XML written to " + junitXml.toAbsolutePath());
      return report.hasFailures() ? 1 : 0;
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return 2;
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new ConformanceMain()).execute(args));
  }
}
