package cn.cpin.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.ErrorDetails;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.servicecenter.v1.GetParticipantRequest;
import cn.cpin.servicecenter.v1.GetParticipantResponse;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.servicecenter.v1.GetQualificationRequest;
import com.google.rpc.BadRequest;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The validation and error-mapping interceptors in front of real generated services. */
class NodeInterceptorsTest {
  private static final String KNOWN = Identifier.of(NodeCode.parse("86.44"),
      IdentifierKind.PARTICIPANT, 7).toString();
  private static final String BUGGY = Identifier.of(NodeCode.parse("86.44"),
      IdentifierKind.PARTICIPANT, 8).toString();

  private final List<String> unexpected = new CopyOnWriteArrayList<>();
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new ParticipantServiceGrpc.ParticipantServiceImplBase() {
          @Override
          public void getParticipant(GetParticipantRequest request,
              StreamObserver<GetParticipantResponse> responseObserver) {
            if (request.getParticipantId().equals(BUGGY)) {
              throw new IllegalStateException("secret internals");
            }
            if (!request.getParticipantId().equals(KNOWN)) {
              throw CpinException.notFound("no participant " + request.getParticipantId(),
                  Map.of("participant_id", request.getParticipantId()));
            }
            responseObserver.onNext(GetParticipantResponse.getDefaultInstance());
            responseObserver.onCompleted();
          }
        })
        .addService(UnimplementedStandardService.of(QualificationServiceGrpc.getServiceDescriptor()))
        .intercept(new RequestValidationInterceptor())
        .intercept(new ErrorMappingInterceptor((method, e) -> unexpected.add(method + " " + e)))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void malformedIdentifierNeverReachesTheService() {
    StatusRuntimeException e = call("86.44/p-7");

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(ErrorDetails.fieldViolations(e)).extracting(BadRequest.FieldViolation::getField)
        .containsExactly("participant_id");
    assertThat(ErrorDetails.errorInfo(e).orElseThrow().getDomain()).isEqualTo("cpin.cn");
  }

  @Test
  void domainExceptionBecomesItsStatusWithReason() {
    String unknown = Identifier.of(NodeCode.parse("86.44"), IdentifierKind.PARTICIPANT, 9)
        .toString();

    StatusRuntimeException e = call(unknown);

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(ErrorDetails.errorInfo(e).orElseThrow().getMetadataMap())
        .containsEntry("participant_id", unknown);
    assertThat(unexpected).isEmpty();
  }

  @Test
  void bugBecomesInternalWithoutDetailAndIsReported() {
    StatusRuntimeException e = call(BUGGY);

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).isEqualTo("Unexpected internal error");
    assertThat(unexpected).singleElement().asString()
        .contains("cpin.servicecenter.v1.ParticipantService/GetParticipant", "secret internals");
  }

  @Test
  void validRequestReachesTheService() {
    assertThat(ParticipantServiceGrpc.newBlockingStub(channel).getParticipant(
        GetParticipantRequest.newBuilder().setParticipantId(KNOWN).build())).isNotNull();
  }

  @Test
  void unimplementedStandardServiceValidatesThenAnswersNotImplemented() {
    QualificationServiceGrpc.QualificationServiceBlockingStub stub =
        QualificationServiceGrpc.newBlockingStub(channel);

    assertThatThrownBy(() -> stub.getQualification(GetQualificationRequest.newBuilder()
        .setParticipantId("86.44/P-").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    assertThatThrownBy(() -> stub.getQualification(GetQualificationRequest.newBuilder()
        .setParticipantId(KNOWN).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED);
          assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason())
              .isEqualTo("NOT_IMPLEMENTED");
        });
  }

  private StatusRuntimeException call(String participantId) {
    try {
      ParticipantServiceGrpc.newBlockingStub(channel).getParticipant(
          GetParticipantRequest.newBuilder().setParticipantId(participantId).build());
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("call with " + participantId + " succeeded");
  }
}
