package cn.cpin.protocol.error;

import cn.cpin.common.v1.ErrorReason;
import java.util.Objects;

/**
 * One invalid request field.
 *
 * @param field path of the field as in google.rpc.BadRequest, e.g. {@code resource.owner_id} or
 *     {@code identifiers[2]}
 * @param description what is wrong, for a human; never echoes secrets
 * @param reason the standard's reason for this field's rejection
 */
public record FieldViolation(String field, String description, ErrorReason reason) {
  public FieldViolation {
    Objects.requireNonNull(field, "field");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(reason, "reason");
  }
}
