package cn.cpin.node;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.IdentifierKind;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.Identifier;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Where a node's systems get unified identifiers for what they register (flow 2): a regional
 * node from its own identifier library, an industry node from its regional node (IDN-008).
 * Issuing is idempotent by request id, so a caller retries with the same one.
 */
@FunctionalInterface
public interface IdentifierIssuer {
  /**
   * Issues an identifier of {@code kind} under this node's code.
   *
   * @param ownerId the owning participant, or empty for a participant
   */
  Identifier issue(String requestId, cn.cpin.protocol.identifier.IdentifierKind kind,
      String ownerId, Map<String, String> attributes);

  /** An industry node's issuer: its regional node's IdentifierService, called as this node. */
  static IdentifierIssuer throughParent(Supplier<ManagedChannel> parent) {
    return (requestId, kind, ownerId, attributes) -> {
      try {
        return Identifier.parse(IdentifierServiceGrpc.newBlockingStub(parent.get())
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .issueIdentifier(IssueIdentifierRequest.newBuilder()
                .setRequestId(requestId)
                .setKind(IdentifierKind.forNumber(kind.number()))
                .setOwnerId(ownerId)
                .putAllAttributes(attributes)
                .build())
            .getRecord().getIdentifier());
      } catch (StatusRuntimeException e) {
        Status.Code code = e.getStatus().getCode();
        if (code == Status.Code.UNAVAILABLE || code == Status.Code.DEADLINE_EXCEEDED) {
          throw new CpinException(CpinException.Kind.UNAVAILABLE,
              ErrorReason.ERROR_REASON_UPSTREAM_UNAVAILABLE, "the regional node that issues this "
                  + "node's identifiers is unreachable (" + code + "); retry later", Map.of());
        }
        // Anything else is a fault between two nodes, not the caller's: logged as internal.
        throw new IllegalStateException("the regional node refused an identifier: "
            + e.getStatus(), e);
      }
    };
  }
}
