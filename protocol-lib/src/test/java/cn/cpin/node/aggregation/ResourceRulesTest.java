package cn.cpin.node.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.provider.ResourceMix;
import com.google.protobuf.util.Timestamps;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** AGG-006: the content rules of one resource, every bad field named at once. */
class ResourceRulesTest {
  @Test
  void simulatedResourcesOfEveryKindAreValid() {
    ResourceMix mix = new ResourceMix(20261126L);
    for (Resource r : mix.resources("k", 2000)) {
      assertThat(ResourceRules.check(r)).as(r.toString()).isEmpty();
    }
  }

  @Test
  void everyViolationIsNamedAtOnce() {
    Resource valid = new ResourceMix(7).resource("gpu-1");
    Resource bad = valid.toBuilder()
        .clearLocalKey()
        .setCapacity(Capacity.newBuilder().setTotalUnits(-1).setFreeUnits(5))
        .setAccelerator(AcceleratorSpec.newBuilder().setModel("H100 SXM/80GB").setCount(0))
        .setFp16Peak(Throughput.newBuilder().setValue(989))
        .setInt8Peak(Throughput.newBuilder().setValue(1979)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
        .setFp32Peak(Throughput.newBuilder().setValue(Double.NaN)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
        .setFp64Peak(Throughput.newBuilder().setValue(1).setUnitValue(99))
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("cny").setMinorUnits(-3))
        .setSite(valid.getSite().toBuilder().setProvinceCode("99"))
        .addAvailabilityWindows(TimeWindow.newBuilder()
            .setStartTime(Timestamps.fromSeconds(2000)).setEndTime(Timestamps.fromSeconds(1000)))
        .putLabels("Bad-Key", "x")
        .build();
    Map<String, ErrorReason> problems = ResourceRules.byField(ResourceRules.check(bad));
    assertThat(problems).containsOnlyKeys("local_key", "capacity.total_units",
        "accelerator.model", "accelerator.count", "fp16_peak.unit", "int8_peak.unit",
        "fp32_peak.value", "fp64_peak.unit", "price_per_unit_hour.currency_code",
        "price_per_unit_hour.minor_units", "site.province_code",
        "availability_windows[0].end_time", "labels");
    assertThat(problems.get("local_key")).isEqualTo(ErrorReason.ERROR_REASON_FIELD_REQUIRED);
    assertThat(problems.get("fp16_peak.unit")).isEqualTo(ErrorReason.ERROR_REASON_FIELD_REQUIRED);
  }

  @Test
  void capacityAndPriceBounds() {
    Resource valid = new ResourceMix(8).resource("cpu-1");
    assertThat(ResourceRules.byField(ResourceRules.check(valid.toBuilder().clearCapacity()
        .build()))).containsOnlyKeys("capacity");
    assertThat(ResourceRules.byField(ResourceRules.check(valid.toBuilder()
        .setCapacity(Capacity.newBuilder().setTotalUnits(0)).build())))
        .containsOnlyKeys("capacity.total_units");
    assertThat(ResourceRules.byField(ResourceRules.check(valid.toBuilder()
        .setCapacity(Capacity.newBuilder().setTotalUnits(4).setFreeUnits(5)).build())))
        .containsOnlyKeys("capacity.free_units");
    // A year of 1000 units at this price does not fit in int64; one fen less per hour would.
    long limit = Long.MAX_VALUE / 1000 / ResourceRules.HOURS_PER_YEAR;
    Resource.Builder pool = valid.toBuilder()
        .setCapacity(Capacity.newBuilder().setTotalUnits(1000).setFreeUnits(1));
    assertThat(ResourceRules.check(pool.setPricePerUnitHour(Money.newBuilder()
        .setCurrencyCode("CNY").setMinorUnits(limit)).build())).isEmpty();
    assertThat(ResourceRules.byField(ResourceRules.check(pool.setPricePerUnitHour(
        Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(limit + 1)).build())))
        .containsOnlyKeys("price_per_unit_hour.minor_units");
  }

  @Test
  void opsAndFlopsUnitsAreNotMixed() {
    Resource valid = new ResourceMix(9).resource("x");
    assertThat(ResourceRules.byField(ResourceRules.check(valid.toBuilder()
        .setFp16Peak(Throughput.newBuilder().setValue(1).setUnit(ThroughputUnit.THROUGHPUT_UNIT_POPS))
        .build()))).containsOnlyKeys("fp16_peak.unit");
    assertThat(ResourceRules.check(valid.toBuilder()
        .setInt8Peak(Throughput.newBuilder().setValue(1).setUnit(ThroughputUnit.THROUGHPUT_UNIT_POPS))
        .build())).isEmpty();
    // A zero peak needs no unit.
    assertThat(ResourceRules.check(valid.toBuilder()
        .setFp64Peak(Throughput.getDefaultInstance()).build())).isEmpty();
  }
}
