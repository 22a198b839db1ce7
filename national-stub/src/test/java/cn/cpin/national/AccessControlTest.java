package cn.cpin.national;

import static cn.cpin.national.TrustNodes.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.AllocateNodeCodeResponse;
import cn.cpin.identifier.v1.NodeCodeServiceGrpc;
import cn.cpin.identifier.v1.NodeCodeStatus;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.trust.v1.ListRevocationsRequest;
import cn.cpin.trust.v1.ListRevocationsResponse;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SEC-006 and SEC-007 at the national node: each RPC admits only the roles the standard's access
 * rules list, whatever valid CPIN certificate the caller presents.
 */
class AccessControlTest {
  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();


  @Test
  void nationalNodeAdmitsOnlyTheRolesOfEachRpc() throws Exception {
    TrustNodes.Node national = nodes.startNational();
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));
    TrustNodes.Node industry = nodes.startChild(NodeProfile.INDUSTRY, "86.44.C",
        regional.endpoint(), nodes.allocate("86.44.C"));
    nodes.assertServing(industry);
    Credentials participant = nodes.issueParticipantCertificate(regional,
        nodes.approvedParticipant(regional));

    // ListRevocations is node-only: a participant of 86.44 has only the role "any" at 86.
    ManagedChannel asParticipant = nodes.channel(national, participant);
    assertFails(() -> listRevocations(asParticipant), Status.Code.PERMISSION_DENIED,
        ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED);
    // ... which any node may call, an industry node included.
    ManagedChannel asIndustry = nodes.channel(national, industry.nodeCredentials());
    assertThat(listRevocations(asIndustry).getLatestSequenceNumber()).isZero();
    // ... and a caller without a client certificate is not authenticated at all.
    ManagedChannel anonymous = nodes.channel(national, null);
    assertFails(() -> listRevocations(anonymous), Status.Code.UNAUTHENTICATED,
        ErrorReason.ERROR_REASON_UNAUTHENTICATED);

    // AllocateNodeCode is for the national operator only: not a node, not another operator.
    assertFails(() -> allocate86_31(asIndustry), Status.Code.PERMISSION_DENIED,
        ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED);
    ManagedChannel asRegionalOperator = nodes.channel(national, regional.operatorCredentials());
    assertFails(() -> allocate86_31(asRegionalOperator), Status.Code.PERMISSION_DENIED,
        ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED);
    AllocateNodeCodeResponse allocated = allocate86_31(nodes.operatorChannel(national));
    assertThat(allocated.getAllocation().getNodeCode()).isEqualTo("86.31");
    assertThat(allocated.getAllocation().getStatus())
        .isEqualTo(NodeCodeStatus.NODE_CODE_STATUS_ALLOCATED);
    assertThat(allocated.getEnrollmentToken()).isNotEmpty();
  }

  private static ListRevocationsResponse listRevocations(ManagedChannel channel) {
    return RevocationServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .listRevocations(ListRevocationsRequest.getDefaultInstance());
  }

  private static AllocateNodeCodeResponse allocate86_31(ManagedChannel channel) {
    return NodeCodeServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .allocateNodeCode(TrustNodes.allocateRequest("86.31"));
  }
}
