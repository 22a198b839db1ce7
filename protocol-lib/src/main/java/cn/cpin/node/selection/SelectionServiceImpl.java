package cn.cpin.node.selection;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.validation.DemandRules;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** gRPC adapter of {@link Selector}: validate (SEL-002), delegate, answer. */
final class SelectionServiceImpl extends SelectionServiceGrpc.SelectionServiceImplBase {
  static final int MAX_CANDIDATES = 100;
  static final long MAX_REMOTE_TIMEOUT_MILLIS = 30_000;

  private final Selector selector;
  private final ServiceCenter serviceCenter;
  private final Consumer<SelectResourcesResponse> answered;

  SelectionServiceImpl(Selector selector, ServiceCenter serviceCenter,
      Consumer<SelectResourcesResponse> answered) {
    this.selector = selector;
    this.serviceCenter = serviceCenter;
    this.answered = answered;
  }

  @Override
  public void selectResources(SelectResourcesRequest request,
      StreamObserver<SelectResourcesResponse> responseObserver) {
    check(request);
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    if (!request.getDemandId().isEmpty()) {
      // NOT_FOUND if unknown here, NOT_OWNER if another user's (SVC-016).
      serviceCenter.demands().get(caller, Identifier.parse(request.getDemandId()));
    }
    boolean qualified = caller != null && caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && serviceCenter.qualifications().isQualifiedReseller(caller.participantId().orElseThrow());
    SelectResourcesResponse response = selector.select(request, qualified);
    answered.accept(response);
    responseObserver.onNext(response);
    responseObserver.onCompleted();
  }

  static void check(SelectResourcesRequest request) {
    List<FieldViolation> violations = new ArrayList<>();
    DemandRules.check("constraints", request.getConstraints(), violations);
    DemandRules.check("preferences", request.getPreferences(), violations);
    if (request.getMaxCandidates() > MAX_CANDIDATES) {
      violations.add(new FieldViolation("max_candidates", "must be at most " + MAX_CANDIDATES,
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    if (request.hasRemoteTimeout() && (!Durations.isValid(request.getRemoteTimeout())
        || Durations.toMillis(request.getRemoteTimeout()) <= 0
        || Durations.toMillis(request.getRemoteTimeout()) > MAX_REMOTE_TIMEOUT_MILLIS)) {
      violations.add(new FieldViolation("remote_timeout", "must be positive and at most 30 s",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
  }
}
