package cn.cpin.node.trust;

import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.util.Objects;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManager;

/**
 * A node's TLS: its current credentials, behind a key manager that can swap them without a restart
 * (SEC-009), and the verifier that judges peers. Servers and clients built from it use TLS 1.3,
 * or 1.2 at least (SEC-015), and mutual authentication.
 *
 * <p>Thread-safe: {@link #update} takes effect on the next handshake of every server and channel
 * built from this instance.
 */
public final class NodeTls {
  private static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};
  /**
   * BoringSSL (netty-tcnative) where it loads, about twice the gRPC throughput per CPU
   * (docs/benchmarks.md); the JDK's TLS otherwise or with {@code -Dcpin.tls=jdk}. Same protocols,
   * certificates and checks; refusals reach the peer as certificate alerts on both.
   */
  static final SslProvider PROVIDER = !"jdk".equals(System.getProperty("cpin.tls"))
      && OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;

  private final AdvancedTlsX509KeyManager keyManager = new AdvancedTlsX509KeyManager();
  private final CpinPeerVerifier verifier;
  private volatile Credentials credentials;

  public NodeTls(Credentials credentials, CpinPeerVerifier verifier) {
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    update(credentials);
  }

  /** Presents {@code next} from the next handshake on. */
  public void update(Credentials next) {
    keyManager.updateIdentityCredentials(next.chain().toArray(new X509Certificate[0]), next.key());
    this.credentials = next;
  }

  public Credentials credentials() {
    return credentials;
  }

  public CpinPeerVerifier verifier() {
    return verifier;
  }

  /**
   * The server side: a client certificate is optional at the handshake so that the enrollment RPCs
   * work without one; every other RPC is refused without it by the access control interceptor.
   */
  public SslContext serverContext() throws SSLException {
    return serverContext((peer, reason) -> { });
  }

  /** As {@link #serverContext()}, telling {@code refusals} of every client certificate refused. */
  public SslContext serverContext(CpinTrustManager.Refusals refusals) throws SSLException {
    return GrpcSslContexts.configure(SslContextBuilder.forServer(keyManager), PROVIDER)
        .trustManager(CpinTrustManager.forServer(verifier, refusals))
        .clientAuth(ClientAuth.OPTIONAL)
        .protocols(PROTOCOLS)
        .build();
  }

  /** A channel to the node or participant that must present {@code server}'s identity. */
  public ManagedChannel channel(InetSocketAddress address, CpinIdentity server)
      throws SSLException {
    return NettyChannelBuilder.forAddress(address)
        .sslContext(clientContext(keyManager, CpinTrustManager.forClient(verifier, server)))
        .build();
  }

  /**
   * A one-off channel for a tool or test that calls as {@code client} (e.g. an operator) and
   * expects {@code server}; {@code client} may be null to call without a certificate.
   */
  public static ManagedChannel channel(InetSocketAddress address, Credentials client,
      java.util.Collection<X509Certificate> anchors, CpinIdentity server) throws SSLException {
    AdvancedTlsX509KeyManager keys = null;
    if (client != null) {
      keys = new AdvancedTlsX509KeyManager();
      keys.updateIdentityCredentials(client.chain().toArray(new X509Certificate[0]),
          client.key());
    }
    CpinPeerVerifier verifier = new CpinPeerVerifier(anchors, java.time.Clock.systemUTC());
    return NettyChannelBuilder.forAddress(address)
        .sslContext(clientContext(keys, CpinTrustManager.forClient(verifier, server)))
        .build();
  }

  /**
   * A client context; {@code keyManager} may be null for the calls made before a node has a
   * certificate (enrollment).
   */
  public static SslContext clientContext(javax.net.ssl.KeyManager keyManager,
      TrustManager trustManager) throws SSLException {
    SslContextBuilder builder = GrpcSslContexts.configure(SslContextBuilder.forClient(),
        PROVIDER).trustManager(trustManager).protocols(PROTOCOLS);
    if (keyManager != null) {
      builder.keyManager(keyManager);
    }
    return builder.build();
  }
}
