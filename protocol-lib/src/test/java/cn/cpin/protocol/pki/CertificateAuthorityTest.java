package cn.cpin.protocol.pki;

import cn.cpin.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CertificateAuthorityTest {

  private static final Instant NOW = Instant.parse("2026-03-01T08:00:00Z");
  private static final NodeCode NATIONAL = NodeCode.national();
  private static final NodeCode GUANGDONG = NodeCode.parse("86.44");
  private static final NodeCode SHANGHAI = NodeCode.parse("86.31");
  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

  private final MutableClock clock = new MutableClock(NOW);
  private final CertificateAuthority root =
      CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(3650), clock);

  @TempDir
  Path directory;

  @Test
  void rootIsSelfSignedCaWithKeyCertSignAndCrlSign() throws Exception {
    X509Certificate certificate = root.certificate();
    certificate.verify(certificate.getPublicKey());
    assertThat(root.isRoot()).isTrue();
    assertThat(root.nodeCode()).isEqualTo(NATIONAL);
    assertThat(root.chain()).isEmpty();
    assertThat(certificate.getSubjectX500Principal().getName()).isEqualTo("CN=CPIN test root");
    assertThat(certificate.getBasicConstraints()).isEqualTo(1);
    assertThat(certificate.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
    boolean[] keyUsage = certificate.getKeyUsage();
    assertThat(keyUsage[5]).as("keyCertSign").isTrue();
    assertThat(keyUsage[6]).as("cRLSign").isTrue();
    assertThat(keyUsage[0]).as("digitalSignature").isFalse();
    assertThat(certificate.getExtensionValue("2.5.29.14")).as("SKI").isNotNull();
    assertThat(certificate.getPublicKey().getAlgorithm()).isEqualTo("EC");
    assertThat(certificate.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertThat(certificate.getNotBefore().toInstant()).isEqualTo(NOW.minusSeconds(60));
    assertThat(certificate.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(3650)));
  }

  @Test
  void nodeCertificateFollowsSec003() throws Exception {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate node =
        root.issueNodeCertificate(GUANGDONG, keyPair.getPublic(), Duration.ofDays(30));
    node.verify(root.certificate().getPublicKey());
    assertThat(node.getPublicKey()).isEqualTo(keyPair.getPublic());
    assertThat(CpinIdentity.fromCertificate(node)).isEqualTo(CpinIdentity.node(GUANGDONG));
    assertThat(CpinIdentity.uriSans(node)).containsExactly("cpin://86.44");
    assertThat(node.getSubjectAlternativeNames()).hasSize(1);
    assertThat(node.getSubjectX500Principal().getName()).isEqualTo("CN=86.44");
    assertThat(node.getIssuerX500Principal()).isEqualTo(root.certificate().getSubjectX500Principal());
    assertThat(node.getBasicConstraints()).isEqualTo(-1);
    assertThat(node.getCriticalExtensionOIDs()).contains("2.5.29.19", "2.5.29.15");
    assertThat(node.getKeyUsage()[0]).as("digitalSignature").isTrue();
    assertThat(node.getKeyUsage()[5]).as("keyCertSign").isFalse();
    assertThat(node.getExtendedKeyUsage()).containsExactlyInAnyOrder(SERVER_AUTH, CLIENT_AUTH);
    assertThat(node.getNotBefore().toInstant()).isEqualTo(NOW.minus(Duration.ofMinutes(1)));
    assertThat(node.getNotAfter().toInstant()).isEqualTo(NOW.plus(Duration.ofDays(30)));
    assertThat(node.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertAkiIs(node, KeyMaterial.keyIdentifier(root.certificate()));
    assertThat(KeyMaterial.keyIdentifier(node)).isEqualTo(KeyMaterial.keyIdentifier(keyPair.getPublic()));
  }

  @Test
  void serialsAreRandomPositiveAndAtMost127Bits() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Set<BigInteger> serials = new java.util.HashSet<>();
    for (int i = 0; i < 20; i++) {
      BigInteger serial = root.issueNodeCertificate(GUANGDONG, keyPair.getPublic(),
          Duration.ofDays(1)).getSerialNumber();
      assertThat(serial.signum()).isPositive();
      assertThat(serial.bitLength()).isLessThanOrEqualTo(127);
      serials.add(serial);
    }
    assertThat(serials).hasSize(20);
    assertThat(serials).anyMatch(s -> s.bitLength() > 120);
  }

  @Test
  void validityLimits() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    assertThatThrownBy(() -> root.issueNodeCertificate(GUANGDONG, keyPair.getPublic(),
        Duration.ofDays(91))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 90 days");
    assertThat(root.issueNodeCertificate(GUANGDONG, keyPair.getPublic(), Duration.ofDays(90)))
        .isNotNull();
    assertThatThrownBy(() -> root.issueNodeCertificate(GUANGDONG, keyPair.getPublic(),
        Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    CertificateAuthority issuing = TestCertificates.issuingCa(root, GUANGDONG);
    assertThatThrownBy(() -> issuing.issueLeaf(CpinIdentity.operator(GUANGDONG),
        keyPair.getPublic(), Duration.ofDays(31))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 30 days");
  }

  @Test
  void issuingCaFollowsSec004() throws Exception {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate ca = root.issueIssuingCa(GUANGDONG, keyPair.getPublic(), Duration.ofDays(365));
    ca.verify(root.certificate().getPublicKey());
    assertThat(ca.getSubjectX500Principal().getName()).isEqualTo("CN=86.44 issuing CA");
    assertThat(ca.getBasicConstraints()).isEqualTo(0);
    assertThat(ca.getKeyUsage()[5]).as("keyCertSign").isTrue();
    assertThat(ca.getKeyUsage()[0]).as("digitalSignature").isFalse();
    assertThat(ca.getCriticalExtensionOIDs())
        .contains("2.5.29.19", "2.5.29.15", "2.5.29.30");
    assertThat(CpinIdentity.fromCertificate(ca)).isEqualTo(CpinIdentity.node(GUANGDONG));
    assertAkiIs(ca, KeyMaterial.keyIdentifier(root.certificate()));

    NameConstraints constraints = NameConstraints.getInstance(
        ASN1OctetString.getInstance(ca.getExtensionValue("2.5.29.30")).getOctets());
    assertThat(constraints.getExcludedSubtrees()).isNull();
    GeneralSubtree[] permitted = constraints.getPermittedSubtrees();
    assertThat(permitted).hasSize(1);
    assertThat(permitted[0].getBase().getTagNo()).isEqualTo(GeneralName.uniformResourceIdentifier);
    assertThat(permitted[0].getBase().getName().toString()).isEqualTo("86.44");
    assertThat(permitted[0].getMinimum()).isEqualTo(BigInteger.ZERO);
    assertThat(permitted[0].getMaximum()).isNull();
  }

  @Test
  void onlyTheRootIssuesNodeAndIssuingCaCertificates() {
    CertificateAuthority issuing = TestCertificates.issuingCa(root, GUANGDONG);
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    assertThatThrownBy(() -> issuing.issueNodeCertificate(GUANGDONG, keyPair.getPublic(),
        Duration.ofDays(30))).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("root CA only");
    assertThatThrownBy(() -> issuing.issueIssuingCa(GUANGDONG, keyPair.getPublic(),
        Duration.ofDays(30))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> root.issueIssuingCa(NATIONAL, keyPair.getPublic(),
        Duration.ofDays(30))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void issuingCaIssuesOperatorAndParticipantsOfItsOwnNode() throws Exception {
    CertificateAuthority issuing = TestCertificates.issuingCa(root, GUANGDONG);
    assertThat(issuing.isRoot()).isFalse();
    assertThat(issuing.nodeCode()).isEqualTo(GUANGDONG);
    assertThat(issuing.chain()).containsExactly(issuing.certificate());
    Identifier participantId = Identifier.of(GUANGDONG, IdentifierKind.PARTICIPANT, 99);
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    for (CpinIdentity identity : List.of(CpinIdentity.operator(GUANGDONG),
        CpinIdentity.participant(GUANGDONG, participantId))) {
      X509Certificate leaf = issuing.issueLeaf(identity, keyPair.getPublic(), Duration.ofDays(30));
      leaf.verify(issuing.certificate().getPublicKey());
      assertThat(CpinIdentity.fromCertificate(leaf)).isEqualTo(identity);
      assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
      assertThat(leaf.getKeyUsage()[0]).isTrue();
      assertThat(leaf.getExtendedKeyUsage()).containsExactly(CLIENT_AUTH);
      assertAkiIs(leaf, KeyMaterial.keyIdentifier(issuing.certificate()));
    }
    X509Certificate participant = issuing.issueLeaf(
        CpinIdentity.participant(GUANGDONG, participantId), keyPair.getPublic(), Duration.ofDays(1));
    assertThat(participant.getSubjectX500Principal().getName()).isEqualTo("CN=" + participantId);
  }

  @Test
  void issueLeafRefusesIdentitiesOfAnotherNode() {
    CertificateAuthority shanghai = TestCertificates.issuingCa(root, SHANGHAI);
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Identifier guangdongParticipant = Identifier.of(GUANGDONG, IdentifierKind.PARTICIPANT, 5);
    assertThatThrownBy(() -> shanghai.issueLeaf(CpinIdentity.operator(GUANGDONG),
        keyPair.getPublic(), Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the issuing CA of 86.31 cannot issue cpin://86.44/operator, which belongs to "
            + "node 86.44");
    assertThatThrownBy(() -> shanghai.issueLeaf(
        CpinIdentity.participant(GUANGDONG, guangdongParticipant), keyPair.getPublic(),
        Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cannot issue cpin://86.44/86.44/P-");
    assertThatThrownBy(() -> shanghai.issueLeaf(CpinIdentity.node(SHANGHAI),
        keyPair.getPublic(), Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class);
    // An industry node has its own issuing CA; its regional parent's CA cannot issue for it.
    NodeCode industry = NodeCode.parse("86.31.C");
    assertThatThrownBy(() -> shanghai.issueLeaf(CpinIdentity.operator(industry),
        keyPair.getPublic(), Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void rootIssuesOnlyTheNationalOperatorLeaf() throws Exception {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate operator = root.issueLeaf(CpinIdentity.operator(NATIONAL),
        keyPair.getPublic(), Duration.ofDays(30));
    assertThat(CpinIdentity.fromCertificate(operator)).isEqualTo(CpinIdentity.operator(NATIONAL));
    assertThatThrownBy(() -> root.issueLeaf(CpinIdentity.operator(GUANGDONG),
        keyPair.getPublic(), Duration.ofDays(1))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only the national operator");
  }

  @Test
  void saveAndLoadRootAndIssuingCa() throws Exception {
    Path certFile = directory.resolve("root.pem");
    Path keyFile = directory.resolve("root.key");
    root.save(certFile, keyFile);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(keyFile)))
        .isEqualTo("rw-------");
    CertificateAuthority loaded = CertificateAuthority.load(certFile, keyFile, clock);
    assertThat(loaded.certificate()).isEqualTo(root.certificate());
    assertThat(loaded.isRoot()).isTrue();
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    loaded.issueNodeCertificate(GUANGDONG, keyPair.getPublic(), Duration.ofDays(1))
        .verify(root.certificate().getPublicKey());

    CertificateAuthority issuing = TestCertificates.issuingCa(root, GUANGDONG);
    issuing.save(directory.resolve("ca.pem"), directory.resolve("ca.key"));
    CertificateAuthority loadedIssuing =
        CertificateAuthority.load(directory.resolve("ca.pem"), directory.resolve("ca.key"));
    assertThat(loadedIssuing.nodeCode()).isEqualTo(GUANGDONG);
    assertThat(loadedIssuing.chain()).containsExactly(issuing.certificate());

    // A file with the root appended loads the same authority.
    KeyMaterial.writeCertificates(directory.resolve("ca-with-root.pem"), issuing.certificate(),
        root.certificate());
    assertThat(CertificateAuthority.load(directory.resolve("ca-with-root.pem"),
        directory.resolve("ca.key")).chain()).containsExactly(issuing.certificate());
  }

  @Test
  void ofRefusesMismatchedKeyAndNonCaCertificates() {
    KeyPair other = KeyMaterial.generateKeyPair();
    assertThatThrownBy(() -> CertificateAuthority.of(root.certificate(), List.of(),
        other.getPrivate())).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("does not match");
    X509Certificate node =
        root.issueNodeCertificate(GUANGDONG, other.getPublic(), Duration.ofDays(1));
    assertThatThrownBy(() -> CertificateAuthority.of(node, List.of(), other.getPrivate()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a CA certificate");
  }

  /**
   * The name constraint is standard RFC 5280: BouncyCastle's PKIX validator accepts leaves under
   * it and refuses leaves outside it.
   */
  @Test
  void nameConstraintIsEnforcedByStandardPkixValidation() throws Exception {
    CertificateAuthority guangdong = TestCertificates.issuingCa(root, GUANGDONG);
    Credentials inside = TestCertificates.valid(guangdong,
        CpinIdentity.participant(GUANGDONG, Identifier.of(GUANGDONG, IdentifierKind.PARTICIPANT,
            42)), Duration.ofDays(30));
    validate("PKIX", BouncyCastle.PROVIDER, inside.chain());
    Credentials outside = TestCertificates.issuedWithoutChecks(guangdong,
        CpinIdentity.operator(SHANGHAI));
    assertThatThrownBy(() -> validate("PKIX", BouncyCastle.PROVIDER, outside.chain()))
        .isInstanceOf(CertPathValidatorException.class)
        .hasMessageContaining("ubtree");
  }

  /**
   * The JDK's own PKIX validator accepts the root, node certificates and the issuing CA with
   * its critical name constraint (it parses and processes the extension). Leaves below the
   * constraint are validated with BouncyCastle instead: the JDK throws a NullPointerException
   * for URIs such as {@code cpin://86.44/operator}, whose host {@code java.net.URI} does not
   * accept (see {@link CpinPeerVerifier}).
   */
  @Test
  void jdkPkixValidatorAcceptsOurRootNodeAndIssuingCaCertificates() throws Exception {
    clock.set(Instant.now());
    CertificateAuthority liveRoot =
        CertificateAuthority.createRoot("CPIN live root", Duration.ofDays(365), clock);
    CertificateAuthority guangdong = TestCertificates.issuingCa(liveRoot, GUANGDONG);
    Credentials node = TestCertificates.valid(liveRoot, CpinIdentity.node(GUANGDONG),
        Duration.ofDays(30));
    Credentials nationalOperator = TestCertificates.valid(liveRoot,
        CpinIdentity.operator(NATIONAL), Duration.ofDays(30));
    validate(liveRoot, node.chain());
    validate(liveRoot, nationalOperator.chain());
    validate(liveRoot, List.of(guangdong.certificate()));
  }

  private static void validate(CertificateAuthority anchor, List<X509Certificate> chain)
      throws Exception {
    PKIXParameters parameters =
        new PKIXParameters(Set.of(new TrustAnchor(anchor.certificate(), null)));
    parameters.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(
        CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
  }

  private void validate(String algorithm, java.security.Provider provider,
      List<X509Certificate> chain) throws Exception {
    PKIXParameters parameters =
        new PKIXParameters(Set.of(new TrustAnchor(root.certificate(), null)));
    parameters.setRevocationEnabled(false);
    parameters.setDate(java.util.Date.from(NOW));
    CertPathValidator.getInstance(algorithm, provider).validate(
        CertificateFactory.getInstance("X.509").generateCertPath(chain), parameters);
  }

  private static void assertAkiIs(X509Certificate certificate, byte[] keyId) {
    byte[] value = certificate.getExtensionValue("2.5.29.35");
    assertThat(value).isNotNull();
    assertThat(org.bouncycastle.asn1.x509.AuthorityKeyIdentifier.getInstance(
        ASN1OctetString.getInstance(value).getOctets()).getKeyIdentifierOctets()).isEqualTo(keyId);
  }
}
