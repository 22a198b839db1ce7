package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.Paging;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.servicecenter.v1.*;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/** gRPC adapter of {@link QualificationBook}: convert, delegate, convert. */
final class QualificationServiceImpl extends QualificationServiceGrpc.QualificationServiceImplBase {
  private final QualificationBook book;

  QualificationServiceImpl(QualificationBook book) {
    this.book = book;
  }

  @Override
  public void applyQualification(ApplyQualificationRequest request,
      StreamObserver<ApplyQualificationResponse> response) {
    ParticipantServiceImpl.reply(response, ApplyQualificationResponse.newBuilder()
        .setQualification(change(QualificationBook.Step.APPLY, request.getParticipantId(),
            request.getType(), new QualificationBook.Details("", request.getEvidenceReference(),
                optional(request.hasValidUntil(), request.getValidUntil())),
            request.getRequestId(), request)).build());
  }

  @Override
  public void grantQualification(GrantQualificationRequest request,
      StreamObserver<GrantQualificationResponse> response) {
    ParticipantServiceImpl.reply(response, GrantQualificationResponse.newBuilder()
        .setQualification(change(QualificationBook.Step.GRANT, request.getParticipantId(),
            request.getType(), new QualificationBook.Details(request.getReason(), "",
                optional(request.hasValidUntil(), request.getValidUntil())),
            request.getRequestId(), request)).build());
  }

  @Override
  public void suspendQualification(SuspendQualificationRequest request,
      StreamObserver<SuspendQualificationResponse> response) {
    ParticipantServiceImpl.reply(response, SuspendQualificationResponse.newBuilder()
        .setQualification(change(QualificationBook.Step.SUSPEND, request.getParticipantId(),
            request.getType(), new QualificationBook.Details(request.getReason(), "",
                Optional.empty()), request.getRequestId(), request)).build());
  }

  @Override
  public void revokeQualification(RevokeQualificationRequest request,
      StreamObserver<RevokeQualificationResponse> response) {
    ParticipantServiceImpl.reply(response, RevokeQualificationResponse.newBuilder()
        .setQualification(change(QualificationBook.Step.REVOKE, request.getParticipantId(),
            request.getType(), new QualificationBook.Details(request.getReason(), "",
                Optional.empty()), request.getRequestId(), request)).build());
  }

  @Override
  public void getQualification(GetQualificationRequest request,
      StreamObserver<GetQualificationResponse> response) {
    Identifier participant = Identifier.parse(request.getParticipantId());
    Qualification q = book.get(participant, request.getType()).orElseThrow(() ->
        CpinException.notFound("participant " + participant + " has no " + request.getType()
            + " qualification here", java.util.Map.of("participant_id", participant.toString())));
    ParticipantServiceImpl.reply(response,
        GetQualificationResponse.newBuilder().setQualification(q).build());
  }

  @Override
  public void listQualifications(ListQualificationsRequest request,
      StreamObserver<ListQualificationsResponse> response) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    int size = Paging.size(request.getPageSize());
    String participant = request.getParticipantId();
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT) {
      String self = caller.participantId().orElseThrow().toString();
      if (!participant.isEmpty() && !participant.equals(self)) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            caller.uri() + " may list only its own qualifications");
      }
      participant = self; // SVC-011
    }
    String only = participant;
    Predicate<Qualification> filter = q ->
        (only.isEmpty() || q.getParticipantId().equals(only))
            && (request.getTypeValue() == 0 || q.getType() == request.getType())
            && (request.getStatusValue() == 0 || q.getStatus() == request.getStatus());
    List<Qualification> page = book.list(filter, request.getPageToken(), size);
    ListQualificationsResponse.Builder out = ListQualificationsResponse.newBuilder()
        .addAllQualifications(page);
    if (page.size() == size) {
      out.setNextPageToken(QualificationBook.pageToken(page.get(page.size() - 1)));
    }
    ParticipantServiceImpl.reply(response, out.build());
  }

  private Qualification change(QualificationBook.Step step, String participantId,
      QualificationType type, QualificationBook.Details details, String requestId,
      Message request) {
    return book.change(AccessControlInterceptor.CALLER.get(), step,
        Identifier.parse(participantId), type, details, requestId, request);
  }

  private static Optional<Timestamp> optional(boolean present, Timestamp value) {
    return present ? Optional.of(value) : Optional.empty();
  }
}
