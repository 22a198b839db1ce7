package cn.cpin.protocol.error;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.ErrorReason;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusMappingTest {

  @Test
  void notFoundCarriesErrorInfoWithReasonDomainAndMetadata() {
    StatusRuntimeException e = StatusMapping.toStatusRuntimeException(
        CpinException.notFound("no identifier 86.44/R-1SF", Map.of("identifier", "86.44/R-1SF")));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    ErrorInfo info = ErrorDetails.errorInfo(e).orElseThrow();
    assertThat(info.getReason()).isEqualTo("NOT_FOUND");
    assertThat(info.getDomain()).isEqualTo("cpin.cn");
    assertThat(info.getMetadataMap()).containsEntry("identifier", "86.44/R-1SF");
  }

  @Test
  void invalidArgumentListsEveryViolationInBadRequest() {
    StatusRuntimeException e = StatusMapping.toStatusRuntimeException(
        new InvalidArgumentException(List.of(
            new FieldViolation("identifier", "check characters do not match",
                ErrorReason.ERROR_REASON_IDENTIFIER_CHECK_MISMATCH),
            new FieldViolation("credit_code", "must have 18 characters",
                ErrorReason.ERROR_REASON_CREDIT_CODE_WRONG_LENGTH))));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(ErrorDetails.fieldViolations(e))
        .extracting(BadRequest.FieldViolation::getField, BadRequest.FieldViolation::getReason)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("identifier", "IDENTIFIER_CHECK_MISMATCH"),
            org.assertj.core.groups.Tuple.tuple("credit_code", "CREDIT_CODE_WRONG_LENGTH"));
    assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason()).isEqualTo("INVALID_FIELDS");
    assertThat(e.getStatus().getDescription()).contains("identifier", "credit_code");
  }

  @Test
  void singleViolationKeepsItsPreciseReason() {
    StatusRuntimeException e = StatusMapping.toStatusRuntimeException(InvalidArgumentException.of(
        "request_id", "is required", ErrorReason.ERROR_REASON_FIELD_REQUIRED));

    assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason()).isEqualTo("FIELD_REQUIRED");
  }

  @Test
  void unexpectedExceptionBecomesInternalWithoutLeakingItsMessage() {
    RuntimeException bug = new IllegalStateException("secret table cpin_internal corrupted");

    StatusRuntimeException e = StatusMapping.toStatusRuntimeException(bug);

    assertThat(StatusMapping.isUnexpected(bug)).isTrue();
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL);
    assertThat(e.getStatus().getDescription()).isEqualTo("Unexpected internal error");
    assertThat(StatusProto.fromThrowable(e).toString()).doesNotContain("secret");
  }

  @Test
  void statusFromDownstreamPassesThroughUnchanged() {
    StatusRuntimeException downstream = Status.UNAVAILABLE.withDescription("parent down")
        .asRuntimeException();

    assertThat(StatusMapping.toStatusRuntimeException(downstream)).isSameAs(downstream);
    assertThat(StatusMapping.isUnexpected(downstream)).isFalse();
  }

  @Test
  void everyKindMapsToItsOwnCode() {
    for (CpinException.Kind kind : CpinException.Kind.values()) {
      assertThat(StatusMapping.codeOf(kind).name()).isEqualTo(kind.name());
    }
  }

  @Test
  void defaultDetailsGiveUnimplementedAReasonButLeaveRichStatusesAlone() {
    Metadata trailers = new Metadata();
    StatusMapping.addDefaultDetails(Status.UNIMPLEMENTED.withDescription("no"), trailers);
    StatusRuntimeException e = Status.UNIMPLEMENTED.asRuntimeException(trailers);
    assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason()).isEqualTo("NOT_IMPLEMENTED");

    StatusRuntimeException rich = StatusMapping.toStatusRuntimeException(
        CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, "not yours"));
    Metadata richTrailers = rich.getTrailers();
    StatusMapping.addDefaultDetails(rich.getStatus(), richTrailers);
    assertThat(ErrorDetails.errorInfo(rich.getStatus().asRuntimeException(richTrailers))
        .orElseThrow().getReason()).isEqualTo("NOT_OWNER");

    Metadata ok = new Metadata();
    StatusMapping.addDefaultDetails(Status.OK, ok);
    assertThat(ok.keys()).isEmpty();
  }
}
