package cn.cpin.protocol.identifier;

import java.util.Objects;

/**
 * Thrown when text is not a canonical CPIN identifier or node code (IDN-001, IDN-004).
 *
 * <p>The {@link #reason()} names the {@code cpin.common.v1.ErrorReason} value (without its
 * {@code ERROR_REASON_} prefix) that a node reports in the {@code ErrorInfo} of the rejecting
 * status. The message is meant for people and never contains the expected check characters, so a
 * client cannot learn valid identifiers by guessing.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class MalformedIdentifierException extends IllegalArgumentException {

  private static final long serialVersionUID = 1L;

  /** Why the text was rejected; each name equals an {@code ErrorReason} name without its prefix. */
  public enum Reason {
    /** The identifier is empty. */
    IDENTIFIER_EMPTY,
    /** The identifier is longer than {@value Identifier#MAX_LENGTH} characters. */
    IDENTIFIER_TOO_LONG,
    /** The identifier does not follow the grammar or is not in canonical (upper case) form. */
    IDENTIFIER_MALFORMED,
    /** The identifier's node code names a province or industry section that cannot be allocated. */
    IDENTIFIER_UNKNOWN_NODE_CODE,
    /** The identifier's kind letter is not defined by this version of the standard. */
    IDENTIFIER_UNKNOWN_KIND,
    /** The identifier's check characters do not match its content. */
    IDENTIFIER_CHECK_MISMATCH,
    /** A standalone node code does not follow the grammar or names an unknown province or section. */
    NODE_CODE_MALFORMED
  }

  private final Reason reason;

  public MalformedIdentifierException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  /** Returns why the text was rejected. */
  public Reason reason() {
    return reason;
  }
}
