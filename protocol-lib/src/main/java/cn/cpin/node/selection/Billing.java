package cn.cpin.node.selection;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.selection.v1.DemandConstraints;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Duration;

/**
 * The standard's arithmetic of time and money (SEL-009, SEL-017): durations billed in whole
 * hours, costs in integer minor units, never in floating point. Overflow is a bad request, never
 * a wrong price.
 */
public final class Billing {
  private static final Duration DEFAULT_DURATION = Duration.ofHours(1);

  private Billing() {}

  /** The demanded duration: {@code duration}, else the window's length, else one hour. */
  public static Duration demandedDuration(DemandConstraints c) {
    if (c.hasDuration()) {
      return Duration.ofMillis(Durations.toMillis(c.getDuration()));
    }
    if (c.hasTimeWindow()) {
      return Duration.ofMillis(Timestamps.toMillis(c.getTimeWindow().getEndTime())
          - Timestamps.toMillis(c.getTimeWindow().getStartTime()));
    }
    return DEFAULT_DURATION;
  }

  /** {@code d} rounded up to whole hours. */
  public static long billableHours(Duration d) {
    long hours = d.toHours();
    return d.equals(Duration.ofHours(hours)) ? hours : hours + 1;
  }

  /**
   * {@code quantity × hours × pricePerHour} in minor units; INVALID_ARGUMENT naming
   * {@code field} if it does not fit in 64 bits.
   */
  public static long cost(long quantity, long hours, long pricePerHour, String field) {
    try {
      return Math.multiplyExact(Math.multiplyExact(quantity, hours), pricePerHour);
    } catch (ArithmeticException e) {
      throw InvalidArgumentException.of(field, "makes the price overflow 64-bit minor units",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
  }
}
