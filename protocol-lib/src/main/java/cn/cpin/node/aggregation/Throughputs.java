package cn.cpin.node.aggregation;

import cn.cpin.common.v1.Throughput;

/**
 * Throughput unit conversion (SEL-003): FLOPS units to TFLOPS, OPS units to TOPS; a value in the
 * other family, or without a unit, counts as 0. Used by selection and the inventory's gauges.
 */
public final class Throughputs {
  private Throughputs() {}

  public static double tflops(Throughput t) {
    return switch (t.getUnit()) {
      case THROUGHPUT_UNIT_GFLOPS -> t.getValue() / 1_000;
      case THROUGHPUT_UNIT_TFLOPS -> t.getValue();
      case THROUGHPUT_UNIT_PFLOPS -> t.getValue() * 1_000;
      default -> 0;
    };
  }

  public static double tops(Throughput t) {
    return switch (t.getUnit()) {
      case THROUGHPUT_UNIT_TOPS -> t.getValue();
      case THROUGHPUT_UNIT_POPS -> t.getValue() * 1_000;
      default -> 0;
    };
  }
}
