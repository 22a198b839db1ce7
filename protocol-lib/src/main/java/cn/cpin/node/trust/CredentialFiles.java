package cn.cpin.node.trust;

import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * Where a node keeps its keys and certificates: {@code <data dir>/pki/}, private keys readable
 * only by the node's account (SEC-014), and the operator's credentials in
 * {@code <data dir>/operator/} for the operator's command-line tools.
 */
public final class CredentialFiles {
  private final Path pki;
  private final Path operator;

  public CredentialFiles(Path dataDirectory) {
    this.pki = dataDirectory.resolve("pki");
    this.operator = dataDirectory.resolve("operator");
  }

  public Path pkiDirectory() {
    return pki;
  }

  public Path operatorDirectory() {
    return operator;
  }

  public Path trustAnchorsFile() {
    return pki.resolve("trust-anchors.pem");
  }

  public boolean hasNodeCredentials() {
    return Files.exists(pki.resolve("node-chain.pem")) && Files.exists(pki.resolve("node-key.pem"));
  }

  public Credentials nodeCredentials() {
    return read(pki, "node");
  }

  public void saveNodeCredentials(Credentials credentials) {
    write(pki, "node", credentials);
  }

  public Optional<Credentials> issuingCa() {
    return Files.exists(pki.resolve("issuing-ca-chain.pem")) ? Optional.of(read(pki, "issuing-ca"))
        : Optional.empty();
  }

  public void saveIssuingCa(Credentials credentials) {
    write(pki, "issuing-ca", credentials);
  }

  public Optional<Credentials> operatorCredentials() {
    return Files.exists(operator.resolve("operator-chain.pem"))
        ? Optional.of(read(operator, "operator")) : Optional.empty();
  }

  /** Saves the operator's credentials and a copy of the trust anchors next to them. */
  public void saveOperatorCredentials(Credentials credentials, List<X509Certificate> anchors) {
    write(operator, "operator", credentials);
    writeCertificates(operator.resolve("trust-anchors.pem"), anchors);
  }

  /** Saves the national filing log's public key (DER SubjectPublicKeyInfo). */
  public void saveFilingLogKey(byte[] der) {
    if (der.length == 0) {
      return;
    }
    try {
      Files.createDirectories(pki);
      Files.write(pki.resolve("filing-log-public.der"), der);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The national filing log's public key, if known. */
  public Optional<java.security.PublicKey> filingLogKey() {
    Path file = pki.resolve("filing-log-public.der");
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(java.security.KeyFactory.getInstance("EC").generatePublic(
          new java.security.spec.X509EncodedKeySpec(Files.readAllBytes(file))));
    } catch (Exception e) {
      throw new IllegalStateException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  public List<X509Certificate> trustAnchors() {
    try {
      return KeyMaterial.readCertificates(trustAnchorsFile());
    } catch (Exception e) {
      throw new IllegalStateException("cannot read " + trustAnchorsFile() + ": " + e.getMessage(), e);
    }
  }

  public void saveTrustAnchors(List<X509Certificate> anchors) {
    writeCertificates(trustAnchorsFile(), anchors);
  }

  /** Reads credentials saved by {@link #write} (or by an operator tool) from {@code dir}. */
  public static Credentials read(Path dir, String name) {
    try {
      return new Credentials(KeyMaterial.readPrivateKey(dir.resolve(name + "-key.pem")),
          KeyMaterial.readCertificates(dir.resolve(name + "-chain.pem")));
    } catch (Exception e) {
      throw new IllegalStateException("cannot read " + name + " credentials in " + dir + ": "
          + e.getMessage(), e);
    }
  }

  private static void write(Path dir, String name, Credentials credentials) {
    try {
      Files.createDirectories(dir);
      KeyMaterial.writePrivateKey(dir.resolve(name + "-key.pem"), credentials.key());
    } catch (Exception e) {
      throw new IllegalStateException("cannot write " + name + " key in " + dir, e);
    }
    writeCertificates(dir.resolve(name + "-chain.pem"), credentials.chain());
  }

  private static void writeCertificates(Path file, List<X509Certificate> certificates) {
    try {
      Files.createDirectories(file.getParent());
      KeyMaterial.writeCertificates(file, certificates.toArray(new X509Certificate[0]));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (Exception e) {
      throw new IllegalStateException("cannot write " + file, e);
    }
  }
}
