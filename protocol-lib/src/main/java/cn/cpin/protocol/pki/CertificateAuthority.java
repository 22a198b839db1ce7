package cn.cpin.protocol.pki;

import cn.cpin.protocol.identifier.NodeCode;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;

/**
 * An issuing authority: the CPIN root CA of the national node (SEC-001) or the issuing CA of a
 * regional or industry node (SEC-004), holding its certificate and private key.
 *
 * <p>The root issues node certificates ({@link #issueNodeCertificate}), node issuing CAs
 * ({@link #issueIssuingCa}) and the national operator's certificate. An issuing CA issues the
 * operator and participant certificates of its own node only ({@link #issueLeaf}); this is the
 * issuing side of the prefix rule that {@link CpinPeerVerifier} enforces on the accepting side.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class CertificateAuthority {

  /** Longest validity of a node certificate (SEC-003). */
  public static final Duration MAX_NODE_CERTIFICATE_VALIDITY = Duration.ofDays(90);
  /** Longest validity of an operator or participant certificate (SEC-004). */
  public static final Duration MAX_LEAF_VALIDITY = Duration.ofDays(30);
  /** How far notBefore is set back to tolerate clocks that are slightly behind. */
  public static final Duration BACKDATE = Duration.ofMinutes(1);

  private final X509Certificate certificate;
  private final List<X509Certificate> chainAbove;
  private final PrivateKey privateKey;
  private final Clock clock;
  private final boolean root;
  private final NodeCode nodeCode;

  private CertificateAuthority(X509Certificate certificate, List<X509Certificate> chainAbove,
      PrivateKey privateKey, Clock clock) {
    this.certificate = Objects.requireNonNull(certificate, "certificate");
    this.chainAbove = List.copyOf(chainAbove);
    this.privateKey = Objects.requireNonNull(privateKey, "privateKey");
    this.clock = Objects.requireNonNull(clock, "clock");
    if (certificate.getBasicConstraints() < 0) {
      throw new IllegalArgumentException("certificate " + subject(certificate)
          + " is not a CA certificate");
    }
    if (!matches(privateKey, certificate.getPublicKey())) {
      throw new IllegalArgumentException("private key does not match the CA certificate "
          + subject(certificate));
    }
    this.root = isSelfSigned(certificate);
    if (root) {
      this.nodeCode = NodeCode.national();
    } else {
      CpinIdentity identity;
      try {
        identity = CpinIdentity.fromCertificate(certificate);
      } catch (CertificateException e) {
        throw new IllegalArgumentException(
            "an issuing CA certificate needs one URI SAN cpin://<node code>: " + e.getMessage(), e);
      }
      if (identity.kind() != CpinIdentity.Kind.NODE) {
        throw new IllegalArgumentException(
            "the URI SAN of an issuing CA must name a node, not " + identity.uri());
      }
      this.nodeCode = identity.nodeCode();
    }
  }

  /**
   * Creates a self-signed root CA with a new EC P-256 key: CA with pathLenConstraint 1,
   * keyUsage keyCertSign and cRLSign (SEC-001).
   */
  public static CertificateAuthority createRoot(String commonName, Duration validity,
      Clock clock) {
    requirePositive(validity);
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Instant now = clock.instant();
    X509Certificate certificate = new CertificateTemplate(commonName, keyPair.getPublic())
        .validity(now.minus(BACKDATE), now.plus(validity))
        .ca(1)
        .keyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign)
        .selfSign(keyPair.getPrivate());
    return new CertificateAuthority(certificate, List.of(), keyPair.getPrivate(), clock);
  }

  /**
   * Returns the authority for a CA certificate, the certificates above it excluding the root,
   * and its private key, using the system clock.
   *
   * @throws IllegalArgumentException if the certificate is not a CA, the key does not match it,
   *     or an issuing CA lacks its {@code cpin://<node code>} URI SAN
   */
  public static CertificateAuthority of(X509Certificate caCertificate,
      List<X509Certificate> chainAboveExcludingRoot, PrivateKey key) {
    return of(caCertificate, chainAboveExcludingRoot, key, Clock.systemUTC());
  }

  /** Like {@link #of(X509Certificate, List, PrivateKey)} with the given clock. */
  public static CertificateAuthority of(X509Certificate caCertificate,
      List<X509Certificate> chainAboveExcludingRoot, PrivateKey key, Clock clock) {
    return new CertificateAuthority(caCertificate, chainAboveExcludingRoot, key, clock);
  }

  /**
   * Loads an authority saved by {@link #save}: the first certificate of {@code certPem} is the
   * CA's, the others are those above it (a trailing self-signed root is dropped).
   */
  public static CertificateAuthority load(Path certPem, Path keyPem) throws IOException {
    return load(certPem, keyPem, Clock.systemUTC());
  }

  /** Like {@link #load(Path, Path)} with the given clock. */
  public static CertificateAuthority load(Path certPem, Path keyPem, Clock clock)
      throws IOException {
    List<X509Certificate> certificates = new ArrayList<>(KeyMaterial.readCertificates(certPem));
    X509Certificate caCertificate = certificates.remove(0);
    if (!certificates.isEmpty() && isSelfSigned(certificates.get(certificates.size() - 1))) {
      certificates.remove(certificates.size() - 1);
    }
    return of(caCertificate, certificates, KeyMaterial.readPrivateKey(keyPem), clock);
  }

  /**
   * Saves the CA certificate followed by those above it to {@code certPem}, and the private key
   * to {@code keyPem} with owner-only permissions (SEC-014); both files are replaced atomically.
   */
  public void save(Path certPem, Path keyPem) throws IOException {
    KeyMaterial.writePrivateKey(keyPem, privateKey);
    List<X509Certificate> all = new ArrayList<>();
    all.add(certificate);
    all.addAll(chainAbove);
    KeyMaterial.writeCertificates(certPem, all.toArray(X509Certificate[]::new));
  }

  /** Returns this CA's certificate. */
  public X509Certificate certificate() {
    return certificate;
  }

  /**
   * Returns the certificates to send after a leaf issued by this CA: for the root none, for an
   * issuing CA its own certificate followed by those above it, never the root.
   */
  public List<X509Certificate> chain() {
    if (root) {
      return List.of();
    }
    List<X509Certificate> chain = new ArrayList<>(chainAbove.size() + 1);
    chain.add(certificate);
    chain.addAll(chainAbove);
    return List.copyOf(chain);
  }

  /** Returns whether this is a self-signed root CA. */
  public boolean isRoot() {
    return root;
  }

  /**
   * Returns the node this CA belongs to: {@code 86} for the root, for an issuing CA the node of
   * its URI SAN.
   */
  public NodeCode nodeCode() {
    return nodeCode;
  }

  /**
   * Issues a node certificate (SEC-003): one URI SAN {@code cpin://<node>}, CA=false,
   * keyUsage digitalSignature, extKeyUsage serverAuth and clientAuth, subject CN=node code.
   *
   * @throws IllegalStateException if this is not the root CA
   * @throws IllegalArgumentException if {@code validity} is not positive or exceeds
   *     {@link #MAX_NODE_CERTIFICATE_VALIDITY}
   */
  public X509Certificate issueNodeCertificate(NodeCode node, PublicKey key, Duration validity) {
    Objects.requireNonNull(node, "node");
    requireRoot("node certificates");
    requireAtMost(validity, MAX_NODE_CERTIFICATE_VALIDITY, "a node certificate");
    return leafTemplate(CpinIdentity.node(node), key, validity).sign(certificate, privateKey);
  }

  /**
   * Issues the issuing CA of a regional or industry node (SEC-004): CA with pathLenConstraint 0,
   * keyUsage keyCertSign, a critical name constraint permitting only URIs whose host is the node
   * code, subject CN="&lt;node code&gt; issuing CA", and one URI SAN {@code cpin://<node>}.
   *
   * <p>The URI SAN of a CA is informational: it lets software tell which node the CA belongs to.
   * The prefix rule itself is enforced by {@link CpinPeerVerifier}.
   *
   * @throws IllegalStateException if this is not the root CA
   * @throws IllegalArgumentException if {@code node} is the national node, whose operator
   *     certificate the root issues itself
   */
  public X509Certificate issueIssuingCa(NodeCode node, PublicKey key, Duration validity) {
    Objects.requireNonNull(node, "node");
    requireRoot("issuing CA certificates");
    requirePositive(validity);
    if (node.isNational()) {
      throw new IllegalArgumentException(
          "the national node has no issuing CA; the root issues its operator certificate");
    }
    return issuingCaTemplate(node, key, validity, clock.instant())
        .sign(certificate, privateKey);
  }

  /**
   * Issues an operator or participant certificate (SEC-004): one URI SAN, CA=false, keyUsage
   * digitalSignature, extKeyUsage clientAuth.
   *
   * @throws IllegalArgumentException if the identity is a node, belongs to another node than
   *     this CA (the root issues only {@code cpin://86/operator}), or {@code validity} is not
   *     positive or exceeds {@link #MAX_LEAF_VALIDITY}
   */
  public X509Certificate issueLeaf(CpinIdentity identity, PublicKey key, Duration validity) {
    Objects.requireNonNull(identity, "identity");
    if (identity.kind() == CpinIdentity.Kind.NODE) {
      throw new IllegalArgumentException(
          "node certificates are issued with issueNodeCertificate by the root CA");
    }
    if (root && !identity.isNationalOperator()) {
      throw new IllegalArgumentException("the root CA issues only the national operator "
          + "certificate cpin://86/operator, not " + identity.uri()
          + "; use the issuing CA of " + identity.nodeCode());
    }
    if (!identity.nodeCode().equals(nodeCode)) {
      throw new IllegalArgumentException("the issuing CA of " + nodeCode + " cannot issue "
          + identity.uri() + ", which belongs to node " + identity.nodeCode());
    }
    requireAtMost(validity, MAX_LEAF_VALIDITY, "an operator or participant certificate");
    return leafTemplate(identity, key, validity).sign(certificate, privateKey);
  }

  /** Returns a leaf template per SEC-003 (nodes) or SEC-004 (operators, participants). */
  CertificateTemplate leafTemplate(CpinIdentity identity, PublicKey key, Duration validity) {
    Objects.requireNonNull(key, "key");
    Instant now = clock.instant();
    CertificateTemplate template = new CertificateTemplate(commonName(identity), key)
        .validity(now.minus(BACKDATE), now.plus(validity))
        .keyUsage(KeyUsage.digitalSignature)
        .uri(identity.uri());
    return identity.kind() == CpinIdentity.Kind.NODE
        ? template.extendedKeyUsage(KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth)
        : template.extendedKeyUsage(KeyPurposeId.id_kp_clientAuth);
  }

  static CertificateTemplate issuingCaTemplate(NodeCode node, PublicKey key, Duration validity,
      Instant now) {
    Objects.requireNonNull(key, "key");
    return new CertificateTemplate(node + " issuing CA", key)
        .validity(now.minus(BACKDATE), now.plus(validity))
        .ca(0)
        .keyUsage(KeyUsage.keyCertSign)
        .permitOnlyUriHost(node.toString())
        .uri(CpinIdentity.node(node).uri());
  }

  private static String commonName(CpinIdentity identity) {
    return switch (identity.kind()) {
      case NODE -> identity.nodeCode().toString();
      case OPERATOR -> identity.nodeCode() + " operator";
      case PARTICIPANT -> identity.participantId().orElseThrow().toString();
    };
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  Clock clock() {
    return clock;
  }

  private void requireRoot(String what) {
    if (!root) {
      throw new IllegalStateException(
          what + " are issued by the root CA only, not by the issuing CA of " + nodeCode);
    }
  }

  private static void requirePositive(Duration validity) {
    Objects.requireNonNull(validity, "validity");
    if (validity.isNegative() || validity.isZero()) {
      throw new IllegalArgumentException("validity must be positive: " + validity);
    }
  }

  private static void requireAtMost(Duration validity, Duration max, String what) {
    requirePositive(validity);
    if (validity.compareTo(max) > 0) {
      throw new IllegalArgumentException("validity of " + what + " must be at most "
          + max.toDays() + " days: " + validity);
    }
  }

  static boolean isSelfSigned(X509Certificate certificate) {
    if (!certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())) {
      return false;
    }
    try {
      certificate.verify(certificate.getPublicKey());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static boolean matches(PrivateKey privateKey, PublicKey publicKey) {
    try {
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      String algorithm = KeyMaterial.signatureAlgorithm(privateKey);
      Signature signer = Signature.getInstance(algorithm);
      signer.initSign(privateKey);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(algorithm);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      return verifier.verify(signature);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      return false;
    }
  }

  static String subject(X509Certificate certificate) {
    return certificate.getSubjectX500Principal().getName();
  }

  @Override
  public String toString() {
    return "CertificateAuthority{" + subject(certificate) + ", node " + nodeCode + "}";
  }
}
