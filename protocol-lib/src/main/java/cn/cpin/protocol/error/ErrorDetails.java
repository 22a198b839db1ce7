package cn.cpin.protocol.error;

import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.protobuf.StatusProto;
import java.util.List;
import java.util.Optional;

/** Reads the standard error details a CPIN peer sent, for clients and the conformance suite. */
public final class ErrorDetails {
  private ErrorDetails() {}

  /** The ErrorInfo detail of a failed call, if the peer sent one. */
  public static Optional<ErrorInfo> errorInfo(Throwable failure) {
    return detail(failure, ErrorInfo.class);
  }

  /** The BadRequest field violations of a failed call; empty if there are none. */
  public static List<BadRequest.FieldViolation> fieldViolations(Throwable failure) {
    return detail(failure, BadRequest.class)
        .map(BadRequest::getFieldViolationsList)
        .orElse(List.of());
  }

  /** The RetryInfo detail of a failed call (how long to wait before retrying), if any. */
  public static Optional<com.google.rpc.RetryInfo> retryInfo(Throwable failure) {
    return detail(failure, com.google.rpc.RetryInfo.class);
  }

  private static <T extends com.google.protobuf.Message> Optional<T> detail(
      Throwable failure, Class<T> type) {
    com.google.rpc.Status status = StatusProto.fromThrowable(failure);
    if (status == null) {
      return Optional.empty();
    }
    for (com.google.protobuf.Any any : status.getDetailsList()) {
      if (any.is(type)) {
        try {
          return Optional.of(any.unpack(type));
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          return Optional.empty();
        }
      }
    }
    return Optional.empty();
  }
}
