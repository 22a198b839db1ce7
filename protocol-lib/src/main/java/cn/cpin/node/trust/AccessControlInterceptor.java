package cn.cpin.node.trust;

import cn.cpin.common.v1.AccessProto;
import cn.cpin.common.v1.AccessRule;
import cn.cpin.common.v1.CallerRole;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The one place where callers are authenticated and authorised (SEC-006, SEC-007): the caller's
 * identity is the URI SAN of its TLS certificate, its roles follow from that identity and this
 * node's code, and each RPC's allowed roles come from the standard's {@code (cpin.common.v1.access)}
 * method option. Runs before request validation; the identity is then available to services as
 * {@link #CALLER}.
 *
 * <p>A connection's certificate chain is verified in full once and the result kept with its TLS
 * session; every call still re-checks revocation and expiry, so a revocation applies to calls on
 * connections opened before it. gRPC's own services (health, reflection) are open to any
 * authenticated caller.
 */
public final class AccessControlInterceptor implements ServerInterceptor {
  /** The authenticated caller of the current call; absent for token-authenticated enrollment. */
  public static final Context.Key<CpinIdentity> CALLER = Context.key("cpin-caller");

  private static final Set<CallerRole> GRPC_SERVICE_ROLES = EnumSet.of(CallerRole.CALLER_ROLE_ANY);

  private static final String VERIFIED = "cn.cpin.verified-peer";

  /** A chain verified once for a TLS session. */
  private record VerifiedPeer(CpinIdentity identity, X509Certificate[] chain) {}

  private final NodeCode self;
  private final CpinPeerVerifier verifier;
  private final java.util.function.Predicate<X509Certificate> revoked;
  private final java.time.Clock clock;
  private final ParticipantRoles participantRoles;
  private final Map<String, Set<CallerRole>> rules = new ConcurrentHashMap<>();

  public AccessControlInterceptor(NodeCode self, CpinPeerVerifier verifier,
      java.util.function.Predicate<X509Certificate> revoked, java.time.Clock clock,
      ParticipantRoles participantRoles) {
    this.self = self;
    this.verifier = verifier;
    this.revoked = revoked;
    this.clock = clock;
    this.participantRoles = participantRoles;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(ServerCall<ReqT, RespT> call,
      Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    Set<CallerRole> allowed = rules.computeIfAbsent(
        call.getMethodDescriptor().getFullMethodName(), n -> ruleOf(call.getMethodDescriptor()));
    SSLSession session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    X509Certificate[] chain = peerChain(session);
    if (chain == null) {
      if (allowed.contains(CallerRole.CALLER_ROLE_ENROLLING)) {
        return next.startCall(call, headers);
      }
      throw unauthenticated("a client certificate is required for "
          + call.getMethodDescriptor().getFullMethodName());
    }
    CpinIdentity caller = authenticate(session, chain);
    Set<CallerRole> held = rolesOf(caller);
    if (held.stream().noneMatch(allowed::contains)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
          caller.uri() + " (roles " + held + ") may not call "
              + call.getMethodDescriptor().getFullMethodName() + " (allowed: " + allowed + ")");
    }
    return Contexts.interceptCall(Context.current().withValue(CALLER, caller), call, headers,
        next);
  }

  private CpinIdentity authenticate(SSLSession session, X509Certificate[] chain) {
    if (session.getValue(VERIFIED) instanceof VerifiedPeer peer
        && java.util.Arrays.equals(peer.chain(), chain)) {
      java.time.Instant now = clock.instant();
      for (X509Certificate certificate : chain) {
        if (revoked.test(certificate)) {
          throw unauthenticated("client certificate refused: revoked");
        }
        if (now.isAfter(certificate.getNotAfter().toInstant().plus(CpinPeerVerifier.CLOCK_SKEW))) {
          throw unauthenticated("client certificate refused: expired");
        }
      }
      return peer.identity();
    }
    try {
      CpinIdentity identity = verifier.verify(chain, CpinPeerVerifier.Purpose.CLIENT);
      session.putValue(VERIFIED, new VerifiedPeer(identity, chain.clone()));
      return identity;
    } catch (CertificateException e) {
      throw unauthenticated("client certificate refused: " + e.getMessage());
    }
  }

  private static CpinException unauthenticated(String message) {
    return new CpinException(CpinException.Kind.UNAUTHENTICATED,
        ErrorReason.ERROR_REASON_UNAUTHENTICATED, message, Map.of());
  }

  /** The roles {@code caller} holds at this node (SEC-007). */
  public Set<CallerRole> rolesOf(CpinIdentity caller) {
    Set<CallerRole> roles = EnumSet.of(CallerRole.CALLER_ROLE_ANY);
    switch (caller.kind()) {
      case NODE -> {
        roles.add(CallerRole.CALLER_ROLE_NODE);
        if (caller.nodeCode().parent().map(self::equals).orElse(false)) {
          roles.add(CallerRole.CALLER_ROLE_CHILD_NODE);
        }
      }
      case OPERATOR -> {
        if (caller.nodeCode().equals(self)) {
          roles.add(CallerRole.CALLER_ROLE_OPERATOR);
        }
      }
      case PARTICIPANT -> {
        if (caller.nodeCode().equals(self)) {
          roles.add(CallerRole.CALLER_ROLE_PARTICIPANT);
          roles.addAll(participantRoles.rolesOf(caller.participantId().orElseThrow()));
        }
      }
    }
    return roles;
  }

  private static Set<CallerRole> ruleOf(MethodDescriptor<?, ?> method) {
    if (!(method.getSchemaDescriptor() instanceof ProtoMethodDescriptorSupplier supplier)
        || !method.getServiceName().startsWith("cpin.")) {
      return GRPC_SERVICE_ROLES;
    }
    AccessRule rule = supplier.getMethodDescriptor().getOptions()
        .getExtension(AccessProto.access);
    Set<CallerRole> roles = EnumSet.noneOf(CallerRole.class);
    roles.addAll(rule.getRolesList());
    return roles;
  }

  private static X509Certificate[] peerChain(SSLSession session) {
    if (session == null) {
      return null;
    }
    try {
      Certificate[] certificates = session.getPeerCertificates();
      X509Certificate[] chain = new X509Certificate[certificates.length];
      for (int i = 0; i < certificates.length; i++) {
        chain[i] = (X509Certificate) certificates[i];
      }
      return chain;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }
}
