package cn.cpin.protocol.error;

import cn.cpin.common.v1.ErrorReason;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/** The request is malformed; every offending field is listed at once (GEN-002). */
public final class InvalidArgumentException extends CpinException {
  private static final long serialVersionUID = 1L;

  private final transient List<FieldViolation> violations;

  public InvalidArgumentException(List<FieldViolation> violations) {
    super(Kind.INVALID_ARGUMENT, reasonOf(violations), describe(violations), Map.of());
    this.violations = List.copyOf(violations);
  }

  public static InvalidArgumentException of(String field, String description, ErrorReason reason) {
    return new InvalidArgumentException(List.of(new FieldViolation(field, description, reason)));
  }

  public List<FieldViolation> violations() {
    return violations;
  }

  // One violation keeps its precise reason; several are summarised as INVALID_FIELDS.
  private static ErrorReason reasonOf(List<FieldViolation> violations) {
    if (violations.isEmpty()) {
      throw new IllegalArgumentException("an InvalidArgumentException needs at least one violation");
    }
    return violations.size() == 1
        ? violations.get(0).reason()
        : ErrorReason.ERROR_REASON_INVALID_FIELDS;
  }

  private static String describe(List<FieldViolation> violations) {
    return violations.stream()
        .map(v -> v.field() + ": " + v.description())
        .collect(Collectors.joining("; ", "invalid request: ", ""));
  }
}
