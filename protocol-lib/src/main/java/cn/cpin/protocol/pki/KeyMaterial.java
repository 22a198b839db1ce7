package cn.cpin.protocol.pki;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.InvalidAlgorithmParameterException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.sec.SECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * Keys, certificate signing requests and PEM files (SEC-001, SEC-003, SEC-014).
 *
 * <p>Keys are generated where they are used (EC P-256) and written to files readable only by
 * the owner. Nothing here logs keys, CSRs or their contents.
 *
 * <p>All methods are static and thread-safe.
 */
public final class KeyMaterial {

  /** Larger CSRs are rejected before parsing. */
  public static final int MAX_CSR_LENGTH = 16 * 1024;
  /** The smallest accepted RSA modulus (SEC-001). */
  public static final int MIN_RSA_BITS = 3072;

  private static final String CERTIFICATE_LABEL = "CERTIFICATE";
  private static final String PRIVATE_KEY_LABEL = "PRIVATE KEY";
  private static final Set<PosixFilePermission> OWNER_ONLY =
      PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> PUBLIC_READ =
      PosixFilePermissions.fromString("rw-r--r--");

  private KeyMaterial() {}

  /** Generates an EC P-256 key pair with the default JDK provider. */
  public static KeyPair generateKeyPair() {
    try {
      KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"));
      return generator.generateKeyPair();
    } catch (NoSuchAlgorithmException | InvalidAlgorithmParameterException e) {
      throw new IllegalStateException("EC P-256 is not available in this JDK", e);
    }
  }

  /**
   * Creates a DER PKCS#10 request for {@code keyPair}'s public key, signed with its private key.
   * The CA ignores the subject (SEC-003); it is there for people reading the request.
   */
  public static byte[] createCsr(KeyPair keyPair, String subjectCommonName) {
    Objects.requireNonNull(keyPair, "keyPair");
    Objects.requireNonNull(subjectCommonName, "subjectCommonName");
    try {
      PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(
          new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, subjectCommonName).build(),
          keyPair.getPublic())
          .build(new JcaContentSignerBuilder(signatureAlgorithm(keyPair.getPrivate()))
              .build(keyPair.getPrivate()));
      return csr.getEncoded();
    } catch (OperatorCreationException | IOException e) {
      throw new IllegalStateException("cannot sign the certificate signing request", e);
    }
  }

  /**
   * Parses a DER PKCS#10 request, verifies its self-signature and returns its public key; the
   * subject and requested extensions are ignored (SEC-003).
   *
   * <p>Accepted keys (SEC-001): EC P-256 or P-384 (named curves), RSA of at least
   * {@value #MIN_RSA_BITS} bits, Ed25519.
   *
   * @throws IllegalArgumentException saying why the request is unacceptable
   */
  public static PublicKey verifyCsr(byte[] csrDer) {
    Objects.requireNonNull(csrDer, "csrDer");
    if (csrDer.length == 0) {
      throw new IllegalArgumentException("CSR is empty");
    }
    if (csrDer.length > MAX_CSR_LENGTH) {
      throw new IllegalArgumentException("CSR is longer than " + MAX_CSR_LENGTH + " bytes");
    }
    PKCS10CertificationRequest csr;
    try {
      csr = new PKCS10CertificationRequest(csrDer);
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException("CSR is not a DER PKCS#10 certification request", e);
    }
    SubjectPublicKeyInfo spki = csr.getSubjectPublicKeyInfo();
    checkAcceptableKey(spki);
    PublicKey key;
    try {
      key = KeyFactory.getInstance(keyAlgorithm(spki.getAlgorithm().getAlgorithm()))
          .generatePublic(new java.security.spec.X509EncodedKeySpec(spki.getEncoded()));
    } catch (GeneralSecurityException | IOException | RuntimeException e) {
      throw new IllegalArgumentException("CSR public key cannot be decoded", e);
    }
    if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
      throw new IllegalArgumentException("CSR has an RSA key of " + rsa.getModulus().bitLength()
          + " bits; at least " + MIN_RSA_BITS + " are required");
    }
    boolean valid;
    try {
      valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
    } catch (OperatorCreationException | PKCSException | RuntimeException e) {
      throw new IllegalArgumentException("CSR signature cannot be verified: " + e.getMessage(), e);
    }
    if (!valid) {
      throw new IllegalArgumentException("CSR self-signature is not valid");
    }
    return key;
  }

  private static void checkAcceptableKey(SubjectPublicKeyInfo spki) {
    ASN1ObjectIdentifier algorithm = spki.getAlgorithm().getAlgorithm();
    if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      ASN1Encodable parameters = spki.getAlgorithm().getParameters();
      if (!(parameters instanceof ASN1ObjectIdentifier curve)) {
        throw new IllegalArgumentException("CSR has an EC key without a named curve");
      }
      if (!curve.equals(SECObjectIdentifiers.secp256r1)
          && !curve.equals(SECObjectIdentifiers.secp384r1)) {
        throw new IllegalArgumentException(
            "CSR has an EC key on curve " + curve + "; only P-256 and P-384 are accepted");
      }
    } else if (!algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)
        && !algorithm.equals(EdECObjectIdentifiers.id_Ed25519)) {
      throw new IllegalArgumentException("CSR has a key of algorithm " + algorithm
          + "; only EC P-256/P-384, RSA >= " + MIN_RSA_BITS + " and Ed25519 are accepted");
    }
  }

  private static String keyAlgorithm(ASN1ObjectIdentifier algorithm) {
    if (algorithm.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      return "EC";
    }
    if (algorithm.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      return "RSA";
    }
    return "Ed25519";
  }

  /** Returns the signature algorithm this package uses with a private key of its type. */
  static String signatureAlgorithm(Key key) {
    return switch (key.getAlgorithm()) {
      case "EC", "ECDSA" -> "SHA256withECDSA";
      case "RSA" -> "SHA256withRSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> throw new IllegalArgumentException(
          "unsupported key algorithm " + key.getAlgorithm());
    };
  }

  /** Returns certificates as PEM, one {@code CERTIFICATE} block each, in order. */
  public static String toPem(X509Certificate... certificates) {
    StringBuilder sb = new StringBuilder();
    for (X509Certificate certificate : certificates) {
      try {
        appendPem(sb, CERTIFICATE_LABEL, certificate.getEncoded());
      } catch (CertificateException e) {
        throw new IllegalArgumentException("certificate cannot be encoded", e);
      }
    }
    return sb.toString();
  }

  /** Returns a private key as an unencrypted PKCS#8 {@code PRIVATE KEY} PEM block. */
  public static String toPem(PrivateKey key) {
    Objects.requireNonNull(key, "key");
    if (!"PKCS#8".equals(key.getFormat()) || key.getEncoded() == null) {
      throw new IllegalArgumentException("private key has no PKCS#8 encoding");
    }
    return appendPem(new StringBuilder(), PRIVATE_KEY_LABEL, key.getEncoded()).toString();
  }

  private static StringBuilder appendPem(StringBuilder sb, String label, byte[] der) {
    sb.append("-----BEGIN ").append(label).append("-----\n");
    sb.append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)).append('\n');
    return sb.append("-----END ").append(label).append("-----\n");
  }

  /**
   * Reads the certificates of a PEM file in order.
   *
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if it holds no certificate or anything else
   */
  public static List<X509Certificate> readCertificates(Path pem) throws IOException {
    return readCertificates(Files.readString(pem, StandardCharsets.US_ASCII));
  }

  /**
   * Reads the certificates of PEM text in order.
   *
   * @throws IllegalArgumentException if the text holds no certificate or a block that is not one
   */
  public static List<X509Certificate> readCertificates(String pem) {
    Objects.requireNonNull(pem, "pem");
    List<X509Certificate> certificates = new ArrayList<>();
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (!(o instanceof X509CertificateHolder holder)) {
          throw new IllegalArgumentException(
              "PEM holds a " + o.getClass().getSimpleName() + " where certificates were expected");
        }
        certificates.add(parseCertificate(holder.getEncoded()));
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae) {
        throw iae;
      }
      throw new IllegalArgumentException("PEM certificates are malformed", e);
    }
    if (certificates.isEmpty()) {
      throw new IllegalArgumentException("PEM holds no CERTIFICATE block");
    }
    return List.copyOf(certificates);
  }

  /**
   * Reads an unencrypted private key from a PEM file ({@code PRIVATE KEY} PKCS#8, or
   * {@code EC PRIVATE KEY} as written by OpenSSL).
   *
   * @throws IOException if the file cannot be read
   * @throws IllegalArgumentException if it does not hold exactly one unencrypted private key
   */
  public static PrivateKey readPrivateKey(Path pem) throws IOException {
    PrivateKeyInfo info = null;
    try (PEMParser parser = new PEMParser(Files.newBufferedReader(pem, StandardCharsets.US_ASCII))) {
      for (Object o = parser.readObject(); o != null; o = parser.readObject()) {
        if (info != null) {
          throw new IllegalArgumentException("key file holds more than one PEM block");
        }
        if (o instanceof PrivateKeyInfo pki) {
          info = pki;
        } else if (o instanceof PEMKeyPair pair) {
          info = pair.getPrivateKeyInfo();
        } else {
          throw new IllegalArgumentException("key file holds a " + o.getClass().getSimpleName()
              + ", not an unencrypted private key");
        }
      }
    } catch (RuntimeException e) {
      if (e instanceof IllegalArgumentException iae) {
        throw iae;
      }
      throw new IllegalArgumentException("key file is malformed", e);
    }
    if (info == null) {
      throw new IllegalArgumentException("key file holds no private key");
    }
    try {
      return KeyFactory.getInstance(keyAlgorithm(info.getPrivateKeyAlgorithm().getAlgorithm()))
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("private key cannot be decoded", e);
    }
  }

  /**
   * Writes a private key as PKCS#8 PEM, replacing the file atomically. The file is created with
   * permissions {@code rw-------} before the key is written (SEC-014).
   */
  public static void writePrivateKey(Path path, PrivateKey key) throws IOException {
    writeAtomically(path, toPem(key), OWNER_ONLY);
  }

  /** Writes certificates as PEM, replacing the file atomically (temporary file, then move). */
  public static void writeCertificates(Path path, X509Certificate... certificates)
      throws IOException {
    writeAtomically(path, toPem(certificates), PUBLIC_READ);
  }

  private static void writeAtomically(Path path, String content,
      Set<PosixFilePermission> permissions) throws IOException {
    Path target = path.toAbsolutePath();
    Path directory = target.getParent();
    boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    FileAttribute<?>[] attributes = posix
        ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(permissions)}
        : new FileAttribute<?>[0];
    // The temporary file has its final permissions before anything is written to it.
    Path temporary = Files.createTempFile(directory, "." + target.getFileName(), ".tmp",
        attributes);
    try {
      if (posix) {
        // createTempFile masks with the umask; set exactly what was asked for.
        Files.setPosixFilePermissions(temporary, permissions);
      }
      Files.writeString(temporary, content, StandardCharsets.US_ASCII);
      try {
        Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temporary, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temporary);
    }
  }

  /**
   * Parses one DER certificate with the JDK's certificate factory.
   *
   * @throws IllegalArgumentException if {@code der} is not exactly one certificate
   */
  public static X509Certificate parseCertificate(byte[] der) {
    Objects.requireNonNull(der, "der");
    try {
      ByteArrayInputStream in = new ByteArrayInputStream(der);
      X509Certificate certificate =
          (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      if (in.available() > 0) {
        throw new IllegalArgumentException("DER certificate is followed by other data");
      }
      return certificate;
    } catch (CertificateException | ClassCastException e) {
      throw new IllegalArgumentException("not a DER X.509 certificate", e);
    }
  }

  /**
   * Returns the key identifier of a certificate: its subjectKeyIdentifier if present, otherwise
   * the SHA-1 hash of its subjectPublicKey bit string (RFC 5280 section 4.2.1.2, method 1).
   */
  public static byte[] keyIdentifier(X509Certificate certificate) {
    byte[] extension = certificate.getExtensionValue(Extension.subjectKeyIdentifier.getId());
    if (extension != null) {
      return SubjectKeyIdentifier.getInstance(ASN1OctetString.getInstance(extension).getOctets())
          .getKeyIdentifier();
    }
    return keyIdentifier(certificate.getPublicKey());
  }

  /** Returns the RFC 5280 method-1 key identifier of a public key (SHA-1 of the key bits). */
  public static byte[] keyIdentifier(PublicKey key) {
    byte[] bits = SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getBytes();
    try {
      return MessageDigest.getInstance("SHA-1").digest(bits);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is not available", e);
    }
  }

  /** Returns bytes as lower-case hexadecimal. */
  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
