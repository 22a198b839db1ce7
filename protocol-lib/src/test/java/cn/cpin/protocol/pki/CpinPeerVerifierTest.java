package cn.cpin.protocol.pki;

import cn.cpin.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinPeerVerifier.Purpose;
import java.security.KeyPair;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CpinPeerVerifierTest {

  private static final Instant NOW = Instant.parse("2026-03-01T08:00:00Z");
  private static final NodeCode NATIONAL = NodeCode.national();
  private static final NodeCode GUANGDONG = NodeCode.parse("86.44");
  private static final NodeCode SHANGHAI = NodeCode.parse("86.31");
  private static final Identifier PARTICIPANT_ID =
      Identifier.of(GUANGDONG, IdentifierKind.PARTICIPANT, 1601);
  private static final CpinIdentity PARTICIPANT =
      CpinIdentity.participant(GUANGDONG, PARTICIPANT_ID);
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(GUANGDONG);
  private static final CpinIdentity NODE = CpinIdentity.node(GUANGDONG);

  private final MutableClock clock = new MutableClock(NOW);
  private CertificateAuthority root;
  private CertificateAuthority guangdong;
  private CpinPeerVerifier verifier;

  @BeforeEach
  void setUp() {
    // The CAs exist well before the leaves, as in a real deployment.
    clock.set(NOW.minus(Duration.ofDays(10)));
    root = CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(3650), clock);
    guangdong = TestCertificates.issuingCa(root, GUANGDONG);
    clock.set(NOW);
    verifier = new CpinPeerVerifier(List.of(root.certificate()), clock);
  }

  @Test
  void acceptsNodeCertificateAsClientAndServer() throws Exception {
    Credentials node = TestCertificates.valid(root, NODE, Duration.ofDays(30));
    assertThat(node.chain()).hasSize(1);
    assertThat(verifier.verify(node.chainArray(), Purpose.CLIENT)).isEqualTo(NODE);
    assertThat(verifier.verify(node.chainArray(), Purpose.SERVER)).isEqualTo(NODE);
    assertThat(verifier.verifyServer(node.chainArray(), GUANGDONG)).isEqualTo(NODE);
  }

  @Test
  void acceptsOperatorAndParticipantFromTheirIssuingCa() throws Exception {
    for (CpinIdentity identity : List.of(OPERATOR, PARTICIPANT)) {
      Credentials credentials = TestCertificates.valid(guangdong, identity, Duration.ofDays(30));
      assertThat(credentials.chain()).containsExactly(credentials.leaf(), guangdong.certificate());
      assertThat(verifier.verify(credentials.chainArray(), Purpose.CLIENT)).isEqualTo(identity);
    }
  }

  @Test
  void acceptsIndustryNodeParticipants() throws Exception {
    NodeCode industry = NodeCode.parse("86.44.C");
    CertificateAuthority industryCa = TestCertificates.issuingCa(root, industry);
    CpinIdentity participant = CpinIdentity.participant(industry,
        Identifier.of(industry, IdentifierKind.PARTICIPANT, 3));
    Credentials credentials = TestCertificates.valid(industryCa, participant, Duration.ofDays(1));
    assertThat(verifier.verify(credentials.chainArray(), Purpose.CLIENT)).isEqualTo(participant);
    // The regional CA's name constraint "86.44" does not cover host "86.44.C", and vice versa.
    Credentials viaRegional = TestCertificates.issuedWithoutChecks(guangdong, participant);
    assertThatThrownBy(() -> verifier.verify(viaRegional.chainArray(), Purpose.CLIENT))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("issued by the issuing CA of 86.44");
  }

  @Test
  void acceptsNationalOperatorIssuedByTheRoot() throws Exception {
    CpinIdentity nationalOperator = CpinIdentity.operator(NATIONAL);
    Credentials credentials = TestCertificates.valid(root, nationalOperator, Duration.ofDays(30));
    assertThat(verifier.verify(credentials.chainArray(), Purpose.CLIENT))
        .isEqualTo(nationalOperator);
  }

  @Test
  void acceptsChainWithTrailingTrustAnchor() throws Exception {
    Credentials credentials = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    List<X509Certificate> withRoot = new ArrayList<>(credentials.chain());
    withRoot.add(root.certificate());
    assertThat(verifier.verify(withRoot.toArray(X509Certificate[]::new), Purpose.CLIENT))
        .isEqualTo(OPERATOR);
  }

  @Test
  void refusesEmptyChain() {
    assertThatThrownBy(() -> verifier.verify(new X509Certificate[0], Purpose.CLIENT))
        .isInstanceOf(CertificateException.class).hasMessage("peer presented no certificate");
    assertThatThrownBy(() -> verifier.verify(null, Purpose.CLIENT))
        .isInstanceOf(CertificateException.class);
  }

  @Test
  void refusesCertificateWithoutUriSan() {
    Credentials none = TestCertificates.withUriSans(root);
    assertRefused(none, Purpose.CLIENT, "no URI SAN");
  }

  @Test
  void refusesCertificateWithTwoUriSans() {
    Credentials two = TestCertificates.withUriSans(root, "cpin://86.44", "cpin://86.31");
    assertRefused(two, Purpose.CLIENT, "2 URI SANs");
  }

  @Test
  void refusesNonCpinUri() {
    assertRefused(TestCertificates.withUriSans(root, "https://86.44"), Purpose.CLIENT,
        "not a CPIN identity");
  }

  @Test
  void refusesSelfSignedCertificate() {
    assertRefused(TestCertificates.selfSigned(NODE, clock), Purpose.CLIENT,
        "does not chain to a CPIN trust anchor");
  }

  @Test
  void refusesCertificateFromAnotherCa() {
    CertificateAuthority otherRoot =
        CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(3650), clock);
    assertRefused(TestCertificates.valid(otherRoot, NODE, Duration.ofDays(30)), Purpose.CLIENT,
        "does not chain to a CPIN trust anchor");
    CertificateAuthority otherIssuing = TestCertificates.issuingCa(otherRoot, GUANGDONG);
    assertRefused(TestCertificates.valid(otherIssuing, PARTICIPANT, Duration.ofDays(30)),
        Purpose.CLIENT, "does not chain to a CPIN trust anchor");
  }

  @Test
  void refusesExpiredBeyondSkewAndAcceptsWithinSkew() throws Exception {
    Credentials longAgo = TestCertificates.expired(guangdong, OPERATOR);
    assertRefused(longAgo, Purpose.CLIENT, "expired at "
        + longAgo.leaf().getNotAfter().toInstant());
    Credentials sixMinutes = TestCertificates.expired(guangdong, OPERATOR,
        Duration.ofMinutes(6));
    assertRefused(sixMinutes, Purpose.CLIENT, "expired at");
    Credentials fourMinutes = TestCertificates.expired(guangdong, OPERATOR,
        Duration.ofMinutes(4));
    assertThat(verifier.verify(fourMinutes.chainArray(), Purpose.CLIENT)).isEqualTo(OPERATOR);
  }

  @Test
  void refusesNotYetValidBeyondSkewAndAcceptsWithinSkew() throws Exception {
    Credentials inAnHour = TestCertificates.notYetValid(guangdong, PARTICIPANT);
    assertRefused(inAnHour, Purpose.CLIENT, "not yet valid until "
        + inAnHour.leaf().getNotBefore().toInstant());
    Credentials inFourMinutes = TestCertificates.notYetValid(guangdong, PARTICIPANT,
        Duration.ofMinutes(4));
    assertThat(verifier.verify(inFourMinutes.chainArray(), Purpose.CLIENT))
        .isEqualTo(PARTICIPANT);
  }

  @Test
  void followsTheClock() throws Exception {
    Credentials node = TestCertificates.valid(root, NODE, Duration.ofDays(30));
    clock.advance(Duration.ofDays(30).plusMinutes(4));
    assertThat(verifier.verify(node.chainArray(), Purpose.CLIENT)).isEqualTo(NODE);
    clock.advance(Duration.ofMinutes(2));
    assertRefused(node, Purpose.CLIENT, "expired at");
  }

  @Test
  void refusesExpiredIssuingCa() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    CertificateAuthority shortLived = CertificateAuthority.of(
        root.issueIssuingCa(GUANGDONG, keyPair.getPublic(), Duration.ofDays(1)), List.of(),
        keyPair.getPrivate(), clock);
    Credentials operator = TestCertificates.valid(shortLived, OPERATOR, Duration.ofDays(30));
    clock.advance(Duration.ofDays(2));
    assertRefused(operator, Purpose.CLIENT, "CN=86.44 issuing CA expired at");
  }

  @Test
  void refusesRevokedLeafOrIssuingCa() throws Exception {
    Credentials operator = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    Set<String> revoked = ConcurrentHashMap.newKeySet();
    verifier.setRevoked(c -> revoked.contains(CpinPeerVerifier.serialKey(c)));
    assertThat(verifier.verify(operator.chainArray(), Purpose.CLIENT)).isEqualTo(OPERATOR);

    revoked.add(CpinPeerVerifier.serialKey(operator.leaf()));
    assertRefused(operator, Purpose.CLIENT, "revoked");
    revoked.clear();
    revoked.add(CpinPeerVerifier.serialKey(guangdong.certificate()));
    assertRefused(operator, Purpose.CLIENT, "CN=86.44 issuing CA");
    assertRefused(operator, Purpose.CLIENT, "is revoked");

    verifier.setRevoked(c -> {
      throw new IllegalStateException("broken");
    });
    assertRefused(operator, Purpose.CLIENT, "revocation check failed");
  }

  @Test
  void serialKeyIsIssuerKeyIdAndSerialInHex() {
    Credentials operator = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    X509Certificate leaf = operator.leaf();
    String expected = KeyMaterial.hex(KeyMaterial.keyIdentifier(guangdong.certificate())) + ":"
        + leaf.getSerialNumber().toString(16);
    assertThat(CpinPeerVerifier.serialKey(leaf)).isEqualTo(expected).matches("[0-9a-f]{40}:[0-9a-f]+");
    assertThat(CpinPeerVerifier.serialKey(KeyMaterial.keyIdentifier(guangdong.certificate()),
        leaf.getSerialNumber())).isEqualTo(expected);
    // The root has no AKI; its own key id stands in.
    assertThat(CpinPeerVerifier.serialKey(root.certificate())).startsWith(
        KeyMaterial.hex(KeyMaterial.keyIdentifier(root.certificate())) + ":");
  }

  @Test
  void refusesWrongExtendedKeyUsage() throws Exception {
    Credentials serverOnly = TestCertificates.withExtendedKeyUsages(root, NODE,
        TestCertificates.SERVER_AUTH);
    assertRefused(serverOnly, Purpose.CLIENT, "extendedKeyUsage lacks clientAuth");
    assertThat(verifier.verify(serverOnly.chainArray(), Purpose.SERVER)).isEqualTo(NODE);

    Credentials codeSigning = TestCertificates.withExtendedKeyUsages(guangdong, OPERATOR,
        TestCertificates.CODE_SIGNING);
    assertRefused(codeSigning, Purpose.CLIENT, "extendedKeyUsage lacks clientAuth");
    Credentials noEku = TestCertificates.withExtendedKeyUsages(guangdong, OPERATOR);
    assertRefused(noEku, Purpose.CLIENT, "extendedKeyUsage lacks clientAuth");

    Credentials operator = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    assertRefused(operator, Purpose.SERVER, "extendedKeyUsage lacks serverAuth");
  }

  @Test
  void serverMustBeANodeAndTheExpectedOne() {
    Credentials operatorWithServerAuth = TestCertificates.withExtendedKeyUsages(guangdong,
        OPERATOR, TestCertificates.SERVER_AUTH, TestCertificates.CLIENT_AUTH);
    assertRefused(operatorWithServerAuth, Purpose.SERVER, "must name a node");
    Credentials node = TestCertificates.valid(root, NODE, Duration.ofDays(30));
    assertThatThrownBy(() -> verifier.verifyServer(node.chainArray(), SHANGHAI))
        .isInstanceOf(CertificateException.class)
        .hasMessage("server is cpin://86.44, not cpin://86.31 as expected");
  }

  @Test
  void refusesParticipantViaForeignIssuer() {
    Credentials foreign = TestCertificates.participantViaForeignIssuer(root, SHANGHAI, PARTICIPANT);
    assertThat(foreign.chain().get(1).getSubjectX500Principal().getName())
        .isEqualTo("CN=86.31 issuing CA");
    assertRefused(foreign, Purpose.CLIENT,
        "participant " + PARTICIPANT.uri() + " issued by the issuing CA of 86.31");
    Credentials foreignOperator =
        TestCertificates.participantViaForeignIssuer(root, SHANGHAI, OPERATOR);
    assertRefused(foreignOperator, Purpose.CLIENT,
        "operator cpin://86.44/operator issued by the issuing CA of 86.31");
  }

  @Test
  void refusesParticipantIssuedDirectlyByTheRoot() {
    Credentials direct = TestCertificates.issuedWithoutChecks(root, PARTICIPANT);
    assertRefused(direct, Purpose.CLIENT, "must be issued by the issuing CA of 86.44");
    assertRefused(TestCertificates.issuedWithoutChecks(root, OPERATOR), Purpose.CLIENT,
        "must be issued by the issuing CA of 86.44");
  }

  @Test
  void refusesNodeCertificateIssuedByAnIntermediate() {
    Credentials viaIssuingCa = TestCertificates.issuedWithoutChecks(guangdong, NODE);
    assertRefused(viaIssuingCa, Purpose.CLIENT,
        "node certificate cpin://86.44 must be issued directly by a CPIN trust anchor");
  }

  @Test
  void refusesIssuingCaCertificateUsedAsLeaf() {
    Credentials caAsLeaf = new Credentials(guangdong.privateKey(), List.of(guangdong.certificate()));
    assertRefused(caAsLeaf, Purpose.CLIENT, "CA certificate, not a leaf");
  }

  @Test
  void refusesLongerChains() {
    // A CA below the issuing CA cannot be made by our CAs; a repeated certificate stands in.
    Credentials operator = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    X509Certificate[] chain = {operator.leaf(), guangdong.certificate(), guangdong.certificate()};
    assertThatThrownBy(() -> verifier.verify(chain, Purpose.CLIENT))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("at most 2");
  }

  @Test
  void trustAnchorsCanBeReplaced() throws Exception {
    Credentials node = TestCertificates.valid(root, NODE, Duration.ofDays(30));
    CertificateAuthority newRoot =
        CertificateAuthority.createRoot("CPIN test root 2", Duration.ofDays(3650), clock);
    Credentials newNode = TestCertificates.valid(newRoot, NODE, Duration.ofDays(30));
    assertRefused(newNode, Purpose.CLIENT, "does not chain");

    verifier.setTrustAnchors(List.of(root.certificate(), newRoot.certificate()));
    assertThat(verifier.trustAnchors()).hasSize(2);
    assertThat(verifier.verify(node.chainArray(), Purpose.CLIENT)).isEqualTo(NODE);
    assertThat(verifier.verify(newNode.chainArray(), Purpose.CLIENT)).isEqualTo(NODE);

    verifier.setTrustAnchors(List.of(newRoot.certificate()));
    assertRefused(node, Purpose.CLIENT, "does not chain to a CPIN trust anchor");
    verifier.setTrustAnchors(List.of());
    assertRefused(newNode, Purpose.CLIENT, "no trust anchors");
  }

  @Test
  void isSafeUnderConcurrentUpdates() throws Exception {
    Credentials operator = TestCertificates.valid(guangdong, OPERATOR, Duration.ofDays(30));
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 4; t++) {
      threads.add(new Thread(() -> {
        try {
          for (int i = 0; i < 20; i++) {
            assertThat(verifier.verify(operator.chainArray(), Purpose.CLIENT)).isEqualTo(OPERATOR);
            verifier.setTrustAnchors(List.of(root.certificate()));
            verifier.setRevoked(c -> false);
          }
        } catch (Throwable e) {
          failures.add(e);
        }
      }));
    }
    threads.forEach(Thread::start);
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(failures).isEmpty();
  }

  private void assertRefused(Credentials credentials, Purpose purpose, String reason) {
    assertThatThrownBy(() -> verifier.verify(credentials.chainArray(), purpose))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining(reason);
  }
}
