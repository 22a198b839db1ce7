package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.Paging;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.servicecenter.v1.*;
import com.google.protobuf.util.Timestamps;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.function.Predicate;

/** gRPC adapter of {@link ParticipantRegistry}: convert, delegate, convert. */
final class ParticipantServiceImpl extends ParticipantServiceGrpc.ParticipantServiceImplBase {
  private final ParticipantRegistry registry;

  ParticipantServiceImpl(ParticipantRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void registerParticipant(RegisterParticipantRequest request,
      StreamObserver<RegisterParticipantResponse> response) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    reply(response, RegisterParticipantResponse.newBuilder()
        .setParticipant(registry.visibleTo(caller, registry.register(caller, request))).build());
  }

  @Override
  public void getParticipant(GetParticipantRequest request,
      StreamObserver<GetParticipantResponse> response) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    Identifier id = Identifier.parse(request.getParticipantId());
    requireSelfIfParticipant(caller, id);
    reply(response, GetParticipantResponse.newBuilder()
        .setParticipant(registry.visibleTo(caller, registry.require(id))).build());
  }

  @Override
  public void listParticipants(ListParticipantsRequest request,
      StreamObserver<ListParticipantsResponse> response) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    int size = Paging.size(request.getPageSize());
    Predicate<Participant> filter = p ->
        (request.getStatusValue() == 0 || p.getStatus() == request.getStatus())
            && (request.getKindValue() == 0 || p.getKindsList().contains(request.getKind()))
            && (request.getCreditCode().isEmpty()
                || p.getOrganization().getCreditCode().equals(request.getCreditCode()))
            && (request.getNodeCode().isEmpty() || p.getNodeCode().equals(request.getNodeCode()));
    List<Participant> page = registry.list(filter, request.getPageToken(), size);
    ListParticipantsResponse.Builder out = ListParticipantsResponse.newBuilder();
    page.forEach(p -> out.addParticipants(registry.visibleTo(caller, p)));
    if (page.size() == size) {
      out.setNextPageToken(page.get(page.size() - 1).getParticipantId());
    }
    reply(response, out.build());
  }

  @Override
  public void approveParticipant(ApproveParticipantRequest request,
      StreamObserver<ApproveParticipantResponse> response) {
    ParticipantRegistry.Change change = change(ParticipantRegistry.Transition.APPROVE,
        request.getParticipantId(), request.getReason(), request.getRequestId(), request);
    ApproveParticipantResponse.Builder out = ApproveParticipantResponse.newBuilder()
        .setParticipant(change.participant());
    withToken(change, out::setCertificateEnrollmentToken,
        out::setCertificateEnrollmentTokenExpiresAt);
    reply(response, out.build());
  }

  @Override
  public void rejectParticipant(RejectParticipantRequest request,
      StreamObserver<RejectParticipantResponse> response) {
    reply(response, RejectParticipantResponse.newBuilder().setParticipant(change(
        ParticipantRegistry.Transition.REJECT, request.getParticipantId(), request.getReason(),
        request.getRequestId(), request).participant()).build());
  }

  @Override
  public void suspendParticipant(SuspendParticipantRequest request,
      StreamObserver<SuspendParticipantResponse> response) {
    reply(response, SuspendParticipantResponse.newBuilder().setParticipant(change(
        ParticipantRegistry.Transition.SUSPEND, request.getParticipantId(), request.getReason(),
        request.getRequestId(), request).participant()).build());
  }

  @Override
  public void reinstateParticipant(ReinstateParticipantRequest request,
      StreamObserver<ReinstateParticipantResponse> response) {
    ParticipantRegistry.Change change = change(ParticipantRegistry.Transition.REINSTATE,
        request.getParticipantId(), request.getReason(), request.getRequestId(), request);
    ReinstateParticipantResponse.Builder out = ReinstateParticipantResponse.newBuilder()
        .setParticipant(change.participant());
    withToken(change, out::setCertificateEnrollmentToken,
        out::setCertificateEnrollmentTokenExpiresAt);
    reply(response, out.build());
  }

  @Override
  public void listAuditEvents(ListAuditEventsRequest request,
      StreamObserver<ListAuditEventsResponse> response) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    int size = Paging.size(request.getPageSize());
    String participant = request.getParticipantId();
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT) {
      if (participant.isEmpty()) {
        participant = caller.participantId().orElseThrow().toString();
      }
      requireSelfIfParticipant(caller, Identifier.parse(participant));
    }
    if (!participant.isEmpty()) {
      registry.requireLocal(Identifier.parse(participant));
    }
    long after = 0;
    if (!request.getPageToken().isEmpty()) {
      try {
        after = Long.parseLong(request.getPageToken());
      } catch (NumberFormatException e) {
        throw cn.cpin.protocol.error.InvalidArgumentException.of("page_token",
            "is not a token this node returned", ErrorReason.ERROR_REASON_INVALID_FIELDS);
      }
    }
    List<AuditEvent> events = registry.audit().list(participant, after, size);
    ListAuditEventsResponse.Builder out = ListAuditEventsResponse.newBuilder()
        .addAllEvents(events);
    if (events.size() == size) {
      out.setNextPageToken(Long.toString(events.get(events.size() - 1).getEventNumber()));
    }
    reply(response, out.build());
  }

  @Override
  public void reportParticipant(ReportParticipantRequest request,
      StreamObserver<ReportParticipantResponse> response) {
    reply(response, ReportParticipantResponse.newBuilder().setHeldVersion(registry.acceptReport(
        AccessControlInterceptor.CALLER.get(), request.getParticipant())).build());
  }

  private ParticipantRegistry.Change change(ParticipantRegistry.Transition transition,
      String participantId, String reason, String requestId, com.google.protobuf.Message request) {
    return registry.change(AccessControlInterceptor.CALLER.get(), transition,
        Identifier.parse(participantId), reason, requestId, request);
  }

  // SVC-005: approval and reinstatement answer with the token while it is unused.
  private static void withToken(ParticipantRegistry.Change change,
      java.util.function.Consumer<String> token,
      java.util.function.Consumer<com.google.protobuf.Timestamp> expiresAt) {
    if (change.token() != null) {
      token.accept(change.token());
      expiresAt.accept(Timestamps.fromMillis(change.tokenExpiresAt().toEpochMilli()));
    }
  }

  // SVC-008: a participant reads only its own record and audit trail.
  private static void requireSelfIfParticipant(CpinIdentity caller, Identifier id) {
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(id)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may read only its own participant record");
    }
  }

  static <T> void reply(StreamObserver<T> response, T message) {
    response.onNext(message);
    response.onCompleted();
  }
}
