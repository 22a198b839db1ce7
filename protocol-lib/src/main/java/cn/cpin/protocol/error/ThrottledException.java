package cn.cpin.protocol.error;

import cn.cpin.common.v1.ErrorReason;
import java.time.Duration;
import java.util.Map;

/**
 * The node sheds load: RESOURCE_EXHAUSTED with reason THROTTLED and a RetryInfo telling the caller
 * how long to wait (GEN-022).
 */
public final class ThrottledException extends CpinException {
  private static final long serialVersionUID = 1L;

  private final Duration retryDelay;

  public ThrottledException(String message, Duration retryDelay) {
    super(Kind.RESOURCE_EXHAUSTED, ErrorReason.ERROR_REASON_THROTTLED, message, Map.of());
    this.retryDelay = retryDelay;
  }

  /** How long the caller should wait before trying again. */
  public Duration retryDelay() {
    return retryDelay;
  }
}
