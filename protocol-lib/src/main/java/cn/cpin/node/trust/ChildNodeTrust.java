package cn.cpin.node.trust;

import cn.cpin.protocol.Sha256;
import cn.cpin.node.NodeContext;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.trust.v1.EnrollNodeRequest;
import cn.cpin.trust.v1.EnrollNodeResponse;
import cn.cpin.trust.v1.EnrollmentServiceGrpc;
import cn.cpin.trust.v1.RenewNodeCertificateRequest;
import cn.cpin.trust.v1.RenewNodeCertificateResponse;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * The TLS identity of a regional or industry node: enrolled once with the national node using the
 * one-time token its operator received (SEC-002), renewed there (SEC-009), and kept current with
 * the national revocation feed (SEC-011).
 */
public final class ChildNodeTrust implements NodeTrust {
  private static final Duration ENROLL_PATIENCE = Duration.ofSeconds(60);
  private static final Duration OPERATOR_VALIDITY = Duration.ofDays(30);

  private final NodeContext context;
  private final CredentialFiles files;
  private final InetSocketAddress national;
  private volatile List<X509Certificate> anchors;
  private final Credentials initial;
  private ManagedChannel nationalChannel;
  private ManagedChannel parentChannel;
  private volatile NodeTls tls;
  private RevocationFollower follower;

  private ChildNodeTrust(NodeContext context, CredentialFiles files, InetSocketAddress national,
      List<X509Certificate> anchors, Credentials initial) {
    this.context = context;
    this.files = files;
    this.national = national;
    this.anchors = anchors;
    this.initial = initial;
  }

  /** Loads the node's credentials, enrolling first if it has none. */
  public static ChildNodeTrust open(NodeContext context) throws Exception {
    InetSocketAddress national = context.nationalEndpoint().orElseThrow(() ->
        new IllegalArgumentException("--national is required: the national node's endpoint for "
            + "enrollment, renewal and revocations"));
    CredentialFiles files = new CredentialFiles(context.dataDirectory());
    if (files.hasNodeCredentials()) {
      return new ChildNodeTrust(context, files, national, files.trustAnchors(),
          files.nodeCredentials());
    }
    if (context.options().enrollmentTokenFile() == null
        || context.options().trustAnchor() == null) {
      throw new IllegalArgumentException("node " + context.nodeCode() + " is not enrolled yet: "
          + "its first start needs --enrollment-token-file and --trust-anchor");
    }
    String token = Files.readString(context.options().enrollmentTokenFile(),
        StandardCharsets.UTF_8).trim();
    List<X509Certificate> anchors =
        KeyMaterial.readCertificates(context.options().trustAnchor());
    ChildNodeTrust trust = new ChildNodeTrust(context, files, national, anchors,
        enroll(context, files, national, anchors, token));
    return trust;
  }

  private static Credentials enroll(NodeContext context, CredentialFiles files,
      InetSocketAddress national, List<X509Certificate> anchors, String token) throws Exception {
    KeyPair nodeKey = KeyMaterial.generateKeyPair();
    KeyPair caKey = KeyMaterial.generateKeyPair();
    EnrollNodeRequest request = EnrollNodeRequest.newBuilder()
        // Derived from the token, so a retry after a lost answer is the same request (GEN-003).
        .setRequestId("enroll-" + context.nodeCode() + "-" + Sha256.hex(token).substring(0, 16))
        .setNodeCode(context.nodeCode().toString())
        .setEnrollmentToken(token)
        .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(nodeKey,
            context.nodeCode().toString())))
        .setIssuingCaCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(caKey,
            context.nodeCode() + " issuing CA")))
        .build();
    CpinPeerVerifier verifier = new CpinPeerVerifier(anchors, context.clock());
    ManagedChannel channel = NettyChannelBuilder.forAddress(national)
        .sslContext(NodeTls.clientContext(null,
            CpinTrustManager.forClient(verifier, CpinIdentity.node(NodeCode.national()))))
        .build();
    EnrollNodeResponse response;
    try {
      response = callPatiently(() -> EnrollmentServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS).enrollNode(request));
    } finally {
      channel.shutdownNow();
    }
    List<X509Certificate> granted = CertificateChains.trustAnchors(
        response.getCertificateChain());
    Credentials node = new Credentials(nodeKey.getPrivate(),
        CertificateChains.certificates(response.getCertificateChain()));
    Credentials issuing = new Credentials(caKey.getPrivate(),
        CertificateChains.certificates(response.getIssuingCaChain()));
    files.saveTrustAnchors(granted.isEmpty() ? anchors : granted);
    files.saveFilingLogKey(response.getFilingLogPublicKeyDer().toByteArray());
    files.saveIssuingCa(issuing);
    files.saveNodeCredentials(node);
    saveOperator(context, files, issuing, granted.isEmpty() ? anchors : granted);
    context.events().info("node.enrolled", "national", national.getHostString() + ":"
        + national.getPort(), "serial", node.chain().get(0).getSerialNumber().toString(16),
        "not_after", node.chain().get(0).getNotAfter().toInstant());
    return node;
  }

  // The operator's own certificate, for the node's operator tools (cpin://<code>/operator).
  private static void saveOperator(NodeContext context, CredentialFiles files,
      Credentials issuing, List<X509Certificate> anchors) throws Exception {
    KeyPair operatorKey = KeyMaterial.generateKeyPair();
    CertificateAuthority ca = CertificateAuthority.of(issuing.chain().get(0),
        issuing.chain().subList(1, issuing.chain().size()), issuing.key());
    X509Certificate leaf = ca.issueLeaf(CpinIdentity.operator(context.nodeCode()),
        operatorKey.getPublic(), OPERATOR_VALIDITY);
    List<X509Certificate> chain = new java.util.ArrayList<>();
    chain.add(leaf);
    chain.addAll(issuing.chain());
    files.saveOperatorCredentials(new Credentials(operatorKey.getPrivate(), chain), anchors);
  }

  @Override
  public Credentials credentials() {
    return initial;
  }

  @Override
  public List<X509Certificate> trustAnchors() {
    return anchors;
  }

  @Override
  public Optional<Credentials> issuingCa() {
    return files.issuingCa();
  }

  @Override
  public CertificateRenewer.Renewal renewal() {
    return current -> {
      KeyPair nodeKey = KeyMaterial.generateKeyPair();
      KeyPair caKey = KeyMaterial.generateKeyPair();
      RenewNodeCertificateResponse response = EnrollmentServiceGrpc
          .newBlockingStub(nationalChannel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .renewNodeCertificate(RenewNodeCertificateRequest.newBuilder()
              .setRequestId("renew-" + UUID.randomUUID())
              .setNodeCode(context.nodeCode().toString())
              .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(nodeKey,
                  context.nodeCode().toString())))
              .setIssuingCaCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(caKey,
                  context.nodeCode() + " issuing CA")))
              .build());
      if (response.hasIssuingCaChain()) {
        Credentials issuing = new Credentials(caKey.getPrivate(),
            CertificateChains.certificates(response.getIssuingCaChain()));
        files.saveIssuingCa(issuing);
        saveOperator(context, files, issuing, anchors);
      }
      Credentials renewed = new Credentials(nodeKey.getPrivate(),
          CertificateChains.certificates(response.getCertificateChain()));
      files.saveNodeCredentials(renewed);
      return renewed;
    };
  }

  @Override
  public void started(NodeTls tls) throws Exception {
    this.tls = tls;
    nationalChannel = tls.channel(national, CpinIdentity.node(NodeCode.national()));
    InetSocketAddress parent = context.parentEndpoint().orElse(national);
    parentChannel = parent.equals(national) ? nationalChannel
        : tls.channel(parent, CpinIdentity.node(context.nodeCode().parent().orElseThrow()));
    follower = new RevocationFollower(nationalChannel, context.revocations(), context.events());
    follower.start();
  }

  /** The channel to the national node, as this node; available once the node serves. */
  public ManagedChannel nationalChannel() {
    if (nationalChannel == null) {
      throw new IllegalStateException("the node is not serving yet");
    }
    return nationalChannel;
  }

  /** The channel to the node this node reports to (--parent), as this node; once it serves. */
  public ManagedChannel parentChannel() {
    if (parentChannel == null) {
      throw new IllegalStateException("the node is not serving yet");
    }
    return parentChannel;
  }

  /**
   * A new channel to {@code node} at {@code address}, as this node, that renews with it; the
   * caller shuts it down. Available once the node serves.
   */
  public ManagedChannel channelTo(InetSocketAddress address, NodeCode node)
      throws javax.net.ssl.SSLException {
    if (tls == null) {
      throw new IllegalStateException("the node is not serving yet");
    }
    return tls.channel(address, CpinIdentity.node(node));
  }

  /** The national filing log's public key, received at enrollment (IDN-018). */
  public java.security.PublicKey filingLogKey() {
    return files.filingLogKey().orElseThrow(() -> new IllegalStateException(
        "no filing log key in " + files.pkiDirectory() + "; enroll again"));
  }

  @Override
  public void close() {
    if (follower != null) {
      follower.close();
    }
    if (nationalChannel != null) {
      nationalChannel.shutdownNow();
    }
    if (parentChannel != null && parentChannel != nationalChannel) {
      parentChannel.shutdownNow();
    }
  }

  // The national node may still be starting: retry UNAVAILABLE for a while.
  private static <T> T callPatiently(java.util.function.Supplier<T> call)
      throws InterruptedException {
    long deadline = System.nanoTime() + ENROLL_PATIENCE.toNanos();
    while (true) {
      try {
        return call.get();
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.UNAVAILABLE || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(500);
      }
    }
  }

}
