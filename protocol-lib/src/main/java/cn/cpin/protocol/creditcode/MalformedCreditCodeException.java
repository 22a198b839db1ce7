package cn.cpin.protocol.creditcode;

import java.util.Objects;

/**
 * Thrown when text is not a valid GB 32100-2015 Unified Social Credit Code (SVC-001).
 *
 * <p>The {@link #reason()} names the {@code cpin.common.v1.ErrorReason} value (without its
 * {@code ERROR_REASON_} prefix) that a node reports. The message never contains the expected
 * check character.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class MalformedCreditCodeException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  /** Why the text was rejected; each name equals an {@code ErrorReason} name without its prefix. */
  public enum Reason {
    /** The code does not have 18 characters. */
    CREDIT_CODE_WRONG_LENGTH,
    /** The code contains a character outside the GB 32100 alphabet, including any lower-case letter. */
    CREDIT_CODE_FORBIDDEN_CHARACTER,
    /** The check character (position 18) does not match positions 1 to 17. */
    CREDIT_CODE_CHECK_MISMATCH
  }

  private final Reason reason;

  public MalformedCreditCodeException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** Returns why the text was rejected. */
  public Reason reason() {
    return reason;
  }
}
