package cn.cpin.protocol.pki;

import java.security.Provider;
import org.bouncycastle.jce.provider.BouncyCastleProvider;

/** The one BouncyCastle provider instance of this package, used explicitly and never registered. */
final class BouncyCastle {

  /**
   * Used for PKIX path validation: the JDK's validator fails with a NullPointerException on URI
   * SANs such as {@code cpin://86.44/operator} under a URI name constraint, because
   * {@code java.net.URI} does not accept a host whose last label starts with a digit.
   */
  static final Provider PROVIDER = new BouncyCastleProvider();

  private BouncyCastle() {}
}
