package cn.cpin.protocol.pki;

import cn.cpin.protocol.identifier.NodeCode;
import java.math.BigInteger;
import java.security.InvalidAlgorithmParameterException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertPathValidator;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.Extension;

/**
 * Verifies the certificate chain of a peer and returns its CPIN identity (SEC-005, SEC-006).
 *
 * <p>A chain is accepted when, in this order:
 *
 * <ol>
 *   <li>the leaf has exactly one URI SAN, a valid CPIN identity;
 *   <li>every certificate below the trust anchor is within its validity period, tolerating
 *       {@link #CLOCK_SKEW} either way;
 *   <li>the prefix rule holds: a node certificate is issued directly by a trust anchor; an
 *       operator or participant certificate of node N by the issuing CA whose URI SAN is
 *       {@code cpin://N}, itself issued by a trust anchor (the national operator
 *       {@code cpin://86/operator} may also be issued by the root directly);
 *   <li>the chain passes PKIX validation (RFC 5280, including name constraints) against the
 *       current trust anchors;
 *   <li>the leaf is not a CA, allows digitalSignature and has extKeyUsage clientAuth (for
 *       {@link Purpose#CLIENT}) or serverAuth (for {@link Purpose#SERVER}, which also requires a
 *       node identity);
 *   <li>no certificate of the chain is revoked.
 * </ol>
 *
 * <p>PKIX validation uses BouncyCastle's validator through a provider instance: the JDK's fails
 * with a NullPointerException on URIs such as {@code cpin://86.44/operator} under a URI name
 * constraint, because {@code java.net.URI} does not accept a host whose last label starts with a
 * digit. For the same reason a TLS trust manager for CPIN must delegate to this class rather than
 * to the JDK's default PKIX trust manager.
 *
 * <p>Thread-safe: trust anchors and the revocation predicate can be replaced at any time (SEC-009,
 * SEC-011); each verification uses the values current when it starts.
 */
public final class CpinPeerVerifier {

  /** Clock skew tolerated on notBefore and notAfter (SEC-006). */
  public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
  /** The most certificates below the trust anchor: leaf and issuing CA. */
  public static final int MAX_CHAIN_LENGTH = 2;

  private static final String SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int DIGITAL_SIGNATURE = 0;

  /** What the peer's certificate is used for. */
  public enum Purpose {
    /** The peer is a TLS client; extKeyUsage clientAuth required. */
    CLIENT,
    /** The peer is a TLS server; extKeyUsage serverAuth and a node identity required. */
    SERVER
  }

  private final Clock clock;
  private volatile Anchors anchors;
  private volatile Predicate<X509Certificate> isRevoked = certificate -> false;

  /** Creates a verifier for the given trust anchors (CPIN root certificates, SEC-001). */
  public CpinPeerVerifier(Collection<X509Certificate> trustAnchors, Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    this.anchors = new Anchors(trustAnchors);
  }

  /** Replaces the trust anchors, e.g. during a root rollover; effective for the next call. */
  public void setTrustAnchors(Collection<X509Certificate> trustAnchors) {
    this.anchors = new Anchors(trustAnchors);
  }

  /**
   * Replaces the revocation check (SEC-011); the predicate is called for every certificate of a
   * chain below the trust anchor and must be fast and thread-safe. {@link #serialKey} gives the
   * key of the revocation feed's entries.
   */
  public void setRevoked(Predicate<X509Certificate> isRevoked) {
    this.isRevoked = Objects.requireNonNull(isRevoked, "isRevoked");
  }

  /** Returns the trust anchors in use. */
  public List<X509Certificate> trustAnchors() {
    return anchors.certificates;
  }

  /**
   * Verifies a peer's chain (leaf first; a trailing trust anchor is allowed and ignored) and
   * returns the identity of its leaf.
   *
   * @throws CertificateException whose message says in plain words why the chain is refused
   */
  public CpinIdentity verify(X509Certificate[] chain, Purpose purpose)
      throws CertificateException {
    Objects.requireNonNull(purpose, "purpose");
    if (chain == null || chain.length == 0) {
      throw new CertificateException("peer presented no certificate");
    }
    Anchors anchors = this.anchors;
    Predicate<X509Certificate> isRevoked = this.isRevoked;
    List<X509Certificate> path = new ArrayList<>(Arrays.asList(chain));
    if (path.contains(null)) {
      throw new CertificateException("certificate chain contains a null entry");
    }
    while (path.size() > 1 && anchors.contains(path.get(path.size() - 1))) {
      path.remove(path.size() - 1);
    }
    X509Certificate leaf = path.get(0);

    CpinIdentity identity = CpinIdentity.fromCertificate(leaf);
    Instant now = clock.instant();
    checkValidity(path, now);
    checkPrefixRule(identity, path);
    validatePath(path, anchors, pkixDate(path, now));
    checkLeaf(leaf, identity, purpose);
    for (X509Certificate certificate : path) {
      boolean revoked;
      try {
        revoked = isRevoked.test(certificate);
      } catch (RuntimeException e) {
        // Fail closed: a broken revocation check must not let certificates through.
        throw new CertificateException("revocation check failed for certificate "
            + describe(certificate), e);
      }
      if (revoked) {
        throw new CertificateException("certificate " + describe(certificate) + " (serial "
            + serialKey(certificate) + ") is revoked");
      }
    }
    return identity;
  }

  /**
   * Verifies a server's chain and checks that it is the node the client meant to reach,
   * {@code cpin://<expected>} (SEC-006).
   */
  public CpinIdentity verifyServer(X509Certificate[] chain, NodeCode expected)
      throws CertificateException {
    CpinIdentity identity = verify(chain, Purpose.SERVER);
    if (!identity.nodeCode().equals(expected)) {
      throw new CertificateException("server is " + identity.uri() + ", not "
          + CpinIdentity.node(expected).uri() + " as expected");
    }
    return identity;
  }

  /**
   * Returns {@code "<issuer key id hex>:<serial hex>"}, lower case, which names a certificate in
   * the revocation feed (SEC-010). The issuer key id is the certificate's
   * authorityKeyIdentifier; for a self-signed certificate without one, its own key identifier;
   * otherwise the SHA-1 of the encoded issuer name, marked with a {@code "dn-"} prefix.
   */
  public static String serialKey(X509Certificate certificate) {
    return issuerKeyId(certificate) + ":" + certificate.getSerialNumber().toString(16);
  }

  /** Returns a serial key from feed fields, for building revocation sets. */
  public static String serialKey(byte[] issuerKeyId, BigInteger serialNumber) {
    return KeyMaterial.hex(issuerKeyId) + ":" + serialNumber.toString(16);
  }

  private static String issuerKeyId(X509Certificate certificate) {
    byte[] extension = certificate.getExtensionValue(Extension.authorityKeyIdentifier.getId());
    if (extension != null) {
      try {
        byte[] id = AuthorityKeyIdentifier.getInstance(
            ASN1OctetString.getInstance(extension).getOctets()).getKeyIdentifierOctets();
        if (id != null) {
          return KeyMaterial.hex(id);
        }
      } catch (IllegalArgumentException e) {
        // Malformed extension: fall through to the other ways of naming the issuer.
      }
    }
    if (certificate.getSubjectX500Principal().equals(certificate.getIssuerX500Principal())) {
      return KeyMaterial.hex(KeyMaterial.keyIdentifier(certificate));
    }
    try {
      return "dn-" + KeyMaterial.hex(java.security.MessageDigest.getInstance("SHA-1")
          .digest(certificate.getIssuerX500Principal().getEncoded()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is not available", e);
    }
  }

  private static void checkValidity(List<X509Certificate> path, Instant now)
      throws CertificateException {
    for (X509Certificate certificate : path) {
      Instant notAfter = certificate.getNotAfter().toInstant();
      Instant notBefore = certificate.getNotBefore().toInstant();
      if (now.isAfter(notAfter.plus(CLOCK_SKEW))) {
        throw new CertificateException(
            "certificate " + describe(certificate) + " expired at " + notAfter);
      }
      if (now.isBefore(notBefore.minus(CLOCK_SKEW))) {
        throw new CertificateException(
            "certificate " + describe(certificate) + " is not yet valid until " + notBefore);
      }
    }
  }

  /**
   * Returns the instant at which PKIX checks validity: now, moved by at most the clock skew into
   * the period in which every certificate of the path is valid.
   */
  private static Instant pkixDate(List<X509Certificate> path, Instant now)
      throws CertificateException {
    Instant latestNotBefore = Instant.MIN;
    Instant earliestNotAfter = Instant.MAX;
    for (X509Certificate certificate : path) {
      Instant notBefore = certificate.getNotBefore().toInstant();
      Instant notAfter = certificate.getNotAfter().toInstant();
      latestNotBefore = notBefore.isAfter(latestNotBefore) ? notBefore : latestNotBefore;
      earliestNotAfter = notAfter.isBefore(earliestNotAfter) ? notAfter : earliestNotAfter;
    }
    if (latestNotBefore.isAfter(earliestNotAfter)) {
      throw new CertificateException(
          "the validity periods of the certificates in the chain do not overlap");
    }
    if (now.isBefore(latestNotBefore)) {
      return latestNotBefore;
    }
    return now.isAfter(earliestNotAfter) ? earliestNotAfter : now;
  }

  private static void checkPrefixRule(CpinIdentity identity, List<X509Certificate> path)
      throws CertificateException {
    if (path.size() > MAX_CHAIN_LENGTH) {
      throw new CertificateException("chain has " + path.size() + " certificates below the "
          + "trust anchor; CPIN allows at most " + MAX_CHAIN_LENGTH
          + " (leaf and issuing CA)");
    }
    String what = identity.kind() == CpinIdentity.Kind.PARTICIPANT ? "participant" : "operator";
    if (identity.kind() == CpinIdentity.Kind.NODE) {
      if (path.size() != 1) {
        throw new CertificateException("node certificate " + identity.uri()
            + " must be issued directly by a CPIN trust anchor, not by "
            + describe(path.get(1)));
      }
      return;
    }
    if (path.size() == 1) {
      if (identity.isNationalOperator()) {
        return;
      }
      throw new CertificateException(what + " " + identity.uri()
          + " must be issued by the issuing CA of " + identity.nodeCode()
          + ", not directly by " + describe(path.get(0), true));
    }
    X509Certificate issuer = path.get(1);
    CpinIdentity issuerIdentity;
    try {
      issuerIdentity = CpinIdentity.fromCertificate(issuer);
    } catch (CertificateException e) {
      throw new CertificateException("issuing CA " + describe(issuer)
          + " does not name its node: " + e.getMessage(), e);
    }
    if (issuerIdentity.kind() != CpinIdentity.Kind.NODE) {
      throw new CertificateException("issuer " + describe(issuer) + " is "
          + issuerIdentity.uri() + ", not the issuing CA of a node");
    }
    if (!issuerIdentity.nodeCode().equals(identity.nodeCode())) {
      throw new CertificateException(what + " " + identity.uri() + " issued by the issuing CA of "
          + issuerIdentity.nodeCode() + "; only the issuing CA of " + identity.nodeCode()
          + " may issue it");
    }
  }

  private static void validatePath(List<X509Certificate> path, Anchors anchors, Instant date)
      throws CertificateException {
    if (anchors.trustAnchors.isEmpty()) {
      throw new CertificateException(
          "does not chain to a CPIN trust anchor: no trust anchors are configured");
    }
    try {
      PKIXParameters parameters = new PKIXParameters(anchors.trustAnchors);
      // Revocation is checked against the CPIN feed (SEC-011), not CRLs or OCSP.
      parameters.setRevocationEnabled(false);
      parameters.setDate(Date.from(date));
      CertPathValidator.getInstance("PKIX", BouncyCastle.PROVIDER).validate(
          CertificateFactory.getInstance("X.509").generateCertPath(path), parameters);
    } catch (CertPathValidatorException e) {
      throw new CertificateException(
          "does not chain to a CPIN trust anchor: " + e.getMessage(), e);
    } catch (InvalidAlgorithmParameterException | NoSuchAlgorithmException
        | RuntimeException e) {
      throw new CertificateException("certificate chain cannot be validated: " + e, e);
    }
  }

  private static void checkLeaf(X509Certificate leaf, CpinIdentity identity, Purpose purpose)
      throws CertificateException {
    if (leaf.getBasicConstraints() >= 0) {
      throw new CertificateException("certificate " + identity.uri()
          + " is a CA certificate, not a leaf");
    }
    boolean[] keyUsage = leaf.getKeyUsage();
    if (keyUsage != null && !keyUsage[DIGITAL_SIGNATURE]) {
      throw new CertificateException("certificate " + identity.uri()
          + " does not allow digitalSignature in keyUsage");
    }
    List<String> extendedKeyUsage;
    try {
      extendedKeyUsage = leaf.getExtendedKeyUsage();
    } catch (CertificateParsingException e) {
      throw new CertificateException("extendedKeyUsage of the certificate is malformed", e);
    }
    String required = purpose == Purpose.CLIENT ? CLIENT_AUTH : SERVER_AUTH;
    String name = purpose == Purpose.CLIENT ? "clientAuth" : "serverAuth";
    if (extendedKeyUsage == null || !extendedKeyUsage.contains(required)) {
      throw new CertificateException("certificate " + identity.uri() + " is not valid for TLS "
          + purpose.name().toLowerCase(java.util.Locale.ROOT)
          + " authentication: extendedKeyUsage lacks " + name);
    }
    if (purpose == Purpose.SERVER && identity.kind() != CpinIdentity.Kind.NODE) {
      throw new CertificateException("a server certificate must name a node "
          + "(cpin://<node code>), not " + identity.uri());
    }
  }

  private static String describe(X509Certificate certificate) {
    return describe(certificate, false);
  }

  private static String describe(X509Certificate certificate, boolean issuer) {
    return (issuer ? certificate.getIssuerX500Principal() : certificate.getSubjectX500Principal())
        .getName();
  }

  /** An immutable snapshot of the trust anchors. */
  private static final class Anchors {
    final List<X509Certificate> certificates;
    final Set<TrustAnchor> trustAnchors;

    Anchors(Collection<X509Certificate> certificates) {
      this.certificates = List.copyOf(certificates);
      Set<TrustAnchor> set = new HashSet<>();
      for (X509Certificate certificate : this.certificates) {
        set.add(new TrustAnchor(certificate, null));
      }
      this.trustAnchors = Set.copyOf(set);
    }

    boolean contains(X509Certificate certificate) {
      return certificates.contains(certificate);
    }
  }
}
