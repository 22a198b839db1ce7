package cn.cpin.conformance;

import cn.cpin.common.v1.AccessProto;
import cn.cpin.common.v1.CallerRole;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import com.google.protobuf.Descriptors;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.Optional;

/**
 * Which identity the suite presents to call an RPC, read from the RPC's standard access rule
 * ({@code cpin.common.v1.access}); the suite mints it with its test CA.
 */
final class Callers {
  private Callers() {}

  /**
   * A channel as an identity the RPC allows, or null if the suite cannot be one (a participant of
   * a particular kind, which the node knows only from its registrations).
   */
  static ManagedChannel allowedChannel(ConformanceTarget target,
      Descriptors.MethodDescriptor method) {
    if (!target.isMutualTls()) {
      return target.channel();
    }
    List<CallerRole> roles = method.getOptions().getExtension(AccessProto.access).getRolesList();
    NodeCode self = target.nodeCode();
    if (roles.contains(CallerRole.CALLER_ROLE_OPERATOR)) {
      return target.channelAs(CpinIdentity.operator(self));
    }
    if (roles.contains(CallerRole.CALLER_ROLE_CHILD_NODE)) {
      Optional<NodeCode> child = childOf(self);
      if (child.isPresent()) {
        return target.channelAs(CpinIdentity.node(child.get()));
      }
    }
    if (roles.contains(CallerRole.CALLER_ROLE_NODE) || roles.contains(CallerRole.CALLER_ROLE_ANY)) {
      return target.channelAs(CpinIdentity.node(otherNode(self)));
    }
    if (roles.contains(CallerRole.CALLER_ROLE_PARTICIPANT)) {
      return target.channelAs(participantOf(self));
    }
    if (roles.contains(CallerRole.CALLER_ROLE_ENROLLING)) {
      return target.channelWith(null);
    }
    return null;
  }

  /** A node that reports to {@code node}, if any can. */
  static Optional<NodeCode> childOf(NodeCode node) {
    if (node.isNational()) {
      return Optional.of(NodeCode.regional("11"));
    }
    if (node.isRegional()) {
      return Optional.of(NodeCode.industry(node.province().orElseThrow(), 'A'));
    }
    return Optional.empty();
  }

  /** Some node other than {@code node}, neither its parent nor its child. */
  static NodeCode otherNode(NodeCode node) {
    return node.province().map("65"::equals).orElse(false) ? NodeCode.regional("64")
        : NodeCode.regional("65");
  }

  /** A participant registered at {@code node} (the suite's own identity, never a real one). */
  static CpinIdentity participantOf(NodeCode node) {
    return CpinIdentity.participant(node, Identifier.of(node, IdentifierKind.PARTICIPANT, 1295L));
  }
}
