package cn.cpin.conformance;

/** Thrown by a check that does not apply to the target; reported as SKIPPED with the reason. */
public final class CheckSkipped extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckSkipped(String reason) {
    super(reason, null, false, false);
  }
}
