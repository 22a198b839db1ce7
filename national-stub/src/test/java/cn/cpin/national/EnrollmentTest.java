package cn.cpin.national;

import static cn.cpin.national.TrustNodes.assertFails;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.error.ErrorDetails;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.trust.v1.EnrollNodeRequest;
import cn.cpin.trust.v1.EnrollNodeResponse;
import cn.cpin.trust.v1.EnrollmentServiceGrpc;
import com.google.protobuf.ByteString;
import com.google.rpc.BadRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SEC-002 and SEC-003 end to end: the national operator allocates a node code, the node enrolls
 * with the one-time token over server-authenticated TLS, and serves over mutual TLS; then
 * EnrollNode's error contract, called directly without a client certificate.
 */
class EnrollmentTest {
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int URI_SAN = 6;

  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();

  @BeforeEach
  void startNational() throws Exception {
    nodes.startNational();
  }

  @Test
  void nodeEnrollsOnceWithItsTokenAndEnrollNodeKeepsItsContract() throws Exception {
    Path token44 = nodes.allocate("86.44");
    String token44Text = Files.readString(token44, StandardCharsets.UTF_8).trim();
    TrustNodes.Node regional = nodes.startRegional("86.44", token44);

    // Serves over mutual TLS, as itself.
    nodes.assertServing(regional);
    assertThat(regional.events()).contains("\"event\":\"node.enrolled\"");

    // SEC-003: the node certificate.
    Path pki = regional.dataDir.resolve("pki");
    List<X509Certificate> chain = KeyMaterial.readCertificates(pki.resolve("node-chain.pem"));
    X509Certificate leaf = chain.get(0);
    assertThat(leaf.getSubjectAlternativeNames()).containsExactly(List.of(URI_SAN,
        "cpin://86.44"));
    assertThat(leaf.getBasicConstraints()).as("CA=false").isEqualTo(-1);
    assertThat(leaf.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
    assertThat(leaf.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(leaf.getIssuerX500Principal())
        .isEqualTo(nodes.anchors().get(0).getSubjectX500Principal());
    leaf.verify(nodes.anchors().get(0).getPublicKey());

    // SEC-014: key files readable only by the node's account.
    for (Path key : List.of(pki.resolve("node-key.pem"), pki.resolve("issuing-ca-key.pem"),
        regional.dataDir.resolve("operator").resolve("operator-key.pem"))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
          .as("permissions of %s", key).isEqualTo("rw-------");
    }

    // 86.44.C is allocated (so that a foreign token is PERMISSION_DENIED, not NOT_FOUND).
    nodes.allocateToken("86.44.C");
    String token31 = nodes.allocateToken("86.31");

    ManagedChannel anonymous = nodes.channel(nodes.national(), null);
    EnrollmentServiceGrpc.EnrollmentServiceBlockingStub enrollment =
        EnrollmentServiceGrpc.newBlockingStub(anonymous);

    // The token of 86.44 again, under another request id: consumed by the node's enrollment.
    assertFails(() -> enroll(enrollment, "another-request-86.44", "86.44", token44Text,
        freshCsr("86.44")), Status.Code.ALREADY_EXISTS, ErrorReason.ERROR_REASON_ALREADY_EXISTS);

    // The node's own request id again (the node derives it from its token): the same answer.
    String nodeRequestId = "enroll-86.44-" + sha256(token44Text).substring(0, 16);
    EnrollNodeResponse retry = enroll(enrollment, nodeRequestId, "86.44", token44Text,
        freshCsr("86.44"));
    assertThat(retry.getCertificateChain().getCertificatesDer(0).toByteArray())
        .isEqualTo(leaf.getEncoded());

    // An unknown token.
    assertFails(() -> enroll(enrollment, "unknown-token-86.44", "86.44",
        "cpin-et-" + "A".repeat(43), freshCsr("86.44")), Status.Code.UNAUTHENTICATED,
        ErrorReason.ERROR_REASON_UNAUTHENTICATED);

    // The token of 86.31 used for 86.44.C.
    assertFails(() -> enroll(enrollment, "foreign-token-86.44.C", "86.44.C", token31,
        freshCsr("86.44.C")), Status.Code.PERMISSION_DENIED, ErrorReason.ERROR_REASON_NOT_OWNER);

    // A CSR that is not DER PKCS#10, with a good token: the token stays unused.
    var malformed = assertFails(() -> enroll(enrollment, "malformed-csr-86.31", "86.31", token31,
        new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}), Status.Code.INVALID_ARGUMENT, null);
    assertThat(ErrorDetails.fieldViolations(malformed)).extracting(BadRequest.FieldViolation::getField)
        .contains("csr_der");

    // A direct first enrollment of 86.31, retried with the same request id, then reused.
    EnrollNodeResponse first = enroll(enrollment, "direct-86.31", "86.31", token31,
        freshCsr("86.31"));
    X509Certificate leaf31 = KeyMaterial.parseCertificate(
        first.getCertificateChain().getCertificatesDer(0).toByteArray());
    assertThat(leaf31.getSubjectAlternativeNames()).containsExactly(List.of(URI_SAN,
        "cpin://86.31"));
    EnrollNodeResponse again = enroll(enrollment, "direct-86.31", "86.31", token31,
        freshCsr("86.31"));
    assertThat(again.getCertificateChain()).isEqualTo(first.getCertificateChain());
    assertThat(again.getIssuingCaChain()).isEqualTo(first.getIssuingCaChain());
    assertFails(() -> enroll(enrollment, "direct-86.31-again", "86.31", token31,
        freshCsr("86.31")), Status.Code.ALREADY_EXISTS, ErrorReason.ERROR_REASON_ALREADY_EXISTS);
  }

  @Test
  void enrolledNodeRestartsWithoutToken() throws Exception {
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));
    X509Certificate before = regional.nodeCredentials().leaf();
    nodes.stop(regional);

    TrustNodes.Node restarted = nodes.startRegional("86.44", null);
    nodes.assertServing(restarted);
    assertThat(restarted.events()).doesNotContain("\"event\":\"node.enrolled\"");
    assertThat(restarted.nodeCredentials().leaf()).isEqualTo(before);
  }

  @Test
  void nodeWithoutCredentialsOrTokenDoesNotStart() throws Exception {
    nodes.allocate("86.44");
    List<String> args = new ArrayList<>(nodes.childArgs("86.44", nodes.national().endpoint(),
        null));
    args.addAll(List.of("--trust-anchor", nodes.trustAnchorsFile().toString()));

    assertThatThrownBy(() -> nodes.start("86.44", TrustNodes.childKind(NodeProfile.REGIONAL),
        args))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--enrollment-token-file");
    assertThat(nodes.root().resolve("86.44").resolve("pki").resolve("node-chain.pem")).doesNotExist();
  }

  @Test
  void enrollNodeWithoutTokenIsInvalidArgument() throws Exception {
    nodes.allocate("86.44");
    ManagedChannel anonymous = NodeTls.channel(nodes.national().address(), null, nodes.anchors(),
        CpinIdentity.node(NodeCode.national()));
    try {
      assertFails(() -> EnrollmentServiceGrpc.newBlockingStub(anonymous)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .enrollNode(EnrollNodeRequest.newBuilder().setRequestId("no-token").setNodeCode("86.44")
              .setCsrDer(ByteString.copyFrom(freshCsr("86.44"))).build()),
          Status.Code.INVALID_ARGUMENT, ErrorReason.ERROR_REASON_FIELD_REQUIRED);
    } finally {
      anonymous.shutdownNow();
    }
  }

  private static EnrollNodeResponse enroll(
      EnrollmentServiceGrpc.EnrollmentServiceBlockingStub stub, String requestId, String code,
      String token, byte[] csr) {
    return stub.withDeadlineAfter(5, TimeUnit.SECONDS).enrollNode(EnrollNodeRequest.newBuilder()
        .setRequestId(requestId)
        .setNodeCode(code)
        .setEnrollmentToken(token)
        .setCsrDer(ByteString.copyFrom(csr))
        .build());
  }

  private static byte[] freshCsr(String code) {
    KeyPair key = KeyMaterial.generateKeyPair();
    return KeyMaterial.createCsr(key, code);
  }

  private static String sha256(String text) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
        .digest(text.getBytes(StandardCharsets.UTF_8)));
  }
}
