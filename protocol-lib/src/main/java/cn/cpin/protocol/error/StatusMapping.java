package cn.cpin.protocol.error;

import cn.cpin.common.v1.ErrorReason;
import com.google.protobuf.Any;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;

/**
 * The one place where failures become gRPC statuses (GEN-001).
 *
 * <p>{@link CpinException}s map to their code with an {@code ErrorInfo} (domain {@value #DOMAIN})
 * and, for invalid arguments, a {@code BadRequest} naming every field. A status raised by a
 * downstream call passes through unchanged. Anything else is a bug: it becomes INTERNAL with a
 * fixed message so nothing internal leaks; the caller of {@link #isUnexpected} logs it.
 */
public final class StatusMapping {
  /** The ErrorInfo domain of every CPIN reason. */
  public static final String DOMAIN = "cpin.cn";

  private static final String REASON_PREFIX = "ERROR_REASON_";
  private static final Metadata.Key<com.google.rpc.Status> STATUS_DETAILS_KEY =
      Metadata.Key.of("grpc-status-details-bin", io.grpc.protobuf.ProtoUtils.metadataMarshaller(
          com.google.rpc.Status.getDefaultInstance()));

  private StatusMapping() {}

  /** The reason string on the wire: the enum name without its prefix. */
  public static String reasonName(ErrorReason reason) {
    return reason.name().substring(REASON_PREFIX.length());
  }

  /** Whether {@code t} is a bug rather than an expected failure, so the caller should log it. */
  public static boolean isUnexpected(Throwable t) {
    return !(t instanceof CpinException
        || t instanceof StatusRuntimeException
        || t instanceof StatusException);
  }

  /** Converts any failure into the exception a gRPC handler passes to {@code onError}. */
  public static StatusRuntimeException toStatusRuntimeException(Throwable t) {
    if (t instanceof StatusRuntimeException sre) {
      return sre;
    }
    if (t instanceof StatusException se) {
      return new StatusRuntimeException(se.getStatus(), se.getTrailers());
    }
    return StatusProto.toStatusRuntimeException(toStatusProto(t));
  }

  /** The rich status for a failure; see the class comment for the rules. */
  public static com.google.rpc.Status toStatusProto(Throwable t) {
    if (!(t instanceof CpinException e)) {
      return com.google.rpc.Status.newBuilder()
          .setCode(Status.Code.INTERNAL.value())
          .setMessage("Unexpected internal error")
          .build();
    }
    com.google.rpc.Status.Builder status = com.google.rpc.Status.newBuilder()
        .setCode(codeOf(e.kind()).value())
        .setMessage(e.getMessage() == null ? "" : e.getMessage());
    if (e instanceof InvalidArgumentException invalid) {
      BadRequest.Builder badRequest = BadRequest.newBuilder();
      for (FieldViolation v : invalid.violations()) {
        badRequest.addFieldViolationsBuilder()
            .setField(v.field())
            .setDescription(v.description())
            .setReason(reasonName(v.reason()));
      }
      status.addDetails(Any.pack(badRequest.build()));
    }
    if (e instanceof ThrottledException throttled) {
      status.addDetails(Any.pack(RetryInfo.newBuilder()
          .setRetryDelay(com.google.protobuf.util.Durations.fromMillis(
              throttled.retryDelay().toMillis()))
          .build()));
    }
    status.addDetails(Any.pack(ErrorInfo.newBuilder()
        .setReason(reasonName(e.reason()))
        .setDomain(DOMAIN)
        .putAllMetadata(e.metadata())
        .build()));
    return status.build();
  }

  /**
   * Adds an ErrorInfo to a failed status that carries no details yet, so that every CPIN error,
   * including those raised by gRPC itself (UNIMPLEMENTED, DEADLINE_EXCEEDED …), has a reason.
   */
  public static void addDefaultDetails(Status status, Metadata trailers) {
    if (status.isOk() || trailers.containsKey(STATUS_DETAILS_KEY)) {
      return;
    }
    ErrorReason reason = switch (status.getCode()) {
      case UNIMPLEMENTED -> ErrorReason.ERROR_REASON_NOT_IMPLEMENTED;
      case UNAUTHENTICATED -> ErrorReason.ERROR_REASON_UNAUTHENTICATED;
      case PERMISSION_DENIED -> ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED;
      case NOT_FOUND -> ErrorReason.ERROR_REASON_NOT_FOUND;
      case RESOURCE_EXHAUSTED -> ErrorReason.ERROR_REASON_THROTTLED;
      default -> null;
    };
    if (reason == null) {
      return;
    }
    trailers.put(STATUS_DETAILS_KEY, com.google.rpc.Status.newBuilder()
        .setCode(status.getCode().value())
        .setMessage(status.getDescription() == null ? "" : status.getDescription())
        .addDetails(Any.pack(ErrorInfo.newBuilder()
            .setReason(reasonName(reason))
            .setDomain(DOMAIN)
            .build()))
        .build());
  }

  static Status.Code codeOf(CpinException.Kind kind) {
    return switch (kind) {
      case INVALID_ARGUMENT -> Status.Code.INVALID_ARGUMENT;
      case NOT_FOUND -> Status.Code.NOT_FOUND;
      case ALREADY_EXISTS -> Status.Code.ALREADY_EXISTS;
      case FAILED_PRECONDITION -> Status.Code.FAILED_PRECONDITION;
      case PERMISSION_DENIED -> Status.Code.PERMISSION_DENIED;
      case UNAUTHENTICATED -> Status.Code.UNAUTHENTICATED;
      case RESOURCE_EXHAUSTED -> Status.Code.RESOURCE_EXHAUSTED;
      case UNAVAILABLE -> Status.Code.UNAVAILABLE;
      case UNIMPLEMENTED -> Status.Code.UNIMPLEMENTED;
      case OUT_OF_RANGE -> Status.Code.OUT_OF_RANGE;
    };
  }
}
