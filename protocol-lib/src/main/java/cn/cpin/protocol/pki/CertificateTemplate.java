package cn.cpin.protocol.pki;

import java.io.IOException;
import java.math.BigInteger;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The fields of one certificate to sign; shared by {@link CertificateAuthority}, which fills it
 * according to the profiles of SEC-003 and SEC-004, and {@link TestCertificates}, which breaks
 * them on purpose.
 *
 * <p>Not thread-safe; use one instance per certificate.
 */
final class CertificateTemplate {

  private static final SecureRandom RANDOM = new SecureRandom();

  private final String commonName;
  private final PublicKey publicKey;
  private Instant notBefore;
  private Instant notAfter;
  private boolean ca;
  private Integer pathLength;
  private int keyUsage;
  private final List<KeyPurposeId> extendedKeyUsages = new ArrayList<>();
  private final List<GeneralName> alternativeNames = new ArrayList<>();
  private String permittedUriHost;

  CertificateTemplate(String commonName, PublicKey publicKey) {
    this.commonName = Objects.requireNonNull(commonName, "commonName");
    this.publicKey = Objects.requireNonNull(publicKey, "publicKey");
  }

  CertificateTemplate validity(Instant notBefore, Instant notAfter) {
    this.notBefore = notBefore;
    this.notAfter = notAfter;
    return this;
  }

  /** Makes this a CA certificate; {@code pathLength} null means no limit. */
  CertificateTemplate ca(Integer pathLength) {
    this.ca = true;
    this.pathLength = pathLength;
    return this;
  }

  /** Sets keyUsage bits from {@link KeyUsage}. */
  CertificateTemplate keyUsage(int bits) {
    this.keyUsage = bits;
    return this;
  }

  CertificateTemplate extendedKeyUsage(KeyPurposeId... purposes) {
    extendedKeyUsages.addAll(List.of(purposes));
    return this;
  }

  CertificateTemplate uri(String uri) {
    alternativeNames.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
    return this;
  }

  CertificateTemplate dnsName(String name) {
    alternativeNames.add(new GeneralName(GeneralName.dNSName, name));
    return this;
  }

  /** Adds a critical name constraint permitting only URIs whose host is {@code host}. */
  CertificateTemplate permitOnlyUriHost(String host) {
    this.permittedUriHost = host;
    return this;
  }

  /** Returns a self-signed certificate. */
  X509Certificate selfSign(PrivateKey key) {
    return sign(null, key);
  }

  /**
   * Returns the certificate signed by {@code issuerKey}; {@code issuer} null means self-signed.
   */
  X509Certificate sign(X509Certificate issuer, PrivateKey issuerKey) {
    Objects.requireNonNull(notBefore, "validity not set");
    X500Name subject =
        new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
    X500Name issuerName = issuer == null
        ? subject
        : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    try {
      X509v3CertificateBuilder builder = new JcaX509v3CertificateBuilder(issuerName,
          randomSerial(), Date.from(notBefore), Date.from(notAfter), subject, publicKey);
      builder.addExtension(Extension.basicConstraints, true, !ca
          ? new BasicConstraints(false)
          : pathLength == null ? new BasicConstraints(true) : new BasicConstraints(pathLength));
      if (keyUsage != 0) {
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(keyUsage));
      }
      if (!extendedKeyUsages.isEmpty()) {
        builder.addExtension(Extension.extendedKeyUsage, false,
            new ExtendedKeyUsage(extendedKeyUsages.toArray(KeyPurposeId[]::new)));
      }
      builder.addExtension(Extension.subjectKeyIdentifier, false,
          new SubjectKeyIdentifier(KeyMaterial.keyIdentifier(publicKey)));
      if (issuer != null) {
        builder.addExtension(Extension.authorityKeyIdentifier, false,
            new AuthorityKeyIdentifier(KeyMaterial.keyIdentifier(issuer)));
      }
      if (!alternativeNames.isEmpty()) {
        builder.addExtension(Extension.subjectAlternativeName, false,
            new GeneralNames(alternativeNames.toArray(GeneralName[]::new)));
      }
      if (permittedUriHost != null) {
        builder.addExtension(Extension.nameConstraints, true, new NameConstraints(
            new GeneralSubtree[] {new GeneralSubtree(
                new GeneralName(GeneralName.uniformResourceIdentifier, permittedUriHost))},
            null));
      }
      return new JcaX509CertificateConverter().getCertificate(builder.build(
          new JcaContentSignerBuilder(KeyMaterial.signatureAlgorithm(issuerKey)).build(issuerKey)));
    } catch (IOException | OperatorCreationException | CertificateException e) {
      throw new IllegalStateException("cannot sign certificate", e);
    }
  }

  /** A random positive serial of at most 127 bits (at least 64 random bits, RFC 5280). */
  private static BigInteger randomSerial() {
    BigInteger serial;
    do {
      serial = new BigInteger(127, RANDOM);
    } while (serial.signum() == 0);
    return serial;
  }
}
