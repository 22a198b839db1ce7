package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.TimeWindow;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.monitoring.v1.MonitoringQueryServiceGrpc;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.SuspendParticipantRequest;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.KeyPair;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * MON-002 (category 11) and MON-010 end to end, with real nodes and real mutual TLS: each security
 * situation a regional node can observe is provoked there, and found at the national node after
 * the uplink carried it: a client certificate from a foreign CA refused at the handshake, calls
 * without a certificate (UNAUTHENTICATED, three of them: repeated authentication failures), a
 * participant calling an operator-only RPC (PERMISSION_DENIED), a participant certificate issued,
 * and the participant suspended.
 */
class SecurityMonitoringTest {
  private static final String SUSPEND_RPC =
      "cpin.servicecenter.v1.ParticipantService/SuspendParticipant";

  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();


  @Test
  void securityEventsOfARegionalNodeReachTheNationalNode() throws Exception {
    TrustNodes.Node national = nodes.startNational();
    List<String> args = new ArrayList<>(nodes.childArgs("86.44", national.endpoint(),
        nodes.allocate("86.44")));
    args.addAll(List.of("--monitoring-interval", "PT0.5S"));
    TrustNodes.Node regional = nodes.start("86.44", TrustNodes.childKind(NodeProfile.REGIONAL),
        args);
    nodes.assertServing(regional);

    Identifier participant = nodes.approvedParticipant(regional);
    Credentials participantCredentials = nodes.issueParticipantCertificate(regional, participant);
    // PERMISSION_DENIED: a participant may not suspend anyone.
    assertThatThrownBy(() -> suspend(nodes.channel(regional, participantCredentials),
        participant, "denied-1"))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.PERMISSION_DENIED));
    // UNAUTHENTICATED three times from one peer: no client certificate.
    ManagedChannel anonymous = nodes.channel(regional, null);
    for (int i = 0; i < 3; i++) {
      String requestId = "anonymous-" + i;
      assertThatThrownBy(() -> suspend(anonymous, participant, requestId))
          .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
              .isEqualTo(Status.Code.UNAUTHENTICATED));
    }
    // A certificate of a CA the node does not trust: refused at the TLS handshake.
    CertificateAuthority rogue = CertificateAuthority.createRoot("rogue root",
        Duration.ofDays(30), Clock.systemUTC());
    KeyPair key = KeyMaterial.generateKeyPair();
    Credentials foreign = new Credentials(key.getPrivate(), List.of(
        rogue.issueNodeCertificate(NodeCode.parse("86.44.C"), key.getPublic(),
            Duration.ofDays(1)), rogue.certificate()));
    assertThatThrownBy(() -> suspend(nodes.channel(regional, foreign), participant, "rogue-1"))
        .isInstanceOf(StatusRuntimeException.class);
    // The node's operator suspends the participant.
    suspend(nodes.channel(regional, regional.operatorCredentials()), participant, "suspend-1");

    ManagedChannel operator = nodes.operatorChannel(national);
    awaitAtNational(operator, "a refused handshake, counted by reason",
        p -> p.getIndicator().equals("security.connections.refused")
            && "invalid_certificate".equals(p.getAttributesMap().get("reason")));
    awaitAtNational(operator, "calls without a certificate, counted by reason",
        p -> p.getIndicator().equals("security.connections.refused")
            && "no_certificate".equals(p.getAttributesMap().get("reason")));
    awaitAtNational(operator, "the denied call, counted by rpc",
        p -> p.getIndicator().equals("security.calls.denied")
            && SUSPEND_RPC.equals(p.getAttributesMap().get("rpc")));
    awaitAtNational(operator, "repeated authentication failures from one peer",
        p -> p.getEvent().getEventType().equals("security.authentication_failures")
            && "127.0.0.1".equals(p.getAttributesMap().get("peer")));
    awaitAtNational(operator, "the participant certificate issued",
        p -> p.getEvent().getEventType().equals("security.certificate_issued")
            && participant.toString().equals(p.getAttributesMap().get("participant_id")));
    awaitAtNational(operator, "the participant suspended",
        p -> p.getEvent().getEventType().equals("security.participant_suspended")
            && participant.toString().equals(p.getAttributesMap().get("participant_id")));
    List<DataPoint> security = securityPointsAtNational(operator);
    double noCertificate = security.stream()
        .filter(p -> p.getIndicator().equals("security.connections.refused")
            && "no_certificate".equals(p.getAttributesMap().get("reason")))
        .mapToDouble(p -> p.getCounter().getValue()).sum();
    assertThat(noCertificate).as("each refused call counted once").isEqualTo(3);
    assertThat(security).allSatisfy(p -> {
      assertThat(p.getSourceNodeCode()).isEqualTo("86.44");
      assertThat(p.hasTime()).isTrue();
    });
  }

  private static void suspend(ManagedChannel channel, Identifier participant, String requestId) {
    ParticipantServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .suspendParticipant(SuspendParticipantRequest.newBuilder().setRequestId(requestId)
            .setParticipantId(participant.toString()).setReason("security test").build());
  }

  private static List<DataPoint> securityPointsAtNational(ManagedChannel operator) {
    return MonitoringQueryServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .queryMonitoringData(QueryMonitoringDataRequest.newBuilder()
            .addSourceNodeCodes("86.44")
            .addCategories(MonitoringCategory.MONITORING_CATEGORY_SECURITY_EVENT)
            .setPageSize(10_000)
            .setTimeWindow(TimeWindow.newBuilder()
                .setStartTime(Timestamps.fromMillis(System.currentTimeMillis() - 3_600_000))
                .setEndTime(Timestamps.fromMillis(System.currentTimeMillis() + 3_600_000)))
            .build())
        .getDataPointsList();
  }

  private static void awaitAtNational(ManagedChannel operator, String what,
      Predicate<DataPoint> wanted) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (securityPointsAtNational(operator).stream().noneMatch(wanted)) {
      assertThat(System.nanoTime()).as(what + " at the national node within 30 s")
          .isLessThan(deadline);
      Thread.sleep(200);
    }
  }
}
