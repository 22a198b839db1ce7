package cn.cpin.node.aggregation;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.node.EventLog;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.monitoring.MonitoringSpool;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.testing.MutableClock;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MON-002 category 7 from the inventory: the {@code resource.*} gauges a node spools follow what
 * its providers publish, per compute kind, and are not zero while resources are offered.
 */
class InventoryIndicatorsTest {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");
  static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  static final Duration HEARTBEAT = Duration.ofSeconds(10);

  @TempDir Path dir;
  final MutableClock clock = new MutableClock(AggregationNode.START);
  final EventLog events = new EventLog(REGIONAL.toString(), new PrintStream(
      new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  long serial;

  @Test
  void gaugesFollowTheInventoryPerComputeKind() throws Exception {
    try (KeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
        MonitoringSpool spool = MonitoringSpool.open(
            EmbeddedKeyValueStore.open(dir.resolve("spool.mv")), REGIONAL.toString(), 1 << 20,
            events, clock)) {
      Inventory inventory = new Inventory(REGIONAL, store, clock, HEARTBEAT);
      MonitoringCollector collector = new MonitoringCollector(Indicators.Source.of(REGIONAL),
          spool, events, clock, Duration.ofSeconds(15));
      new InventoryIndicators(inventory).reportTo(collector);

      String a = Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT, 1).toString();
      String b = Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT, 2).toString();
      inventory.applySnapshot(inventory.provider(a), 1, List.of(
          resource(REGIONAL, a, ComputeKind.COMPUTE_KIND_AI, 8, 2, 989.5, 67),
          resource(REGIONAL, a, ComputeKind.COMPUTE_KIND_AI, 4, 4, 1000, 0)));
      inventory.applySnapshot(inventory.provider(b), 1, List.of(
          resource(REGIONAL, b, ComputeKind.COMPUTE_KIND_GENERAL, 100, 25, 0, 0)));
      // An industry node's resources are its own to report (its gauges reach the national node).
      inventory.applySnapshot(inventory.node(INDUSTRY), 1, List.of(
          resource(INDUSTRY, "86.44.C/P00000000001", ComputeKind.COMPUTE_KIND_AI, 50, 50, 1, 1)));

      Map<String, Double> first = flush(collector, spool);
      assertThat(first).containsEntry(InventoryIndicators.RESOURCES_REGISTERED + " AI", 2.0)
          .containsEntry(InventoryIndicators.RESOURCES_REGISTERED + " GENERAL", 1.0)
          .containsEntry(InventoryIndicators.RESOURCES_REGISTERED + " SUPERCOMPUTING", 0.0)
          .containsEntry(Indicators.RESOURCES_OFFERED + " AI", 2.0)
          .containsEntry(Indicators.UNITS_TOTAL + " AI", 12.0)
          .containsEntry(Indicators.UNITS_FREE + " AI", 6.0)
          .containsEntry(InventoryIndicators.UNITS_UTILISATION + " AI", 0.5)
          .containsEntry(InventoryIndicators.UNITS_UTILISATION + " GENERAL", 0.75)
          .containsEntry(Indicators.FP16_PEAK_TOTAL + " AI", 8 * 989.5 + 4 * 1000.0)
          .containsEntry(Indicators.FP64_PEAK_TOTAL + " AI", 8 * 67.0)
          .containsEntry(Indicators.PROVIDERS_ONLINE + " ", 2.0);

      // Provider b goes silent (AGG-007): still registered, no longer offered or online.
      clock.advance(HEARTBEAT.multipliedBy(2));
      inventory.heard(inventory.provider(a));
      clock.advance(HEARTBEAT.plusSeconds(1));
      Map<String, Double> second = flush(collector, spool);
      assertThat(second).containsEntry(InventoryIndicators.RESOURCES_REGISTERED + " GENERAL", 1.0)
          .containsEntry(Indicators.RESOURCES_OFFERED + " GENERAL", 0.0)
          .containsEntry(Indicators.UNITS_TOTAL + " GENERAL", 0.0)
          .containsEntry(Indicators.RESOURCES_OFFERED + " AI", 2.0)
          .containsEntry(Indicators.PROVIDERS_ONLINE + " ", 1.0);
    }
  }

  /** The gauges of the next flush as "indicator compute_kind" → value. */
  private static Map<String, Double> flush(MonitoringCollector collector, MonitoringSpool spool) {
    long before = spool.lastSequence();
    collector.flush();
    List<DataPoint> points = new ArrayList<>();
    for (long s = before + 1; s <= spool.lastSequence(); s++) {
      points.addAll(spool.batch(s).orElseThrow().getDataPointsList());
    }
    Map<String, Double> gauges = new HashMap<>();
    for (DataPoint p : points) {
      if (p.hasGauge() && p.getIndicator().startsWith("resource.")) {
        gauges.put(p.getIndicator() + " " + p.getAttributesOrDefault("compute_kind", ""),
            p.getGauge().getValue());
      }
    }
    return gauges;
  }

  private Resource resource(NodeCode origin, String provider, ComputeKind kind, int total,
      int free, double fp16Tflops, double fp64Tflops) {
    Resource.Builder r = Resource.newBuilder()
        .setResourceId(Identifier.of(origin, IdentifierKind.RESOURCE, ++serial).toString())
        .setLocalKey("r" + serial).setProviderId(provider).setComputeKind(kind)
        .setCapacity(Capacity.newBuilder().setTotalUnits(total).setFreeUnits(free))
        .setFp16Peak(Throughput.newBuilder().setValue(fp16Tflops)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
        .setFp64Peak(Throughput.newBuilder().setValue(fp64Tflops * 1000)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_GFLOPS))
        .setProvenance(Provenance.newBuilder().setOriginNodeCode(origin.toString())
            .setProviderId(provider));
    if (!origin.equals(REGIONAL)) {
      r.getProvenanceBuilder().addViaNodeCodes(REGIONAL.toString());
    }
    return r.build();
  }
}
