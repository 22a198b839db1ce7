package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.CpuSpec;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.identifier.NodeCode;
import com.google.protobuf.util.Timestamps;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The content rules of one published resource (AGG-006): everything a node checks beyond the
 * field annotations, all at once, so a refused resource names every bad field.
 *
 * <p>Stateless and thread-safe. Ownership ({@code resource_id}, {@code provider_id}) and repeated
 * {@code local_key}s depend on the publication and are checked by {@link ProviderPublication}.
 */
public final class ResourceRules {
  /** Hours of a leap year: a pool's price for a year of all its units must fit in int64. */
  static final long HOURS_PER_YEAR = 366L * 24;

  /** Like the reference data's names: "H100-SXM5-80GB", "Ascend-910B", "MI300X". */
  private static final Pattern ACCELERATOR_MODEL =
      Pattern.compile("[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}");
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");
  private static final Pattern LABEL_KEY = Pattern.compile("[a-z][a-z0-9_]{0,62}");

  private ResourceRules() {}

  /** Every content problem of {@code resource}; field paths are relative to it. */
  public static List<FieldViolation> check(Resource resource) {
    List<FieldViolation> problems = new ArrayList<>();
    if (resource.getLocalKey().isEmpty()) {
      problems.add(required("local_key"));
    }
    if (resource.getComputeKind() == ComputeKind.COMPUTE_KIND_UNSPECIFIED) {
      problems.add(required("compute_kind"));
    } else if (resource.getComputeKind() == ComputeKind.UNRECOGNIZED) {
      problems.add(invalid("compute_kind", "unknown compute kind " + resource.getComputeKindValue()));
    }
    if (resource.getStatus() == cn.cpin.aggregation.v1.ResourceStatus.UNRECOGNIZED) {
      problems.add(invalid("status", "unknown status " + resource.getStatusValue()));
    }
    if (resource.getStorageType() == cn.cpin.aggregation.v1.StorageType.UNRECOGNIZED) {
      problems.add(invalid("storage_type", "unknown storage type " + resource.getStorageTypeValue()));
    }
    if (resource.getInterconnect().getType()
        == cn.cpin.aggregation.v1.InterconnectType.UNRECOGNIZED) {
      problems.add(invalid("interconnect.type", "unknown interconnect type"));
    }
    checkCapacity(resource, problems);
    checkCpu(resource.getCpu(), problems);
    if (resource.hasAccelerator()) {
      checkAccelerator(resource.getAccelerator(), problems);
    }
    checkThroughput("fp64_peak", resource.getFp64Peak(), false, problems);
    checkThroughput("fp32_peak", resource.getFp32Peak(), false, problems);
    checkThroughput("fp16_peak", resource.getFp16Peak(), false, problems);
    checkThroughput("int8_peak", resource.getInt8Peak(), true, problems);
    if (resource.hasPricePerUnitHour()) {
      checkPrice(resource.getPricePerUnitHour(), resource.getCapacity(), problems);
    }
    String province = resource.getSite().getProvinceCode();
    if (!province.isEmpty() && !NodeCode.isKnownProvince(province)) {
      problems.add(invalid("site.province_code", "'" + province
          + "' is not a GB/T 2260 province code"));
    }
    double lat = resource.getSite().getLatitude();
    double lon = resource.getSite().getLongitude();
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180)) {
      problems.add(invalid("site", "latitude must be in [-90, 90] and longitude in [-180, 180]"));
    }
    for (int i = 0; i < resource.getAvailabilityWindowsCount(); i++) {
      checkWindow("availability_windows[" + i + "]", resource.getAvailabilityWindows(i), problems);
    }
    for (String key : resource.getLabelsMap().keySet()) {
      if (!LABEL_KEY.matcher(key).matches()) {
        problems.add(invalid("labels", "label key '" + abbreviate(key)
            + "' is not lower_snake_case of at most 63 characters"));
      }
    }
    return problems;
  }

  /** Whether {@code province} may be used as a province filter or site (GB/T 2260). */
  public static boolean isProvince(String province) {
    return NodeCode.isKnownProvince(province);
  }

  /** The single reason of a refused resource: the problem's own, or INVALID_FIELDS for several. */
  public static ErrorReason reasonOf(List<FieldViolation> problems) {
    return problems.size() == 1 ? problems.get(0).reason() : ErrorReason.ERROR_REASON_INVALID_FIELDS;
  }

  /** One line naming every bad field, for a rejection's message. */
  public static String describe(List<FieldViolation> problems) {
    StringBuilder text = new StringBuilder();
    for (FieldViolation p : problems) {
      if (text.length() > 0) {
        text.append("; ");
      }
      text.append(p.field()).append(": ").append(p.description());
    }
    return text.toString();
  }

  private static void checkCapacity(Resource resource, List<FieldViolation> problems) {
    if (!resource.hasCapacity()) {
      problems.add(required("capacity"));
      return;
    }
    Capacity capacity = resource.getCapacity();
    // uint32 on the wire; above 2^31-1 it is what a signed client meant as a negative count.
    if (capacity.getTotalUnits() < 0) {
      problems.add(invalid("capacity.total_units", "must be at most 2147483647 (negative count?)"));
    } else if (capacity.getTotalUnits() == 0) {
      problems.add(invalid("capacity.total_units", "must be at least 1"));
    }
    if (capacity.getFreeUnits() < 0) {
      problems.add(invalid("capacity.free_units", "must be at most 2147483647 (negative count?)"));
    } else if (capacity.getTotalUnits() > 0 && capacity.getFreeUnits() > capacity.getTotalUnits()) {
      problems.add(invalid("capacity.free_units", "must not exceed capacity.total_units ("
          + capacity.getTotalUnits() + ")"));
    }
  }

  private static void checkCpu(CpuSpec cpu, List<FieldViolation> problems) {
    if (cpu.getCores() < 0) {
      problems.add(invalid("cpu.cores", "must be at most 2147483647 (negative count?)"));
    }
    if (cpu.getBaseFrequencyMhz() < 0) {
      problems.add(invalid("cpu.base_frequency_mhz", "must be at most 2147483647"));
    }
  }

  private static void checkAccelerator(AcceleratorSpec accelerator, List<FieldViolation> problems) {
    if (accelerator.getModel().isEmpty()) {
      problems.add(required("accelerator.model"));
    } else if (!ACCELERATOR_MODEL.matcher(accelerator.getModel()).matches()) {
      problems.add(invalid("accelerator.model", "'" + abbreviate(accelerator.getModel())
          + "' is not a model name like 'H100-SXM5-80GB' (letters, digits and . + _ -, "
          + "at most 64)"));
    }
    if (accelerator.getCount() < 0) {
      problems.add(invalid("accelerator.count", "must be at most 2147483647 (negative count?)"));
    } else if (accelerator.getCount() == 0) {
      problems.add(invalid("accelerator.count", "must be at least 1 when an accelerator is given"));
    }
    if (accelerator.getMemoryGib() < 0) {
      problems.add(invalid("accelerator.memory_gib", "must be at most 2147483647"));
    }
    if (accelerator.getMemoryBandwidthGbps() < 0) {
      problems.add(invalid("accelerator.memory_bandwidth_gbps", "must be at most 2147483647"));
    }
  }

  private static void checkThroughput(String field, Throughput peak, boolean integer,
      List<FieldViolation> problems) {
    double value = peak.getValue();
    if (Double.isNaN(value) || Double.isInfinite(value) || value < 0) {
      problems.add(invalid(field + ".value", "must be a finite non-negative number"));
    }
    ThroughputUnit unit = peak.getUnit();
    if (unit == ThroughputUnit.UNRECOGNIZED) {
      problems.add(invalid(field + ".unit", "unknown unit " + peak.getUnitValue()));
    } else if (unit == ThroughputUnit.THROUGHPUT_UNIT_UNSPECIFIED) {
      if (value != 0) {
        problems.add(required(field + ".unit"));
      }
    } else if (integer != isOps(unit)) {
      problems.add(invalid(field + ".unit", integer
          ? "INT8 peaks are stated in OPS units (TOPS, POPS), not " + unit
          : "floating-point peaks are stated in FLOPS units (GFLOPS, TFLOPS, PFLOPS), not "
              + unit));
    }
  }

  private static boolean isOps(ThroughputUnit unit) {
    return unit == ThroughputUnit.THROUGHPUT_UNIT_TOPS || unit == ThroughputUnit.THROUGHPUT_UNIT_POPS;
  }

  private static void checkPrice(Money price, Capacity capacity, List<FieldViolation> problems) {
    if (!CURRENCY.matcher(price.getCurrencyCode()).matches()) {
      problems.add(invalid("price_per_unit_hour.currency_code", "'"
          + abbreviate(price.getCurrencyCode()) + "' is not an ISO 4217 alphabetic code"));
    }
    long minor = price.getMinorUnits();
    if (minor < 0) {
      problems.add(invalid("price_per_unit_hour.minor_units", "must not be negative"));
      return;
    }
    long units = Math.max(1, capacity.getTotalUnits());
    // A year of every unit must be chargeable without overflow anywhere downstream.
    try {
      Math.multiplyExact(Math.multiplyExact(minor, units), HOURS_PER_YEAR);
    } catch (ArithmeticException e) {
      problems.add(invalid("price_per_unit_hour.minor_units", "overflows: price × total_units × "
          + HOURS_PER_YEAR + " h must fit in a signed 64-bit integer"));
    }
  }

  private static void checkWindow(String field, TimeWindow window,
      List<FieldViolation> problems) {
    if (window.hasStartTime() && !Timestamps.isValid(window.getStartTime())
        || window.hasEndTime() && !Timestamps.isValid(window.getEndTime())) {
      problems.add(invalid(field, "timestamp out of range"));
      return;
    }
    if (window.hasStartTime() && window.hasEndTime()
        && Timestamps.compare(window.getEndTime(), window.getStartTime()) <= 0) {
      problems.add(invalid(field + ".end_time", "must be after start_time"));
    }
  }

  private static FieldViolation required(String field) {
    return new FieldViolation(field, "is required", ErrorReason.ERROR_REASON_FIELD_REQUIRED);
  }

  private static FieldViolation invalid(String field, String description) {
    return new FieldViolation(field, description, ErrorReason.ERROR_REASON_INVALID_FIELDS);
  }

  static String abbreviate(String text) {
    return text.length() <= 40 ? text : text.substring(0, 40) + "…";
  }

  /** For tests: the rules as a map from field to reason. */
  static Map<String, ErrorReason> byField(List<FieldViolation> problems) {
    Map<String, ErrorReason> map = new java.util.LinkedHashMap<>();
    problems.forEach(p -> map.put(p.field(), p.reason()));
    return map;
  }
}
