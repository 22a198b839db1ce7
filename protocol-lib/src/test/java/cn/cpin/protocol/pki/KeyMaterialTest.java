package cn.cpin.protocol.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.NodeCode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeyMaterialTest {

  private static CertificateAuthority root;
  private static CertificateAuthority guangdong;

  @TempDir
  Path directory;

  @BeforeAll
  static void createCas() {
    root = CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(365),
        Clock.systemUTC());
    guangdong = TestCertificates.issuingCa(root, NodeCode.parse("86.44"));
  }

  @Test
  void generatesP256Keys() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    assertThat(keyPair.getPublic()).isInstanceOf(ECPublicKey.class);
    assertThat(((ECPublicKey) keyPair.getPublic()).getParams().getCurve().getField().getFieldSize())
        .isEqualTo(256);
  }

  @Test
  void csrRoundTrip() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    byte[] csr = KeyMaterial.createCsr(keyPair, "86.44");
    assertThat(KeyMaterial.verifyCsr(csr)).isEqualTo(keyPair.getPublic());
  }

  @Test
  void csrWithP384RsaAndEd25519KeysIsAccepted() throws Exception {
    for (KeyPair keyPair : List.of(keyPair("EC", new ECGenParameterSpec("secp384r1")),
        keyPair("RSA", 3072), keyPair("Ed25519", null))) {
      byte[] csr = KeyMaterial.createCsr(keyPair, "node");
      assertThat(KeyMaterial.verifyCsr(csr).getEncoded())
          .isEqualTo(keyPair.getPublic().getEncoded());
    }
  }

  @Test
  void csrWithBadSignatureIsRefused() {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    byte[] csr = KeyMaterial.createCsr(keyPair, "86.44");
    byte[] tampered = csr.clone();
    // The last byte belongs to the ECDSA signature's s value.
    tampered[tampered.length - 1] ^= 0x01;
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(tampered))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("signature");
  }

  @Test
  void csrSignedByAnotherKeyIsRefused() throws Exception {
    // The CSR carries key A but is signed with key B: splice B's signature over A's body.
    KeyPair a = KeyMaterial.generateKeyPair();
    KeyPair b = KeyMaterial.generateKeyPair();
    org.bouncycastle.pkcs.PKCS10CertificationRequest request =
        new org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder(
            new org.bouncycastle.asn1.x500.X500Name("CN=x"), a.getPublic())
            .build(new org.bouncycastle.operator.jcajce.JcaContentSignerBuilder("SHA256withECDSA")
                .build(b.getPrivate()));
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(request.getEncoded()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("CSR self-signature is not valid");
  }

  @Test
  void rsa2048CsrIsRefused() throws Exception {
    byte[] csr = KeyMaterial.createCsr(keyPair("RSA", 2048), "node");
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(csr))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("RSA key of 2048 bits");
  }

  @Test
  void csrOnOtherCurveIsRefused() throws Exception {
    byte[] csr = KeyMaterial.createCsr(keyPair("EC", new ECGenParameterSpec("secp521r1")), "n");
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(csr))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only P-256 and P-384");
  }

  @Test
  void malformedCsrIsRefused() {
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(new byte[0]))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("CSR is empty");
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(new byte[] {0x30, 0x03, 0x02, 0x01, 0x01}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a DER PKCS#10");
    assertThatThrownBy(() -> KeyMaterial.verifyCsr("hello".getBytes()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not a DER PKCS#10");
    byte[] csr = KeyMaterial.createCsr(KeyMaterial.generateKeyPair(), "x");
    byte[] trailing = Arrays.copyOf(csr, csr.length + 2);
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(trailing))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeyMaterial.verifyCsr(new byte[KeyMaterial.MAX_CSR_LENGTH + 1]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("longer than");
  }

  @Test
  void privateKeyFileIsOwnerOnly() throws Exception {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    Path file = directory.resolve("node.key");
    KeyMaterial.writePrivateKey(file, keyPair.getPrivate());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThat(Files.readString(file)).startsWith("-----BEGIN PRIVATE KEY-----\n");
    assertThat(KeyMaterial.readPrivateKey(file)).isEqualTo(keyPair.getPrivate());

    // Replacing an existing, more open file leaves it owner-only too.
    Path open = directory.resolve("open.key");
    Files.writeString(open, "old");
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-rw-rw-"));
    KeyMaterial.writePrivateKey(open, keyPair.getPrivate());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(open)))
        .isEqualTo("rw-------");
    assertThat(KeyMaterial.readPrivateKey(open)).isEqualTo(keyPair.getPrivate());
    try (var files = Files.list(directory)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
    }
  }

  @Test
  void readsOpenSslEcPrivateKey() throws Exception {
    KeyPair keyPair = KeyMaterial.generateKeyPair();
    // "EC PRIVATE KEY" (SEC1) as written by `openssl ecparam -genkey`.
    byte[] sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(256,
        ((java.security.interfaces.ECPrivateKey) keyPair.getPrivate()).getS(),
        org.bouncycastle.asn1.sec.SECObjectIdentifiers.secp256r1).getEncoded();
    Path file = directory.resolve("sec1.key");
    Files.writeString(file, "-----BEGIN EC PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder().encodeToString(sec1)
        + "\n-----END EC PRIVATE KEY-----\n");
    java.security.PrivateKey read = KeyMaterial.readPrivateKey(file);
    assertThat(((java.security.interfaces.ECPrivateKey) read).getS())
        .isEqualTo(((java.security.interfaces.ECPrivateKey) keyPair.getPrivate()).getS());
    assertThat(read.getAlgorithm()).isEqualTo("EC");
  }

  @Test
  void keyFileWithCertificateIsRefused() throws Exception {
    Path file = directory.resolve("wrong.key");
    Files.writeString(file, KeyMaterial.toPem(root.certificate()));
    assertThatThrownBy(() -> KeyMaterial.readPrivateKey(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not an unencrypted private key");
    Files.writeString(file, "");
    assertThatThrownBy(() -> KeyMaterial.readPrivateKey(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no private key");
  }

  @Test
  void certificatePemRoundTrip() throws Exception {
    Credentials operator = TestCertificates.valid(guangdong,
        CpinIdentity.operator(NodeCode.parse("86.44")), Duration.ofDays(30));
    X509Certificate[] chain = {operator.leaf(), guangdong.certificate(), root.certificate()};
    String pem = KeyMaterial.toPem(chain);
    assertThat(pem).startsWith("-----BEGIN CERTIFICATE-----\n");
    assertThat(pem.lines()).allMatch(line -> line.length() <= 64);
    assertThat(KeyMaterial.readCertificates(pem)).containsExactly(chain);

    Path file = directory.resolve("chain.pem");
    KeyMaterial.writeCertificates(file, chain);
    assertThat(KeyMaterial.readCertificates(file)).containsExactly(chain);
    KeyMaterial.writeCertificates(file, chain[0]);
    assertThat(KeyMaterial.readCertificates(file)).containsExactly(chain[0]);
  }

  @Test
  void malformedCertificatePemIsRefused() {
    assertThatThrownBy(() -> KeyMaterial.readCertificates(""))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no CERTIFICATE");
    assertThatThrownBy(() -> KeyMaterial.readCertificates(
        KeyMaterial.toPem(KeyMaterial.generateKeyPair().getPrivate())))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("where certificates were expected");
    assertThatThrownBy(() -> KeyMaterial.readCertificates(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void parseCertificate() throws Exception {
    X509Certificate certificate = root.certificate();
    assertThat(KeyMaterial.parseCertificate(certificate.getEncoded())).isEqualTo(certificate);
    byte[] trailing = Arrays.copyOf(certificate.getEncoded(), certificate.getEncoded().length + 1);
    assertThatThrownBy(() -> KeyMaterial.parseCertificate(trailing))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> KeyMaterial.parseCertificate(new byte[] {1, 2, 3}))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void keyIdentifierIsSkiOrSha1OfKeyBits() throws Exception {
    X509Certificate certificate = guangdong.certificate();
    PublicKey key = certificate.getPublicKey();
    byte[] expected = MessageDigest.getInstance("SHA-1").digest(
        SubjectPublicKeyInfo.getInstance(key.getEncoded()).getPublicKeyData().getBytes());
    assertThat(KeyMaterial.keyIdentifier(certificate)).isEqualTo(expected);
    assertThat(KeyMaterial.keyIdentifier(key)).isEqualTo(expected);
    assertThat(certificate.getExtensionValue("2.5.29.14")).isNotNull();
  }

  private static KeyPair keyPair(String algorithm, Object parameters) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
    if (parameters instanceof Integer bits) {
      generator.initialize(bits);
    } else if (parameters instanceof ECGenParameterSpec spec) {
      generator.initialize(spec);
    }
    return generator.generateKeyPair();
  }
}
