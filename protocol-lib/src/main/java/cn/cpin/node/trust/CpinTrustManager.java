package cn.cpin.node.trust;

import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import io.netty.handler.ssl.OpenSslCertificateException;
import io.netty.handler.ssl.SslProvider;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * TLS trust decisions by the CPIN rules (SEC-005, SEC-006): chain to a CPIN anchor, validity,
 * revocation, exactly one URI SAN and the issuing prefix rule, all in {@link CpinPeerVerifier}.
 *
 * <p>Host names play no part: identity is the URI SAN. A client-side instance may also require the
 * server to be one particular node. Thread-safe; the verifier's anchors and revocations may
 * change at any time and apply to the next handshake.
 */
public final class CpinTrustManager extends X509ExtendedTrustManager {
  /** Told of every client certificate refused at the handshake (MON-002, security). */
  public interface Refusals {
    void refused(String peerHost, String reason);
  }

  // OpenSSL's X509_V_ERR_CERT_REJECTED (netty-tcnative's class is only on the runtime path).
  private static final int X509_V_ERR_CERT_REJECTED = 28;

  private final CpinPeerVerifier verifier;
  private final CpinIdentity expectedServer;
  private final Refusals refusals;

  private CpinTrustManager(CpinPeerVerifier verifier, CpinIdentity expectedServer,
      Refusals refusals) {
    this.verifier = verifier;
    this.expectedServer = expectedServer;
    this.refusals = refusals;
  }

  /** For servers: accepts any valid CPIN client. */
  public static CpinTrustManager forServer(CpinPeerVerifier verifier) {
    return forServer(verifier, (peer, reason) -> { });
  }

  /** For servers, telling {@code refusals} of every client refused. */
  public static CpinTrustManager forServer(CpinPeerVerifier verifier, Refusals refusals) {
    return new CpinTrustManager(verifier, null, refusals);
  }

  /** For clients: accepts only a server presenting {@code expected} (e.g. cpin://86). */
  public static CpinTrustManager forClient(CpinPeerVerifier verifier, CpinIdentity expected) {
    return new CpinTrustManager(verifier, expected, (peer, reason) -> { });
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    verifier.verify(chain, CpinPeerVerifier.Purpose.CLIENT);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    CpinIdentity server = verifier.verify(chain, CpinPeerVerifier.Purpose.SERVER);
    if (expectedServer != null && !expectedServer.equals(server)) {
      throw new CertificateException("server presents " + server.uri() + ", expected "
          + expectedServer.uri());
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    checkServerTrusted(chain, authType);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      checkClientTrusted(chain, authType);
    } catch (CertificateException e) {
      refusals.refused(String.valueOf(engine.getPeerHost()), e.getMessage());
      throw certificateAlert(e);
    }
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      checkServerTrusted(chain, authType);
    } catch (CertificateException e) {
      throw certificateAlert(e);
    }
  }

  /**
   * Under BoringSSL a plain CertificateException becomes X509_V_ERR_UNSPECIFIED, which is sent as
   * an internal-error alert; a rejected certificate must reach the peer as bad_certificate.
   */
  private static CertificateException certificateAlert(CertificateException e) {
    if (NodeTls.PROVIDER != SslProvider.OPENSSL || e instanceof OpenSslCertificateException) {
      return e;
    }
    return new OpenSslCertificateException(e.getMessage(), e,
        X509_V_ERR_CERT_REJECTED);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return new X509Certificate[0];
  }
}
