package cn.cpin.protocol.validation;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.DedicatedLinePolicy;
import cn.cpin.selection.v1.SelectionPreferences;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The content rules of a demand (SEL-002), shared by {@code SubmitDemand} and
 * {@code SelectResources}: what the field annotations cannot say. Violations are added to a
 * list so that a request reports all of them at once (GEN-002).
 */
public final class DemandRules {
  public static final int MAX_MODEL_LENGTH = 64;
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

  private DemandRules() {}

  /** Checks {@code c}, naming fields under {@code path} (e.g. {@code "constraints"}). */
  public static void check(String path, DemandConstraints c, List<FieldViolation> out) {
    if (c.getComputeKind() == cn.cpin.common.v1.ComputeKind.UNRECOGNIZED) {
      out.add(invalid(path + ".compute_kind", "must be a COMPUTE_KIND_* value"));
    }
    if (c.getAcceleratorModel().length() > MAX_MODEL_LENGTH) {
      out.add(new FieldViolation(path + ".accelerator_model", "must have at most "
          + MAX_MODEL_LENGTH + " characters", ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
    }
    throughput(path + ".min_fp16_peak", c.getMinFp16Peak(), false, out);
    throughput(path + ".min_fp32_peak", c.getMinFp32Peak(), false, out);
    throughput(path + ".min_fp64_peak", c.getMinFp64Peak(), false, out);
    throughput(path + ".min_int8_peak", c.getMinInt8Peak(), true, out);
    for (int i = 0; i < c.getAllowedProvinceCodesCount(); i++) {
      province(path + ".allowed_province_codes[" + i + "]", c.getAllowedProvinceCodes(i), out);
    }
    province(path + ".user_province_code", c.getUserProvinceCode(), out);
    if (c.hasMaxLatency() && (!Durations.isValid(c.getMaxLatency())
        || Durations.isNegative(c.getMaxLatency()))) {
      out.add(invalid(path + ".max_latency", "must not be negative"));
    }
    if (c.hasDuration() && (!Durations.isValid(c.getDuration())
        || Durations.isNegative(c.getDuration()))) {
      out.add(invalid(path + ".duration", "must not be negative"));
    }
    if (c.hasTimeWindow()) {
      var window = c.getTimeWindow();
      if (!Timestamps.isValid(window.getStartTime()) || !Timestamps.isValid(window.getEndTime())
          || Timestamps.compare(window.getEndTime(), window.getStartTime()) <= 0) {
        out.add(invalid(path + ".time_window", "end_time must be after start_time"));
      } else if (c.hasDuration() && Durations.isValid(c.getDuration())
          && Durations.compare(c.getDuration(),
              Timestamps.between(window.getStartTime(), window.getEndTime())) > 0) {
        out.add(invalid(path + ".duration", "must not be longer than time_window"));
      }
    }
    boolean priceOk = money(path + ".max_price_per_unit_hour", c.hasMaxPricePerUnitHour(),
        c.getMaxPricePerUnitHour(), out);
    boolean budgetOk = money(path + ".budget", c.hasBudget(), c.getBudget(), out);
    if (priceOk && budgetOk && c.hasMaxPricePerUnitHour() && c.hasBudget()
        && !c.getMaxPricePerUnitHour().getCurrencyCode().equals(c.getBudget().getCurrencyCode())) {
      out.add(invalid(path + ".budget", "must be in the currency of max_price_per_unit_hour"));
    }
    if (c.getDedicatedLinePolicy() == DedicatedLinePolicy.UNRECOGNIZED) {
      out.add(invalid(path + ".dedicated_line_policy", "must be a DEDICATED_LINE_POLICY_* value"));
    }
  }

  /** Weights must be finite and not negative. */
  public static void check(String path, SelectionPreferences p, List<FieldViolation> out) {
    weight(path + ".price_weight", p.getPriceWeight(), out);
    weight(path + ".performance_weight", p.getPerformanceWeight(), out);
    weight(path + ".latency_weight", p.getLatencyWeight(), out);
    weight(path + ".bandwidth_weight", p.getBandwidthWeight(), out);
  }

  private static void throughput(String field, Throughput t, boolean ops,
      List<FieldViolation> out) {
    if (!Double.isFinite(t.getValue()) || t.getValue() < 0) {
      out.add(invalid(field + ".value", "must be a finite number, not negative"));
    }
    ThroughputUnit unit = t.getUnit();
    if (unit == ThroughputUnit.THROUGHPUT_UNIT_UNSPECIFIED) {
      if (t.getValue() != 0) {
        out.add(invalid(field + ".unit", "is required for a non-zero value"));
      }
      return;
    }
    boolean isOps = unit == ThroughputUnit.THROUGHPUT_UNIT_TOPS
        || unit == ThroughputUnit.THROUGHPUT_UNIT_POPS;
    if (unit == ThroughputUnit.UNRECOGNIZED || isOps != ops) {
      out.add(invalid(field + ".unit", ops ? "must be an OPS unit (TOPS, POPS)"
          : "must be a FLOPS unit (GFLOPS, TFLOPS, PFLOPS)"));
    }
  }

  private static void province(String field, String code, List<FieldViolation> out) {
    if (!code.isEmpty() && !NodeCode.isKnownProvince(code)) {
      out.add(invalid(field, "must be a GB/T 2260 province code"));
    }
  }

  // Returns whether the amount is usable for the cross-field currency check.
  private static boolean money(String field, boolean present, Money m, List<FieldViolation> out) {
    if (!present) {
      return true;
    }
    boolean ok = true;
    if (!CURRENCY.matcher(m.getCurrencyCode()).matches()) {
      out.add(invalid(field + ".currency_code", "must be an ISO 4217 code such as CNY"));
      ok = false;
    }
    if (m.getMinorUnits() < 0) {
      out.add(invalid(field + ".minor_units", "must not be negative"));
      ok = false;
    }
    return ok;
  }

  private static void weight(String field, double w, List<FieldViolation> out) {
    if (!Double.isFinite(w) || w < 0) {
      out.add(invalid(field, "must be a finite number, not negative"));
    }
  }

  private static FieldViolation invalid(String field, String description) {
    return new FieldViolation(field, description, ErrorReason.ERROR_REASON_INVALID_FIELDS);
  }
}
