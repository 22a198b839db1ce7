package cn.cpin.protocol.filing;

/**
 * A tree head, consistency proof or inclusion proof of the national filing log failed
 * verification (IDN-013, IDN-019). Such a failure is a security event (MON-010): the record
 * concerned must not be marked filed.
 */
public final class TreeHeadVerificationException extends IllegalStateException {

  private static final long serialVersionUID = 1L;

  /** Why verification failed. */
  public enum Reason {
    /** The head is malformed or its signature does not verify with the log key. */
    BAD_SIGNATURE,
    /** The head's tree is smaller than the trusted head's. */
    SMALLER_TREE,
    /** The head has the trusted head's size but another root: the log equivocates. */
    SAME_SIZE_DIFFERENT_ROOT,
    /** The head's timestamp is earlier than the trusted head's. */
    TIMESTAMP_DECREASED,
    /** The consistency proof from the trusted head does not verify. */
    INCONSISTENT,
    /** The head is larger than the trusted head and was not accepted first. */
    NOT_ACCEPTED,
    /** The inclusion proof does not verify. */
    NOT_INCLUDED,
  }

  private final Reason reason;

  public TreeHeadVerificationException(Reason reason, String message) {
    super(reason + ": " + message);
    this.reason = reason;
  }

  /** Why verification failed. */
  public Reason reason() {
    return reason;
  }
}
