package cn.cpin.protocol.error;

import cn.cpin.common.v1.ErrorReason;
import java.util.Map;
import java.util.Objects;

/**
 * A failure of a CPIN operation that the caller is meant to see, with the standard's reason.
 *
 * <p>Domain code throws this and knows nothing of gRPC; {@link StatusMapping} is the one place that
 * turns it into a {@code google.rpc.Status}. Anything else that escapes a service is a bug and is
 * reported as INTERNAL without detail.
 */
public class CpinException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The class of failure; each maps to exactly one gRPC status code. */
  public enum Kind {
    INVALID_ARGUMENT,
    NOT_FOUND,
    ALREADY_EXISTS,
    FAILED_PRECONDITION,
    PERMISSION_DENIED,
    UNAUTHENTICATED,
    RESOURCE_EXHAUSTED,
    UNAVAILABLE,
    UNIMPLEMENTED,
    OUT_OF_RANGE,
  }

  private final Kind kind;
  private final ErrorReason reason;
  private final Map<String, String> metadata;

  public CpinException(Kind kind, ErrorReason reason, String message, Map<String, String> metadata) {
    super(message, null, false, false);
    this.kind = Objects.requireNonNull(kind, "kind");
    this.reason = Objects.requireNonNull(reason, "reason");
    this.metadata = Map.copyOf(metadata);
  }

  public static CpinException notFound(String message, Map<String, String> metadata) {
    return new CpinException(Kind.NOT_FOUND, ErrorReason.ERROR_REASON_NOT_FOUND, message, metadata);
  }

  public static CpinException alreadyExists(String message, Map<String, String> metadata) {
    return new CpinException(
        Kind.ALREADY_EXISTS, ErrorReason.ERROR_REASON_ALREADY_EXISTS, message, metadata);
  }

  public static CpinException failedPrecondition(String message) {
    return new CpinException(
        Kind.FAILED_PRECONDITION, ErrorReason.ERROR_REASON_FAILED_PRECONDITION, message, Map.of());
  }

  public static CpinException permissionDenied(ErrorReason reason, String message) {
    return new CpinException(Kind.PERMISSION_DENIED, reason, message, Map.of());
  }

  public static CpinException unimplemented(String operation) {
    return new CpinException(
        Kind.UNIMPLEMENTED,
        ErrorReason.ERROR_REASON_NOT_IMPLEMENTED,
        operation + " is part of the CPIN v1 standard but this node does not implement it yet",
        Map.of("operation", operation));
  }

  public Kind kind() {
    return kind;
  }

  /** The reason carried in the ErrorInfo detail. */
  public ErrorReason reason() {
    return reason;
  }

  /** Machine-readable facts for the ErrorInfo detail, e.g. the identifier that was not found. */
  public Map<String, String> metadata() {
    return metadata;
  }
}
