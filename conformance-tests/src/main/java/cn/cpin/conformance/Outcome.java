package cn.cpin.conformance;

/** The result of a check, and of a requirement over all of its checks. */
public enum Outcome {
  PASSED,
  /** A MUST requirement is not met. */
  FAILED,
  /** A SHOULD requirement is not met. */
  WARNING,
  /** The check does not apply to this target (e.g. the profile has no such RPC). */
  SKIPPED;

  /** Combines two outcomes of one requirement: any failure wins, then warnings, then passes. */
  Outcome and(Outcome other) {
    return ordinalRank(this) >= ordinalRank(other) ? this : other;
  }

  private static int ordinalRank(Outcome outcome) {
    return switch (outcome) {
      case SKIPPED -> 0;
      case PASSED -> 1;
      case WARNING -> 2;
      case FAILED -> 3;
    };
  }
}
