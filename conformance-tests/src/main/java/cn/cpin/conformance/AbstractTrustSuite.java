package cn.cpin.conformance;

import cn.cpin.common.v1.AccessProto;
import cn.cpin.common.v1.CallerRole;
import cn.cpin.node.trust.CpinTrustManager;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.TestCertificates;
import cn.cpin.trust.v1.RevocationReason;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import cn.cpin.trust.v1.RevokeCertificateRequest;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.rpc.ErrorInfo;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.protobuf.StatusProto;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;

/**
 * The trust layer seen from outside (SEC-005, SEC-006, SEC-007, SEC-011, SEC-015): the node
 * refuses missing, foreign, expired, not-yet-valid, wrongly named and revoked client
 * certificates, enforces the access rule of every RPC, names itself correctly in its own
 * certificate, and speaks only TLS 1.2 or 1.3.
 *
 * <p>The suite presents certificates of its own test CA ({@link SuitePki}), which the node under
 * test trusts for the test only. Every check is skipped against a node in plaintext development
 * mode.
 *
 * <p>"Refused" means: the call fails with UNAUTHENTICATED and ErrorInfo reason UNAUTHENTICATED,
 * or the TLS handshake fails (UNAVAILABLE caused by an {@link SSLException}); it never succeeds.
 */
public abstract class AbstractTrustSuite extends ConformanceSuite {
  // SEC-011: refused on new calls within 60 s of the entry's appearance in the feed (a node may
  // poll ListRevocations every 60 s); measured from the RevokeCertificate answer.
  private static final Duration REVOCATION_BOUND = Duration.ofSeconds(60);
  private static final long POLL_MILLIS = 200;
  private static final int MAX_REPORTED = 8;
  private static final Set<CallerRole> PARTICIPANT_MAY = EnumSet.of(CallerRole.CALLER_ROLE_ANY,
      CallerRole.CALLER_ROLE_PARTICIPANT, CallerRole.CALLER_ROLE_PROVIDER,
      CallerRole.CALLER_ROLE_LINE_PROVIDER, CallerRole.CALLER_ROLE_RESELLER,
      CallerRole.CALLER_ROLE_USER, CallerRole.CALLER_ROLE_ENROLLING);
  private static final SecureRandom RANDOM = new SecureRandom();

  // ---------------------------------------------------------------- SEC-006: authentication

  @Check(requirements = "SEC-006",
      title = "a call without a client certificate is refused with UNAUTHENTICATED")
  void noClientCertificateRefused() {
    requireMutualTls();
    expectRefused("no client certificate", null);
  }

  @Check(requirements = "SEC-006", title = "a self-signed client certificate is refused")
  void selfSignedCertificateRefused() {
    requireMutualTls();
    expectRefused("a self-signed certificate of " + someNode().uri(),
        TestCertificates.selfSigned(someNode()));
  }

  @Check(requirements = "SEC-006",
      title = "a client certificate from a CA the node does not trust is refused")
  void foreignCaCertificateRefused() {
    requireMutualTls();
    CertificateAuthority foreignRoot = CertificateAuthority.createRoot(
        "CPIN conformance suite - an untrusted root", Duration.ofDays(1), Clock.systemUTC());
    expectRefused("a certificate of " + someNode().uri() + " issued by an untrusted root",
        TestCertificates.valid(foreignRoot, someNode(), Duration.ofHours(1)));
  }

  @Check(requirements = "SEC-006",
      title = "a client certificate that expired an hour ago is refused")
  void expiredCertificateRefused() {
    requireMutualTls();
    expectRefused("a certificate of " + someNode().uri() + " that expired 1 h ago",
        TestCertificates.expired(target().pki().root(), someNode(), Duration.ofHours(1)));
  }

  @Check(requirements = "SEC-006",
      title = "a client certificate that becomes valid only in an hour is refused")
  void notYetValidCertificateRefused() {
    requireMutualTls();
    expectRefused("a certificate of " + someNode().uri() + " valid only from 1 h from now",
        TestCertificates.notYetValid(target().pki().root(), someNode(), Duration.ofHours(1)));
  }

  // ---------------------------------------------------------------- SEC-005: identity

  @Check(requirements = {"SEC-005", "SEC-006"},
      title = "a client certificate with two URI SANs is refused")
  void twoUriSansRefused() {
    requireMutualTls();
    NodeCode self = target().nodeCode();
    // Two identities the issuer may name on its own, so that only the SAN count is wrong.
    String first = CpinIdentity.operator(self).uri();
    String second = self.isNational() ? CpinIdentity.node(self).uri()
        : Callers.participantOf(self).uri();
    expectRefused("a certificate with the two URI SANs " + first + " and " + second,
        TestCertificates.withUriSans(leafIssuer(self), first, second));
  }

  @Check(requirements = {"SEC-005", "SEC-006"},
      title = "a client certificate without URI SAN is refused")
  void noUriSanRefused() {
    requireMutualTls();
    expectRefused("a certificate without URI SAN",
        TestCertificates.withUriSans(leafIssuer(target().nodeCode())));
  }

  @Check(requirements = {"SEC-005", "SEC-006"},
      title = "a participant certificate issued by another node's issuing CA is refused")
  void participantOfForeignIssuerRefused() {
    requireMutualTls();
    NodeCode self = target().nodeCode();
    NodeCode foreign = Callers.otherNode(self);
    CpinIdentity participant = Callers.participantOf(self);
    expectRefused("a certificate of " + participant.uri() + " issued by the issuing CA of "
        + foreign + " (outside its name constraint)",
        TestCertificates.participantViaForeignIssuer(target().pki().root(), foreign,
            participant));
  }

  // ---------------------------------------------------------------- SEC-006: client side

  @Check(requirements = "SEC-006",
      title = "the node's server certificate has exactly one URI SAN, cpin://<its node code>")
  void serverCertificateNamesTheNode() {
    requireMutualTls();
    NodeCode reported = target().nodeCode();
    SSLSession session = sessionOfCall();
    Certificate[] peer;
    try {
      peer = session.getPeerCertificates();
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      throw new AssertionError("the TLS session has no server certificate: " + e.getMessage());
    }
    Assertions.check(peer.length > 0 && peer[0] instanceof X509Certificate,
        "the node presented no X.509 server certificate");
    X509Certificate leaf = (X509Certificate) peer[0];
    CpinIdentity server;
    try {
      server = CpinIdentity.fromCertificate(leaf);
    } catch (CertificateException e) {
      throw new AssertionError("server certificate " + leaf.getSubjectX500Principal()
          + " does not carry exactly one CPIN URI SAN: " + e.getMessage());
    }
    Assertions.equal("URI SAN of the server certificate (GetNodeInfo reports node code "
        + reported + ")", CpinIdentity.node(reported).uri(), server.uri());
  }

  // ---------------------------------------------------------------- SEC-015: TLS versions

  @Check(requirements = "SEC-015",
      title = "TLS 1.3 or 1.2 is negotiated with ALPN h2, and a TLS 1.1 ClientHello is refused")
  void onlyTls12OrLaterNegotiated() throws IOException {
    requireMutualTls();
    String negotiated = sessionOfCall().getProtocol();
    Assertions.check("TLSv1.3".equals(negotiated) || "TLSv1.2".equals(negotiated),
        "the gRPC connection negotiated " + negotiated + "; SEC-015 allows TLSv1.3 (or TLSv1.2)");

    InetSocketAddress address = ConformanceTarget.parse(target().endpoint());
    String alpn = alpnOfDefaultHandshake(address);
    Assertions.equal("ALPN protocol selected by the node for a client offering h2", "h2", alpn);

    // The JDK's client refuses to offer TLS 1.1, so the probe hand-writes the ClientHello; the
    // same hello offering TLS 1.2 must get a ServerHello, or the probe itself is not trusted.
    int control = serverHelloVersion(address, 0x0303);
    if (control != 0x0303) {
      throw new AssertionError("the node did not answer a plain TLS 1.2 ClientHello with a TLS "
          + "1.2 ServerHello (" + describe(control) + "), so TLS 1.1 refusal cannot be probed");
    }
    int answer = serverHelloVersion(address, 0x0302);
    Assertions.check(answer != 0x0302 && answer != 0x0301 && answer != 0x0300,
        "the node accepted a ClientHello offering at most TLS 1.1: " + describe(answer));
  }

  // ---------------------------------------------------------------- SEC-007: authorisation

  @Check(requirements = "SEC-007",
      title = "a participant calling an RPC its roles do not allow gets PERMISSION_DENIED "
          + "ROLE_NOT_ALLOWED")
  void participantDeniedRpcsItMayNotCall() {
    requireMutualTls();
    NodeCode self = target().nodeCode();
    List<String> failures = new ArrayList<>();
    int cases = 0;
    if (!self.isNational()) {
      // A participant registered here (not of any kind the suite could claim): denied every RPC
      // open to none of participant, any, a participant kind, or enrolling callers.
      CpinIdentity local = Callers.participantOf(self);
      ManagedChannel channel = target().channelAs(local);
      for (Rpc rpc : unaryRpcs()) {
        if (rpc.roles().stream().noneMatch(PARTICIPANT_MAY::contains)) {
          cases++;
          String problem = expectRoleNotAllowed(channel, rpc);
          if (problem != null) {
            failures.add(rpc.name() + " " + rpc.roles() + " as " + local.uri() + ": " + problem);
          }
        }
      }
    }
    // A participant of another node has only the role any here.
    CpinIdentity foreign = Callers.participantOf(Callers.otherNode(self));
    ManagedChannel channel = target().channelAs(foreign);
    for (Rpc rpc : unaryRpcs()) {
      if (!rpc.roles().contains(CallerRole.CALLER_ROLE_ANY)
          && !rpc.roles().contains(CallerRole.CALLER_ROLE_ENROLLING)) {
        cases++;
        String problem = expectRoleNotAllowed(channel, rpc);
        if (problem != null) {
          failures.add(rpc.name() + " " + rpc.roles() + " as " + foreign.uri() + ": " + problem);
        }
      }
    }
    report(cases, failures, "participants",
        "no unary RPC of this profile is closed to participants");
  }

  @Check(requirements = "SEC-007",
      title = "another node calling an operator-only RPC gets PERMISSION_DENIED ROLE_NOT_ALLOWED")
  void nodeDeniedOperatorOnlyRpcs() {
    requireMutualTls();
    NodeCode self = target().nodeCode();
    List<CpinIdentity> callers = new ArrayList<>();
    callers.add(CpinIdentity.node(Callers.otherNode(self)));
    if (self.isNational()) {
      // An industry node calling a national-only RPC (AllocateNodeCode).
      callers.add(CpinIdentity.node(NodeCode.industry("44", 'C')));
    }
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (Rpc rpc : unaryRpcs()) {
      if (!rpc.roles().equals(List.of(CallerRole.CALLER_ROLE_OPERATOR))) {
        continue;
      }
      for (CpinIdentity caller : callers) {
        cases++;
        String problem = expectRoleNotAllowed(target().channelAs(caller), rpc);
        if (problem != null) {
          failures.add(rpc.name() + " as " + caller.uri() + ": " + problem);
        }
      }
    }
    report(cases, failures, "nodes", "no unary RPC of this profile is open to the operator only");
  }

  // ---------------------------------------------------------------- SEC-011: revocation

  @Check(requirements = "SEC-011",
      title = "a certificate revoked in the national feed is refused on new calls within 60 s")
  void revokedCertificateRefusedWithinBound() throws Exception {
    requireMutualTls();
    InetSocketAddress national = target().national().orElseThrow(() -> new CheckSkipped(
        "no national node given (--national), so the suite cannot revoke a certificate"));
    NodeCode node = Callers.otherNode(target().nodeCode());
    CpinIdentity participant = CpinIdentity.participant(node, Identifier.of(node,
        IdentifierKind.PARTICIPANT, 1 + (RANDOM.nextLong() & 0x3fff_ffffL)));
    Credentials credentials = target().pki().credentials(participant);

    Ended before = getNodeInfo(credentials);
    Assertions.check(before.isOk(), "before revocation, " + participant.uri()
        + " (a valid participant certificate of the suite CA) could not call GetNodeInfo: "
        + describe(before.status()) + "; the node must trust the suite CA for the test");

    ManagedChannel revoker = NodeTls.channel(national,
        target().pki().credentials(CpinIdentity.node(node)), target().trustAnchors(),
        CpinIdentity.node(NodeCode.national()));
    try {
      RevocationServiceGrpc.newBlockingStub(revoker)
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .revokeCertificate(RevokeCertificateRequest.newBuilder()
              .setRequestId("conformance-revoke-" + UUID.randomUUID())
              .setCertificateDer(ByteString.copyFrom(credentials.leaf().getEncoded()))
              .setReason(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE)
              .build());
    } catch (StatusRuntimeException e) {
      throw new AssertionError("the national node " + national.getHostString() + ":"
          + national.getPort() + " did not revoke " + participant.uri() + " for its node "
          + node + ": " + describe(e.getStatus()) + " (the national node must trust the suite "
          + "CA for the test)");
    } finally {
      revoker.shutdownNow();
    }

    long start = System.nanoTime();
    Ended last;
    while (true) {
      last = getNodeInfo(credentials);
      String refusal = refusalProblem(last);
      long elapsed = System.nanoTime() - start;
      if (refusal == null) {
        return;
      }
      if (elapsed > REVOCATION_BOUND.toNanos()) {
        throw new AssertionError("the node still " + (last.isOk() ? "accepts" : "answers "
            + describe(last.status()) + " to") + " " + participant.uri() + " "
            + TimeUnit.NANOSECONDS.toMillis(elapsed) + " ms after the national node entered its "
            + "certificate in the revocation feed (SEC-011 allows "
            + REVOCATION_BOUND.toSeconds() + " s)");
      }
      Thread.sleep(POLL_MILLIS);
    }
  }

  // ---------------------------------------------------------------- helpers

  private void requireMutualTls() {
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; security checks "
          + "need mutual TLS");
    }
  }

  /**
   * The suite CA that issues operator and participant certificates of {@code node}: its issuing
   * CA, or the root itself for the national node (whose operator the root certifies).
   */
  private CertificateAuthority leafIssuer(NodeCode node) {
    return node.isNational() ? target().pki().root() : target().pki().issuingCa(node);
  }

  /** A node identity the suite's root certifies, neither the target nor its parent or child. */
  private CpinIdentity someNode() {
    return CpinIdentity.node(Callers.otherNode(target().nodeCode()));
  }

  /** Fails unless GetNodeInfo presenting {@code credentials} (null: none) is refused. */
  private void expectRefused(String what, Credentials credentials) {
    Ended ended = getNodeInfo(credentials);
    String problem = refusalProblem(ended);
    if (problem != null) {
      throw new AssertionError("GetNodeInfo with " + what + ": " + problem);
    }
  }

  /** How a call ended. */
  private record Ended(Status status, Metadata trailers) {
    boolean isOk() {
      return status.isOk();
    }
  }

  /** Calls GetNodeInfo on a new channel presenting {@code credentials}; returns how it ended. */
  private Ended getNodeInfo(Credentials credentials) {
    ManagedChannel channel = target().channelWith(credentials);
    try {
      NodeInfoServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .getNodeInfo(GetNodeInfoRequest.getDefaultInstance());
      return new Ended(Status.OK, new Metadata());
    } catch (StatusRuntimeException e) {
      return new Ended(e.getStatus(), e.getTrailers());
    } finally {
      channel.shutdownNow();
    }
  }

  /** Null if the call ended in a refusal by SEC-006, else what is wrong with how it ended. */
  private static String refusalProblem(Ended ended) {
    Status status = ended.status();
    if (status.isOk()) {
      return "the call succeeded; it must be refused (UNAUTHENTICATED or a TLS handshake "
          + "failure)";
    }
    if (status.getCode() == Status.Code.UNAVAILABLE && hasSslCause(status.getCause())) {
      return null;
    }
    if (status.getCode() != Status.Code.UNAUTHENTICATED) {
      return "expected UNAUTHENTICATED or a TLS handshake failure, got " + describe(status);
    }
    String reason = reasonOf(status, ended.trailers());
    if (!"UNAUTHENTICATED".equals(reason)) {
      return "UNAUTHENTICATED must carry ErrorInfo reason UNAUTHENTICATED in domain "
          + StatusMapping.DOMAIN + ", got " + (reason == null ? "no ErrorInfo" : reason);
    }
    return null;
  }

  private static boolean hasSslCause(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof SSLException) {
        return true;
      }
    }
    return false;
  }

  /** The ErrorInfo reason in domain cpin.cn of the status details in the trailers, or null. */
  private static String reasonOf(Status status, Metadata trailers) {
    if (trailers == null) {
      return null;
    }
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(status, trailers);
    for (com.google.protobuf.Any any : details.getDetailsList()) {
      if (any.is(ErrorInfo.class)) {
        try {
          ErrorInfo info = any.unpack(ErrorInfo.class);
          if (StatusMapping.DOMAIN.equals(info.getDomain())) {
            return info.getReason();
          }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          return null;
        }
      }
    }
    return null;
  }

  private static String describe(Status status) {
    if (status.isOk()) {
      return "OK";
    }
    StringBuilder out = new StringBuilder(status.getCode().toString());
    if (status.getDescription() != null) {
      out.append(" (").append(status.getDescription()).append(')');
    }
    return out.toString();
  }

  private static void report(int cases, List<String> failures, String who, String whyNone) {
    if (cases == 0) {
      throw new CheckSkipped(whyNone);
    }
    if (!failures.isEmpty()) {
      throw new AssertionError(failures.size() + " of " + cases + " calls by " + who
          + " were not denied: " + String.join("; ",
              failures.subList(0, Math.min(MAX_REPORTED, failures.size())))
          + (failures.size() > MAX_REPORTED ? "; …" : ""));
    }
  }

  /** One unary RPC of the profile with its standard access rule. */
  private record Rpc(String name, List<CallerRole> roles,
      MethodDescriptor<DynamicMessage, DynamicMessage> descriptor,
      Descriptors.Descriptor input) {}

  private List<Rpc> unaryRpcs() {
    List<Rpc> rpcs = new ArrayList<>();
    for (ServiceDescriptor service : target().profile().services()) {
      for (MethodDescriptor<?, ?> method : service.getMethods()) {
        if (method.getType() != MethodDescriptor.MethodType.UNARY
            || !(method.getSchemaDescriptor() instanceof ProtoMethodDescriptorSupplier s)) {
          continue;
        }
        Descriptors.MethodDescriptor proto = s.getMethodDescriptor();
        rpcs.add(new Rpc(method.getFullMethodName(),
            proto.getOptions().getExtension(AccessProto.access).getRolesList(),
            MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                .setType(MethodDescriptor.MethodType.UNARY)
                .setFullMethodName(method.getFullMethodName())
                .setRequestMarshaller(ProtoUtils.marshaller(
                    DynamicMessage.getDefaultInstance(proto.getInputType())))
                .setResponseMarshaller(ProtoUtils.marshaller(
                    DynamicMessage.getDefaultInstance(proto.getOutputType())))
                .build(),
            proto.getInputType()));
      }
    }
    return rpcs;
  }

  /** Sends an empty request; null if PERMISSION_DENIED with reason ROLE_NOT_ALLOWED came back. */
  private String expectRoleNotAllowed(Channel channel, Rpc rpc) {
    CompletableFuture<Object[]> closed = new CompletableFuture<>();
    ClientCall<DynamicMessage, DynamicMessage> call = channel.newCall(rpc.descriptor(),
        CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(new Object[] {status, trailers});
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(DynamicMessage.getDefaultInstance(rpc.input()));
    call.halfClose();
    Object[] result;
    try {
      result = closed.get(deadlineMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      call.cancel("conformance check gave up", e);
      return "no answer within the deadline";
    }
    Status status = (Status) result[0];
    if (status.getCode() != Status.Code.PERMISSION_DENIED) {
      return "expected PERMISSION_DENIED (ROLE_NOT_ALLOWED), got " + describe(status);
    }
    String reason = reasonOf(status, (Metadata) result[1]);
    if (!"ROLE_NOT_ALLOWED".equals(reason)) {
      return "PERMISSION_DENIED must carry ErrorInfo reason ROLE_NOT_ALLOWED in domain "
          + StatusMapping.DOMAIN + ", got " + (reason == null ? "no ErrorInfo" : reason);
    }
    return null;
  }

  /** The TLS session of a successful GetNodeInfo call as the suite's node identity. */
  private SSLSession sessionOfCall() {
    AtomicReference<SSLSession> session = new AtomicReference<>();
    ClientInterceptor capture = new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method,
          CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            ClientCall<Q, R> self = this;
            super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
                listener) {
              @Override
              public void onHeaders(Metadata h) {
                session.compareAndSet(null,
                    self.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                super.onHeaders(h);
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                session.compareAndSet(null,
                    self.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
                super.onClose(status, trailers);
              }
            }, headers);
          }
        };
      }
    };
    ManagedChannel channel = target().channelAs(someNode());
    try {
      NodeInfoServiceGrpc.newBlockingStub(ClientInterceptors.intercept(channel, capture))
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .getNodeInfo(GetNodeInfoRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw new AssertionError("GetNodeInfo as " + someNode().uri() + " failed: "
          + describe(e.getStatus()));
    }
    Assertions.check(session.get() != null, "the gRPC call exposes no TLS session");
    return session.get();
  }

  /** The ALPN protocol the node selects in a JDK handshake offering h2 (no client certificate). */
  private String alpnOfDefaultHandshake(InetSocketAddress address) throws IOException {
    try {
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, new TrustManager[] {CpinTrustManager.forClient(
          new CpinPeerVerifier(target().trustAnchors(), Clock.systemUTC()), null)}, null);
      try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket()) {
        socket.connect(address, (int) deadlineMillis());
        socket.setSoTimeout((int) deadlineMillis());
        SSLParameters parameters = socket.getSSLParameters();
        parameters.setApplicationProtocols(new String[] {"h2"});
        parameters.setProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
        socket.setSSLParameters(parameters);
        socket.startHandshake();
        return socket.getApplicationProtocol();
      }
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot set up a TLS probe: " + e.getMessage(), e);
    }
  }

  // The answer to a hand-written ClientHello: the version of the ServerHello, or a negative code.
  private static final int ALERT = -1;
  private static final int CLOSED = -2;
  private static final int OTHER = -3;

  private static String describe(int answer) {
    return switch (answer) {
      case ALERT -> "a TLS alert";
      case CLOSED -> "the connection was closed";
      case OTHER -> "an unexpected record";
      default -> String.format("a ServerHello of version 0x%04x", answer);
    };
  }

  /**
   * Sends a ClientHello whose highest version is {@code version} (0x0302 TLS 1.1, 0x0303 TLS 1.2;
   * no supported_versions extension, so no TLS 1.3) and returns the version of the node's
   * ServerHello, or {@link #ALERT}, {@link #CLOSED} or {@link #OTHER}.
   */
  private int serverHelloVersion(InetSocketAddress address, int version) throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(address, (int) deadlineMillis());
      socket.setSoTimeout((int) deadlineMillis());
      OutputStream out = socket.getOutputStream();
      out.write(clientHello(version));
      out.flush();
      DataInputStream in = new DataInputStream(socket.getInputStream());
      int type;
      try {
        type = in.readUnsignedByte();
        in.readUnsignedShort(); // record version
        int length = in.readUnsignedShort();
        if (type == 0x15) {
          return ALERT;
        }
        if (type != 0x16 || length < 6) {
          return OTHER;
        }
        int handshakeType = in.readUnsignedByte();
        in.readUnsignedByte();
        in.readUnsignedShort(); // handshake length
        if (handshakeType != 0x02) {
          return OTHER;
        }
        return in.readUnsignedShort();
      } catch (EOFException | java.net.SocketException e) {
        return CLOSED;
      }
    }
  }

  private static byte[] clientHello(int version) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    u16(body, version);
    byte[] random = new byte[32];
    RANDOM.nextBytes(random);
    body.writeBytes(random);
    body.write(0); // no session id
    int[] suites = {
        0xC02B, 0xC02F, 0xC02C, 0xC030, // ECDHE ECDSA/RSA AES-GCM (TLS 1.2)
        0xC009, 0xC013, 0xC00A, 0xC014, // ECDHE ECDSA/RSA AES-CBC-SHA (TLS 1.0/1.1)
        0x002F, 0x0035, 0x00FF};        // RSA AES-CBC-SHA, renegotiation SCSV
    u16(body, suites.length * 2);
    for (int s : suites) {
      u16(body, s);
    }
    body.write(1); // compression methods
    body.write(0); // null
    ByteArrayOutputStream extensions = new ByteArrayOutputStream();
    extension(extensions, 0x000A, new int[] {0x001D, 0x0017, 0x0018}, null); // groups
    extension(extensions, 0x000B, null, new byte[] {1, 0}); // ec_point_formats: uncompressed
    extension(extensions, 0x000D, new int[] {0x0403, 0x0503, 0x0804, 0x0805, 0x0401,
        0x0501, 0x0807, 0x0201, 0x0203}, null); // signature_algorithms
    extension(extensions, 0x0010, null, new byte[] {0, 3, 2, 'h', '2'}); // ALPN h2
    u16(body, extensions.size());
    body.writeBytes(extensions.toByteArray());

    ByteArrayOutputStream handshake = new ByteArrayOutputStream();
    handshake.write(0x01); // ClientHello
    handshake.write(0);
    u16(handshake, body.size());
    handshake.writeBytes(body.toByteArray());
    ByteArrayOutputStream record = new ByteArrayOutputStream();
    record.write(0x16);
    u16(record, 0x0301);
    u16(record, handshake.size());
    record.writeBytes(handshake.toByteArray());
    return record.toByteArray();
  }

  // An extension holding either a length-prefixed list of u16 values or raw bytes.
  private static void extension(ByteArrayOutputStream out, int type, int[] list, byte[] raw) {
    u16(out, type);
    if (list != null) {
      u16(out, list.length * 2 + 2);
      u16(out, list.length * 2);
      for (int value : list) {
        u16(out, value);
      }
    } else {
      u16(out, raw.length);
      out.writeBytes(raw);
    }
  }

  private static void u16(ByteArrayOutputStream out, int value) {
    out.write((value >> 8) & 0xFF);
    out.write(value & 0xFF);
  }

}
