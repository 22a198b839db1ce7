package cn.cpin.conformance;

import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
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

  @Option(names = "--insecure-plaintext-dev",
      description = "Connect without TLS, for nodes running in plaintext development mode.")
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
    if (!plaintext) {
      System.err.println("error: this version of the suite connects only to nodes in plaintext "
          + "development mode; pass --insecure-plaintext-dev");
      return 2;
    }
    int colon = target.lastIndexOf(':');
    if (colon <= 0) {
      System.err.println("error: --target must be HOST:PORT");
      return 2;
    }
    ManagedChannel channel = NettyChannelBuilder
        .forAddress(target.substring(0, colon), Integer.parseInt(target.substring(colon + 1)))
        .usePlaintext()
        .build();
    try {
      ConformanceReport report = Suites.run(new ConformanceTarget(target, nodeProfile, channel,
          Duration.ofMillis(deadlineMillis)));
      report.print(System.out);
      report.writeJunitXml(junitXml);
      System.out.println("JUnit XML written to " + junitXml.toAbsolutePath());
      return report.hasFailures() ? 1 : 0;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new ConformanceMain()).execute(args));
  }
}
