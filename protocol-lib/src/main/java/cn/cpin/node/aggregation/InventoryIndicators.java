package cn.cpin.node.aggregation;

import cn.cpin.common.v1.ComputeKind;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.monitoring.MonitoringCollector.Sample;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * System B's gauges of category 7 (MON-002), read from the inventory each time the collector
 * samples: per compute kind the resources registered and offered, units, free units, utilisation
 * and peak throughput of the resources of providers publishing at this node, and the providers
 * online. Thread-safe.
 */
public final class InventoryIndicators {
  /** Resources held, OFFLINE included, by {@code compute_kind} (added under MON-002's prefix). */
  public static final String RESOURCES_REGISTERED = "resource.resources.registered";
  /** 1 − free / total units over offered resources, by {@code compute_kind} (0 without units). */
  public static final String UNITS_UTILISATION = "resource.units.utilisation";

  /** The kinds always reported, so that a kind without resources reads 0 rather than absent. */
  private static final List<ComputeKind> KINDS = List.of(ComputeKind.COMPUTE_KIND_GENERAL,
      ComputeKind.COMPUTE_KIND_AI, ComputeKind.COMPUTE_KIND_SUPERCOMPUTING);

  private final Inventory inventory;

  public InventoryIndicators(Inventory inventory) {
    this.inventory = inventory;
  }

  /** Registers the gauges with {@code collector}. */
  public void reportTo(MonitoringCollector collector) {
    collector.gauge(RESOURCES_REGISTERED, "1", () -> byKind(Inventory.KindTotals::registered));
    collector.gauge(Indicators.RESOURCES_OFFERED, "1", () -> byKind(Inventory.KindTotals::offered));
    collector.gauge(Indicators.UNITS_TOTAL, "1", () -> byKind(Inventory.KindTotals::totalUnits));
    collector.gauge(Indicators.UNITS_FREE, "1", () -> byKind(Inventory.KindTotals::freeUnits));
    collector.gauge(UNITS_UTILISATION, "1", () -> byKind(InventoryIndicators::utilisation));
    collector.gauge(Indicators.FP16_PEAK_TOTAL, "TFLOPS",
        () -> byKind(Inventory.KindTotals::fp16Tflops));
    collector.gauge(Indicators.FP64_PEAK_TOTAL, "TFLOPS",
        () -> byKind(Inventory.KindTotals::fp64Tflops));
    collector.gauge(Indicators.PROVIDERS_ONLINE, "1",
        () -> List.of(new Sample(Map.of(), inventory.providersOnline())));
  }

  /** One sample per compute kind (attribute {@code compute_kind}, e.g. {@code AI}). */
  List<Sample> byKind(ToDoubleFunction<Inventory.KindTotals> figure) {
    Map<ComputeKind, Inventory.KindTotals> totals = inventory.totalsByKind();
    List<Sample> samples = new ArrayList<>(KINDS.size());
    for (ComputeKind kind : KINDS) {
      Inventory.KindTotals t = totals.getOrDefault(kind,
          new Inventory.KindTotals(0, 0, 0, 0, 0, 0));
      samples.add(new Sample(Map.of("compute_kind",
          kind.name().substring("COMPUTE_KIND_".length())), figure.applyAsDouble(t)));
    }
    return samples;
  }

  static double utilisation(Inventory.KindTotals t) {
    return t.totalUnits() == 0 ? 0 : 1.0 - (double) t.freeUnits() / t.totalUnits();
  }
}
