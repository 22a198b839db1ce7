package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.protocol.pki.KeyMaterial;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reference nodes, each in its own process on loopback, must pass the conformance suite of
 * their profile with no FAILED requirement; the reports land in target/conformance-reports.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReferenceFederationConformanceTest {
  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static SuitePki suitePki;

  @BeforeAll
  static void startFederation() throws Exception {
    Path suiteCa = dataRoot.resolve("suite-ca");
    suitePki = SuitePki.open(suiteCa);
    federation = LocalFederation.start(freeBasePort(), dataRoot, System.out,
        SuitePki.certificateFile(suiteCa));
  }

  @AfterAll
  static void stopFederation() {
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  @Order(1)
  void childNodesLinkedToTheParentTheirCodeNames() {
    assertThat(federation.node("86.44").events())
        .anyMatch(l -> l.contains("\"event\":\"parent.linked\"") && l.contains("\"parent\":\"86\""));
    assertThat(federation.node("86.44.C").events())
        .anyMatch(l -> l.contains("\"event\":\"parent.linked\"")
            && l.contains("\"parent\":\"86.44\""));
  }

  @Test
  @Order(2)
  void nationalStubConforms() throws Exception {
    assertConforms("86", NodeProfile.NATIONAL);
  }

  @Test
  @Order(2)
  void regionalNodeConforms() throws Exception {
    ConformanceReport report = assertConforms("86.44", NodeProfile.REGIONAL);
    // The regional profile has identifier, credit-code and request-id fields: none may be skipped.
    Map<String, Outcome> byId = report.requirements().stream().collect(Collectors.toMap(
        ConformanceReport.RequirementResult::id, ConformanceReport.RequirementResult::outcome));
    assertThat(byId).containsEntry("IDN-003", Outcome.PASSED).containsEntry("SVC-001",
        Outcome.PASSED).containsEntry("GEN-002", Outcome.PASSED)
        .containsEntry("GEN-003", Outcome.PASSED);
  }

  @Test
  @Order(2)
  void industryNodeConforms() throws Exception {
    assertConforms("86.44.C", NodeProfile.INDUSTRY);
  }

  @Test
  @Order(3)
  void sigtermStopsEveryNodeCleanly() throws Exception {
    federation.close();
    for (LocalFederation.Node node : federation.nodes()) {
      assertThat(node.process().isAlive()).isFalse();
      LocalFederation.awaitEvent(node, "\"event\":\"node.stopped\"");
    }
  }

  private static ConformanceReport assertConforms(String code, NodeProfile profile)
      throws IOException {
    LocalFederation.Node node = federation.node(code);
    try (ConformanceTarget target = ConformanceTarget.mutualTls(node.endpoint(), profile,
        Duration.ofSeconds(5), KeyMaterial.readCertificates(federation.trustAnchors()), suitePki,
        new InetSocketAddress("127.0.0.1", federation.node("86").port()))) {
      ConformanceReport report = Suites.run(target);
      report.print(System.out);
      report.writeJunitXml(Path.of("target", "conformance-reports",
          profile.name().toLowerCase(java.util.Locale.ROOT) + ".xml"));
      assertThat(report.checks()).isNotEmpty();
      assertThat(report.checks())
          .filteredOn(c -> c.outcome() == Outcome.FAILED || c.outcome() == Outcome.WARNING)
          .isEmpty();
      assertThat(report.requirements()).extracting(ConformanceReport.RequirementResult::id)
          .contains("NOD-001", "NOD-002", "NOD-003", "GEN-001");
      return report;
    }
  }

  // Three consecutive free loopback ports, so parallel builds on one machine do not collide.
  static int freeBasePort() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base;
      try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        base = probe.getLocalPort();
      }
      if (base < 65000 && free(base) && free(base + 1) && free(base + 2)) {
        return base;
      }
    }
    throw new IOException("no three consecutive free ports on loopback");
  }

  private static boolean free(int port) {
    try (ServerSocket probe = new ServerSocket(port, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      return probe.isBound();
    } catch (IOException e) {
      return false;
    }
  }
}
