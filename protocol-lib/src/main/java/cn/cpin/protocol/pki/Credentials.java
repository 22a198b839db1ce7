package cn.cpin.protocol.pki;

import java.io.IOException;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Objects;

/**
 * A private key and its certificate chain, as presented in a TLS handshake: leaf first, then
 * the issuing CA if any, never the root.
 *
 * <p>{@link #toString()} never shows the key (SEC-014). Instances are immutable and thread-safe.
 *
 * @param key the leaf's private key
 * @param chain the leaf followed by its issuers, excluding the root; not empty
 */
public record Credentials(PrivateKey key, List<X509Certificate> chain) {

  /** Checks that the key is present and the chain is not empty; copies the chain. */
  public Credentials {
    Objects.requireNonNull(key, "key");
    chain = List.copyOf(chain);
    if (chain.isEmpty()) {
      throw new IllegalArgumentException("a certificate chain has at least the leaf");
    }
  }

  /** Returns the leaf certificate, the first of the chain. */
  public X509Certificate leaf() {
    return chain.get(0);
  }

  /** Returns the chain as an array, as TLS APIs want it. */
  public X509Certificate[] chainArray() {
    return chain.toArray(X509Certificate[]::new);
  }

  /** Loads credentials saved by {@link #save}. */
  public static Credentials load(Path chainPem, Path keyPem) throws IOException {
    return new Credentials(KeyMaterial.readPrivateKey(keyPem),
        KeyMaterial.readCertificates(chainPem));
  }

  /**
   * Saves the chain as PEM and the key as PKCS#8 PEM readable only by the owner (SEC-014); both
   * files are replaced atomically.
   */
  public void save(Path chainPem, Path keyPem) throws IOException {
    KeyMaterial.writePrivateKey(keyPem, key);
    KeyMaterial.writeCertificates(chainPem, chainArray());
  }

  @Override
  public String toString() {
    return "Credentials{leaf " + leaf().getSubjectX500Principal().getName() + ", "
        + chain.size() + " certificate(s)}";
  }
}
