package cn.cpin.protocol.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinPeerVerifier.Purpose;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;
import org.junit.jupiter.api.Test;

/**
 * Our certificates work in a real TLS 1.3 handshake with mutual authentication when the trust
 * manager delegates to {@link CpinPeerVerifier} (SEC-006, SEC-015).
 */
class TlsHandshakeTest {

  private static final NodeCode GUANGDONG = NodeCode.parse("86.44");

  private final CertificateAuthority root =
      CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(365), Clock.systemUTC());
  private final CertificateAuthority guangdong = TestCertificates.issuingCa(root, GUANGDONG);
  private final CpinPeerVerifier verifier =
      new CpinPeerVerifier(List.of(root.certificate()), Clock.systemUTC());

  @Test
  void mutualTls13WithNodeServerAndOperatorClient() throws Exception {
    Credentials server = TestCertificates.valid(root, CpinIdentity.node(GUANGDONG),
        Duration.ofDays(30));
    Credentials client = TestCertificates.valid(guangdong, CpinIdentity.operator(GUANGDONG),
        Duration.ofDays(30));
    AtomicReference<CpinIdentity> seenByServer = new AtomicReference<>();
    AtomicReference<CpinIdentity> seenByClient = new AtomicReference<>();
    handshake(server, client, seenByServer, seenByClient);
    assertThat(seenByServer.get()).isEqualTo(CpinIdentity.operator(GUANGDONG));
    assertThat(seenByClient.get()).isEqualTo(CpinIdentity.node(GUANGDONG));
  }

  @Test
  void handshakeFailsForForeignIssuedClient() {
    Credentials server = TestCertificates.valid(root, CpinIdentity.node(GUANGDONG),
        Duration.ofDays(30));
    Credentials client = TestCertificates.participantViaForeignIssuer(root,
        NodeCode.parse("86.31"), CpinIdentity.operator(GUANGDONG));
    assertThatThrownBy(() -> handshake(server, client, new AtomicReference<>(),
        new AtomicReference<>())).isInstanceOf(Exception.class);
  }

  private void handshake(Credentials server, Credentials client,
      AtomicReference<CpinIdentity> seenByServer, AtomicReference<CpinIdentity> seenByClient)
      throws Exception {
    SSLContext serverContext = context(server, Purpose.CLIENT, seenByServer);
    SSLContext clientContext = context(client, Purpose.SERVER, seenByClient);
    try (SSLServerSocket listener = (SSLServerSocket) serverContext.getServerSocketFactory()
        .createServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      listener.setEnabledProtocols(new String[] {"TLSv1.3"});
      listener.setNeedClientAuth(true);
      CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
        try (SSLSocket socket = (SSLSocket) listener.accept()) {
          socket.startHandshake();
          socket.getOutputStream().write(1);
          socket.getOutputStream().flush();
          socket.getInputStream().read();
        } catch (IOException e) {
          throw new RuntimeException(e);
        }
      });
      try (SSLSocket socket = (SSLSocket) clientContext.getSocketFactory()
          .createSocket(InetAddress.getLoopbackAddress(), listener.getLocalPort())) {
        socket.setEnabledProtocols(new String[] {"TLSv1.3"});
        socket.setSoTimeout(10_000);
        socket.startHandshake();
        assertThat(socket.getSession().getProtocol()).isEqualTo("TLSv1.3");
        assertThat(socket.getInputStream().read()).isEqualTo(1);
        socket.getOutputStream().write(2);
        socket.getOutputStream().flush();
      } finally {
        try {
          accepted.get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // The client-side failure, if any, is what the caller asserts on.
        }
      }
    }
  }

  private SSLContext context(Credentials credentials, Purpose peerPurpose,
      AtomicReference<CpinIdentity> seen) throws Exception {
    char[] password = "test".toCharArray();
    KeyStore keyStore = KeyStore.getInstance("PKCS12");
    keyStore.load(null, null);
    keyStore.setKeyEntry("cpin", credentials.key(), password, credentials.chainArray());
    KeyManagerFactory keyManagers = KeyManagerFactory.getInstance("PKIX");
    keyManagers.init(keyStore, password);
    SSLContext context = SSLContext.getInstance("TLSv1.3");
    context.init(keyManagers.getKeyManagers(),
        new X509ExtendedTrustManager[] {new VerifyingTrustManager(peerPurpose, seen)}, null);
    return context;
  }

  /** A minimal CPIN trust manager: everything is decided by the verifier. */
  private final class VerifyingTrustManager extends X509ExtendedTrustManager {
    private final Purpose purpose;
    private final AtomicReference<CpinIdentity> seen;

    VerifyingTrustManager(Purpose purpose, AtomicReference<CpinIdentity> seen) {
      this.purpose = purpose;
      this.seen = seen;
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      seen.set(verifier.verify(chain, purpose));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return verifier.trustAnchors().toArray(X509Certificate[]::new);
    }
  }
}
