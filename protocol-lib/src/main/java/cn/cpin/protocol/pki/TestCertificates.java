package cn.cpin.protocol.pki;

import cn.cpin.protocol.identifier.NodeCode;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;

/**
 * Mints valid and deliberately invalid credentials, for conformance and negative tests only.
 *
 * <p>Never use this class in a node: several methods bypass the checks of
 * {@link CertificateAuthority} to produce certificates that a conforming CA never issues, so
 * that tests can show that peers refuse them (SEC-005, SEC-006). Every method generates a new
 * EC P-256 key pair and uses the clock of the CA it is given.
 *
 * <p>All methods are static and thread-safe.
 */
public final class TestCertificates {

  /** The OID of extKeyUsage serverAuth. */
  public static final String SERVER_AUTH = KeyPurposeId.id_kp_serverAuth.getId();
  /** The OID of extKeyUsage clientAuth. */
  public static final String CLIENT_AUTH = KeyPurposeId.id_kp_clientAuth.getId();
  /** The OID of extKeyUsage codeSigning, a purpose no CPIN peer accepts. */
  public static final String CODE_SIGNING = KeyPurposeId.id_kp_codeSigning.getId();

  private static final Duration SHORT = Duration.ofDays(1);

  private TestCertificates() {}

  /**
   * Returns valid credentials issued by {@code ca} through its normal checks:
   * {@link CertificateAuthority#issueNodeCertificate} for a node,
   * {@link CertificateAuthority#issueLeaf} otherwise.
   */
  public static Credentials valid(CertificateAuthority ca, CpinIdentity identity,
      Duration validity) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate leaf = identity.kind() == CpinIdentity.Kind.NODE
        ? ca.issueNodeCertificate(identity.nodeCode(), keyPair.getPublic(), validity)
        : ca.issueLeaf(identity, keyPair.getPublic(), validity);
    return credentials(keyPair, leaf, ca);
  }

  /**
   * Returns an issuing CA for {@code node} issued by {@code root}, with a new key, valid for
   * one year.
   */
  public static CertificateAuthority issuingCa(CertificateAuthority root, NodeCode node) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate certificate =
        root.issueIssuingCa(node, keyPair.getPublic(), Duration.ofDays(365));
    return CertificateAuthority.of(certificate, root.chain(), keyPair.getPrivate(), root.clock());
  }

  /** Returns a self-signed leaf carrying the identity's URI SAN, chaining to nothing. */
  public static Credentials selfSigned(CpinIdentity identity) {
    return selfSigned(identity, Clock.systemUTC());
  }

  /** Like {@link #selfSigned(CpinIdentity)}, valid from one minute before the clock's now. */
  public static Credentials selfSigned(CpinIdentity identity, Clock clock) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Instant now = clock.instant();
    X509Certificate leaf = profile(identity, keyPair, now.minus(Duration.ofMinutes(1)),
        now.plus(SHORT)).selfSign(keyPair.getPrivate());
    return new Credentials(keyPair.getPrivate(), List.of(leaf));
  }

  /** Returns credentials whose leaf expired an hour ago, well beyond the tolerated skew. */
  public static Credentials expired(CertificateAuthority ca, CpinIdentity identity) {
    return expired(ca, identity, Duration.ofHours(1));
  }

  /** Returns credentials whose leaf expired {@code ago} before the CA's clock's now. */
  public static Credentials expired(CertificateAuthority ca, CpinIdentity identity,
      Duration ago) {
    Instant now = ca.clock().instant();
    return unchecked(ca, identity, now.minus(ago).minus(SHORT), now.minus(ago));
  }

  /** Returns credentials whose leaf becomes valid only in an hour. */
  public static Credentials notYetValid(CertificateAuthority ca, CpinIdentity identity) {
    return notYetValid(ca, identity, Duration.ofHours(1));
  }

  /** Returns credentials whose leaf becomes valid {@code in} after the CA's clock's now. */
  public static Credentials notYetValid(CertificateAuthority ca, CpinIdentity identity,
      Duration in) {
    Instant now = ca.clock().instant();
    return unchecked(ca, identity, now.plus(in), now.plus(in).plus(SHORT));
  }

  /**
   * Returns credentials issued by {@code ca} with exactly the given URI SANs (none, several, or
   * ones that are not CPIN identities) and otherwise the profile of an operator certificate,
   * with extKeyUsage serverAuth and clientAuth.
   */
  public static Credentials withUriSans(CertificateAuthority ca, String... uris) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Instant now = ca.clock().instant();
    CertificateTemplate template = new CertificateTemplate("test leaf", keyPair.getPublic())
        .validity(now.minus(Duration.ofMinutes(1)), now.plus(SHORT))
        .keyUsage(KeyUsage.digitalSignature)
        .extendedKeyUsage(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth);
    for (String uri : uris) {
      template.uri(uri);
    }
    return credentials(keyPair, template.sign(ca.certificate(), ca.privateKey()), ca);
  }

  /**
   * Returns credentials for {@code identity} issued by {@code ca} with exactly the given
   * extKeyUsage OIDs (none for no extension), e.g. {@link #SERVER_AUTH}, {@link #CODE_SIGNING}.
   */
  public static Credentials withExtendedKeyUsages(CertificateAuthority ca, CpinIdentity identity,
      String... ekuOids) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Instant now = ca.clock().instant();
    CertificateTemplate template = new CertificateTemplate(identity.uri(), keyPair.getPublic())
        .validity(now.minus(Duration.ofMinutes(1)), now.plus(SHORT))
        .keyUsage(KeyUsage.digitalSignature)
        .uri(identity.uri());
    for (String oid : ekuOids) {
      template.extendedKeyUsage(KeyPurposeId.getInstance(new ASN1ObjectIdentifier(oid)));
    }
    return credentials(keyPair, template.sign(ca.certificate(), ca.privateKey()), ca);
  }

  /**
   * Returns credentials for {@code identity} signed by {@code ca} with the usual profile but
   * none of the CA's checks: a node certificate from an issuing CA, an operator certificate of
   * another node, and so on.
   */
  public static Credentials issuedWithoutChecks(CertificateAuthority ca, CpinIdentity identity) {
    Instant now = ca.clock().instant();
    return unchecked(ca, identity, now.minus(Duration.ofMinutes(1)), now.plus(SHORT));
  }

  /**
   * Returns credentials claiming {@code claimed} (an operator or participant of one node) but
   * issued by a new issuing CA of {@code foreignIssuer}, itself properly issued by
   * {@code root}; the chain is the leaf and that foreign issuing CA.
   */
  public static Credentials participantViaForeignIssuer(CertificateAuthority root,
      NodeCode foreignIssuer, CpinIdentity claimed) {
    return issuedWithoutChecks(issuingCa(root, foreignIssuer), claimed);
  }

  private static Credentials unchecked(CertificateAuthority ca, CpinIdentity identity,
      Instant notBefore, Instant notAfter) {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    X509Certificate leaf = profile(identity, keyPair, notBefore, notAfter)
        .sign(ca.certificate(), ca.privateKey());
    return credentials(keyPair, leaf, ca);
  }

  private static CertificateTemplate profile(CpinIdentity identity, KeyPair keyPair,
      Instant notBefore, Instant notAfter) {
    Objects.requireNonNull(identity, "identity");
    CertificateTemplate template = new CertificateTemplate(identity.uri(), keyPair.getPublic())
        .validity(notBefore, notAfter)
        .keyUsage(KeyUsage.digitalSignature)
        .uri(identity.uri());
    return identity.kind() == CpinIdentity.Kind.NODE
        ? template.extendedKeyUsage(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth)
        : template.extendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
  }

  private static Credentials credentials(KeyPair keyPair, X509Certificate leaf,
      CertificateAuthority ca) {
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(leaf);
    chain.addAll(ca.chain());
    return new Credentials(keyPair.getPrivate(), chain);
  }
}
