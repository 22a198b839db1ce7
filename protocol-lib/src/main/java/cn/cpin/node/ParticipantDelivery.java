package cn.cpin.node;

import cn.cpin.protocol.Sha256;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ReportParticipantRequest;
import cn.cpin.trust.v1.RevocationReason;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import cn.cpin.trust.v1.RevokeCertificateRequest;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/** How the service center's outboxes reach other nodes; request ids follow the content. */
final class ParticipantDelivery {
  private static final long DEADLINE_SECONDS = 10;

  private ParticipantDelivery() {}

  /** A suspended participant's certificate into the national revocation feed (SEC-013). */
  static Outbox.Delivery revocations(ManagedChannel national) {
    return (key, der) -> RevocationServiceGrpc.newBlockingStub(national)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .revokeCertificate(RevokeCertificateRequest.newBuilder()
            .setRequestId("suspend-" + Sha256.hex(key).substring(0, 40))
            .setCertificateDer(ByteString.copyFrom(der))
            .setReason(RevocationReason.REVOCATION_REASON_PRIVILEGE_WITHDRAWN)
            .build());
  }

  /** A participant's current record to the regional node (SVC-017). */
  static Outbox.Delivery reports(ManagedChannel regional) {
    return (key, record) -> ParticipantServiceGrpc.newBlockingStub(regional)
        .withDeadlineAfter(DEADLINE_SECONDS, TimeUnit.SECONDS)
        .reportParticipant(ReportParticipantRequest.newBuilder()
            .setRequestId("report-" + Sha256.hex(HexFormat.of().formatHex(record))
                .substring(0, 40))
            .setParticipant(Participant.parseFrom(record))
            .build());
  }
}
