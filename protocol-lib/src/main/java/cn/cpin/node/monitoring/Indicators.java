package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.Counter;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.Event;
import cn.cpin.monitoring.v1.EventSeverity;
import cn.cpin.monitoring.v1.Gauge;
import cn.cpin.monitoring.v1.MonitoringCategory;
import com.google.protobuf.util.Timestamps;
import java.time.Instant;
import java.util.Map;

/**
 * The indicator catalogue of MON-002 and builders for its data points. Names are the spec's; the
 * category of each follows from its prefix.
 */
public final class Indicators {
  private Indicators() {}

  // Category 7: resource business.
  public static final String RESOURCES_OFFERED = "resource.resources.offered";
  public static final String UNITS_TOTAL = "resource.units.total";
  public static final String UNITS_FREE = "resource.units.free";
  public static final String FP16_PEAK_TOTAL = "resource.fp16_peak.total";
  public static final String FP64_PEAK_TOTAL = "resource.fp64_peak.total";
  public static final String PROVIDERS_ONLINE = "resource.providers.online";
  // Category 8: platform business.
  public static final String PARTICIPANTS_REGISTERED = "platform.participants.registered";
  public static final String QUALIFICATIONS_GRANTED = "platform.qualifications.granted";
  public static final String DEMANDS_SUBMITTED = "platform.demands.submitted";
  public static final String ORDERS_CONFIRMED = "platform.orders.confirmed";
  public static final String ORDERS_VALUE = "platform.orders.value_minor_units";
  // Category 9: interconnection scheduling.
  public static final String SELECTIONS = "scheduling.selections";
  public static final String SELECTIONS_PARTIAL = "scheduling.selections.partial";
  public static final String LINES_OPEN = "scheduling.dedicated_lines.open";
  public static final String LINES_BANDWIDTH = "scheduling.dedicated_lines.bandwidth_available";
  /** Every order event (reserved, confirmed, released, expired) by attribute {@code event}. */
  public static final String ORDER_EVENTS = "scheduling.orders";
  // Category 10: application business.
  public static final String APPLICATION_PROVIDERS = "application.providers.approved";
  public static final String APPLICATION_ORDERS = "application.orders.confirmed";
  // Category 11: security events.
  public static final String CONNECTIONS_REFUSED = "security.connections.refused";
  public static final String CALLS_DENIED = "security.calls.denied";
  public static final String SECURITY_EVENT = "security.event";
  public static final String SPOOL_DROPPED = "monitoring.spool.dropped";

  /** The category an indicator belongs to, from its prefix (MON-002). */
  public static MonitoringCategory categoryOf(String indicator) {
    if (indicator.startsWith("resource.")) {
      return MonitoringCategory.MONITORING_CATEGORY_RESOURCE_BUSINESS;
    }
    if (indicator.startsWith("platform.")) {
      return MonitoringCategory.MONITORING_CATEGORY_PLATFORM_BUSINESS;
    }
    if (indicator.startsWith("scheduling.")) {
      return MonitoringCategory.MONITORING_CATEGORY_SCHEDULING_BUSINESS;
    }
    if (indicator.startsWith("application.")) {
      return MonitoringCategory.MONITORING_CATEGORY_APPLICATION_BUSINESS;
    }
    // security.* and the spool's own monitoring.spool.dropped (MON-011) are category 11.
    return MonitoringCategory.MONITORING_CATEGORY_SECURITY_EVENT;
  }

  /** A gauge sample. */
  public static DataPoint gauge(Source source, String indicator, String unit, double value,
      Map<String, String> attributes, Instant time) {
    return base(source, indicator, unit, attributes, time)
        .setGauge(Gauge.newBuilder().setValue(value)).build();
  }

  /** A delta counter over {@code [start, time)}. */
  public static DataPoint delta(Source source, String indicator, String unit, double value,
      Map<String, String> attributes, Instant start, Instant time) {
    return base(source, indicator, unit, attributes, time)
        .setCounter(Counter.newBuilder().setValue(value)
            .setTemporality(CounterTemporality.COUNTER_TEMPORALITY_DELTA)
            .setStartTime(Timestamps.fromMillis(start.toEpochMilli())))
        .build();
  }

  /** A security event (MON-010). */
  public static DataPoint event(Source source, String eventType, EventSeverity severity,
      String message, Map<String, String> attributes, Instant time) {
    return base(source, SECURITY_EVENT, "", attributes, time)
        .setEvent(Event.newBuilder().setEventType(eventType).setSeverity(severity)
            .setMessage(message))
        .build();
  }

  private static DataPoint.Builder base(Source source, String indicator, String unit,
      Map<String, String> attributes, Instant time) {
    return DataPoint.newBuilder()
        .setIndicator(indicator)
        .setCategory(categoryOf(indicator))
        .setSourceNodeCode(source.nodeCode())
        .setTime(Timestamps.fromMillis(time.toEpochMilli()))
        .setUnit(unit)
        .setProvinceCode(source.provinceCode())
        .setIndustrySection(source.industrySection())
        .putAllAttributes(attributes);
  }

  /**
   * Where points are observed and whom they are attributed to: a node, its province and (for an
   * industry node) its industry section.
   */
  public record Source(String nodeCode, String provinceCode, String industrySection) {
    /** The attribution a node code implies: 86.44 → province 44; 86.44.C → 44 and section C. */
    public static Source of(cn.cpin.protocol.identifier.NodeCode code) {
      String[] parts = code.toString().split("\\.");
      return new Source(code.toString(), parts.length > 1 ? parts[1] : "",
          parts.length > 2 ? parts[2] : "");
    }
  }
}
