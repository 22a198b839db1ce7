package cn.cpin.national;

import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.monitoring.v1.ComputeKindCount;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.GetMarketSummaryRequest;
import cn.cpin.monitoring.v1.GetMarketSummaryResponse;
import cn.cpin.monitoring.v1.IndustrySummary;
import cn.cpin.monitoring.v1.MarketTotals;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.monitoring.v1.QueryMonitoringDataResponse;
import cn.cpin.monitoring.v1.RegionSummary;
import cn.cpin.node.monitoring.EncodedPoints;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringReceiver;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The national node's store of monitoring data (MON-004, MON-013, MON-014): every accepted batch is
 * written, as received, with its stream's highest sequence number in one atomic, durable write of
 * the node's store, which is the only copy: a restart (kill -9 included) finds the data and the
 * dedup state together, and queries read the store.
 *
 * <p>Keys: {@code monitoring/streams/<sender>/<stream>} holds the highest stored sequence number;
 * {@code monitoring/batches/<sender>/<stream>/<seq>} the accepted points of the batches stored
 * in one write, up to {@code seq}. A stub: a query reads every stored point (decoded once, then
 * kept in memory), which suits tests and demonstrations, not a year of a real market. Thread-safe.
 */
final class MonitoringArchive implements MonitoringReceiver.BatchStore {
  static final int DEFAULT_PAGE_SIZE = 1000;
  static final int MAX_PAGE_SIZE = 10_000;
  private static final String STREAMS = "monitoring/streams/";
  private static final String BATCHES = "monitoring/batches/";
  private static final Comparator<DataPoint> BY_TIME_THEN_SOURCE = Comparator
      .comparing((DataPoint p) -> p.getTime(), Timestamps.comparator())
      .thenComparing(DataPoint::getSourceNodeCode);

  private final KeyValueStore store;
  private final NodeCode self;
  // Stored batches decoded for queries, by key; a stored batch never changes.
  private final Map<String, List<DataPoint>> decoded = new ConcurrentHashMap<>();

  MonitoringArchive(KeyValueStore store, NodeCode self) {
    this.store = store;
    this.self = self;
  }

  @Override
  public long highestStored(String senderNodeCode, String streamId) {
    return store.get(STREAMS + senderNodeCode + "/" + streamId)
        .map(b -> Long.parseLong(new String(b, StandardCharsets.US_ASCII))).orElse(0L);
  }

  /** The accepted points go in as received, after a header naming their stream: no re-encoding. */
  @Override
  public boolean store(String senderNodeCode, String streamId, long highest, long seq,
      EncodedPoints accepted) {
    String streamKey = STREAMS + senderNodeCode + "/" + streamId;
    Optional<byte[]> expected = highest == 0 ? Optional.empty()
        : Optional.of(Long.toString(highest).getBytes(StandardCharsets.US_ASCII));
    Map<String, byte[]> puts = new HashMap<>();
    puts.put(streamKey, Long.toString(seq).getBytes(StandardCharsets.US_ASCII));
    if (!accepted.isEmpty()) {
      puts.put(BATCHES + senderNodeCode + "/" + streamId + "/" + String.format("%020d", seq),
          accepted.after(ExportMonitoringDataRequest.newBuilder()
              .setSenderNodeCode(senderNodeCode).setStreamId(streamId).setSequenceNumber(seq)
              .build().toByteArray()));
    }
    return store.write(puts, List.of(), Map.of(streamKey, expected));
  }

  @Override
  public void sync() {
    store.sync();
  }

  /** MON-013: the stored points matching the filter, by time then source, one page. */
  QueryMonitoringDataResponse query(CpinIdentity caller, QueryMonitoringDataRequest request) {
    Window window = window(request.getTimeWindow(), "time_window");
    List<FieldViolation> violations = new ArrayList<>();
    if (request.getPageSize() < 0) {
      violations.add(new FieldViolation("page_size", "must not be negative",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    String filterDigest = Integer.toHexString(request.toBuilder().clearPageSize()
        .clearPageToken().build().hashCode());
    int offset = 0;
    if (!request.getPageToken().isEmpty()) {
      offset = offsetOf(request.getPageToken(), filterDigest);
      if (offset < 0) {
        violations.add(new FieldViolation("page_token", "not a token returned for this filter",
            ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    List<DataPoint> stored = snapshot();
    Set<String> sources = allowedSources(caller, request.getSourceNodeCodesList(), stored);
    Set<MonitoringCategory> categories = new HashSet<>(request.getCategoriesList());
    categories.remove(MonitoringCategory.MONITORING_CATEGORY_UNSPECIFIED);
    Set<String> indicators = new HashSet<>(request.getIndicatorsList());
    List<DataPoint> matching = new ArrayList<>();
    for (DataPoint p : stored) {
      if ((sources == null || sources.contains(p.getSourceNodeCode()))
          && (categories.isEmpty() || categories.contains(p.getCategory()))
          && (indicators.isEmpty() || indicators.contains(p.getIndicator()))
          && (request.getSubjectId().isEmpty() || request.getSubjectId().equals(p.getSubjectId()))
          && window.contains(p.getTime())) {
        matching.add(p);
      }
    }
    matching.sort(BY_TIME_THEN_SOURCE);
    int size = request.getPageSize() == 0 ? DEFAULT_PAGE_SIZE
        : Math.min(request.getPageSize(), MAX_PAGE_SIZE);
    int end = Math.min(matching.size(), offset + size);
    QueryMonitoringDataResponse.Builder page = QueryMonitoringDataResponse.newBuilder();
    if (offset < end) {
      page.addAllDataPoints(matching.subList(offset, end));
    }
    if (end < matching.size()) {
      page.setNextPageToken(Base64.getUrlEncoder().withoutPadding().encodeToString(
          (end + ":" + filterDigest).getBytes(StandardCharsets.US_ASCII)));
    }
    return page.build();
  }

  // A node sees itself and its children; the national operator everything (null: no limit).
  private Set<String> allowedSources(CpinIdentity caller, List<String> asked,
      List<DataPoint> stored) {
    if (caller == null || caller.kind() == CpinIdentity.Kind.OPERATOR
        && caller.nodeCode().equals(self)) {
      return asked.isEmpty() ? null : new HashSet<>(asked);
    }
    NodeCode node = caller.nodeCode();
    if (asked.isEmpty()) {
      Set<String> own = new HashSet<>();
      own.add(node.toString());
      Set<String> reporting = new HashSet<>();
      for (DataPoint p : stored) {
        reporting.add(p.getSourceNodeCode());
      }
      for (String code : reporting) {
        if (NodeCode.parse(code).parent().map(node::equals).orElse(false)) {
          own.add(code);
        }
      }
      return own;
    }
    for (String code : asked) {
      NodeCode asked1 = NodeCode.parse(code);
      if (!asked1.equals(node) && !asked1.parent().map(node::equals).orElse(false)) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            "node " + node + " may query only itself and its children, not " + code);
      }
    }
    return new HashSet<>(asked);
  }

  private static int offsetOf(String token, String filterDigest) {
    try {
      String[] parts = new String(Base64.getUrlDecoder().decode(token),
          StandardCharsets.US_ASCII).split(":");
      if (parts.length != 2 || !parts[1].equals(filterDigest)) {
        return -1;
      }
      return Integer.parseInt(parts[0]);
    } catch (IllegalArgumentException e) {
      return -1;
    }
  }

  /** MON-014: market totals over the window, per province and per industry section. */
  GetMarketSummaryResponse summary(GetMarketSummaryRequest request) {
    Window window = window(request.getTimeWindow(), "time_window");
    List<FieldViolation> violations = new ArrayList<>();
    for (int i = 0; i < request.getProvinceCodesCount(); i++) {
      if (!NodeCode.isKnownProvince(request.getProvinceCodes(i))) {
        violations.add(new FieldViolation("province_codes[" + i + "]",
            "not a GB/T 2260 province code", ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
    }
    for (int i = 0; i < request.getIndustrySectionsCount(); i++) {
      String s = request.getIndustrySections(i);
      if (s.length() != 1 || !NodeCode.isKnownSection(s.charAt(0))) {
        violations.add(new FieldViolation("industry_sections[" + i + "]",
            "not a GB/T 4754-2017 section letter A-T", ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    Set<String> provinces = new HashSet<>(request.getProvinceCodesList());
    Set<String> sections = new HashSet<>(request.getIndustrySectionsList());
    Totals overall = new Totals();
    Map<String, Totals> regions = new TreeMap<>();
    Map<String, Totals> industries = new TreeMap<>();
    // Gauges: the latest point at or before the window's end per source, indicator, attributes.
    Map<String, DataPoint> latestGauges = new HashMap<>();
    Map<String, List<DataPoint>> cumulative = new HashMap<>();
    Set<String> heard = new HashSet<>();
    Set<String> known = new TreeSet<>();
    Timestamp asOf = null;
    for (DataPoint p : snapshot()) {
      if (!selected(p.getProvinceCode(), p.getIndustrySection(), provinces, sections)) {
        continue;
      }
      known.add(p.getSourceNodeCode());
      if (window.contains(p.getTime())) {
        heard.add(p.getSourceNodeCode());
      }
      if (p.hasGauge() && !window.after(p.getTime())) {
        String key = seriesOf(p);
        DataPoint seen = latestGauges.get(key);
        if (seen == null || Timestamps.compare(seen.getTime(), p.getTime()) <= 0) {
          latestGauges.put(key, p);
        }
        continue;
      }
      if (p.hasCounter() && p.getCounter().getTemporality()
          == CounterTemporality.COUNTER_TEMPORALITY_CUMULATIVE) {
        if (!window.after(p.getTime())) {
          cumulative.computeIfAbsent(seriesOf(p), k -> new ArrayList<>()).add(p);
        }
        continue;
      }
      if (!window.contains(p.getTime())) {
        continue;
      }
      asOf = later(asOf, p.getTime());
      for (Totals t : targets(p, overall, regions, industries)) {
        t.addInWindow(p);
      }
    }
    // MON-008: a cumulative series counts its increases inside the window (the whole value at
    // its first point and after a reset, i.e. a lower value with a later start_time).
    for (List<DataPoint> series : cumulative.values()) {
      series.sort(BY_TIME_THEN_SOURCE);
      DataPoint previous = null;
      for (DataPoint p : series) {
        double increase = increase(previous, p);
        if (increase < 0) {
          continue; // lower without a reset: not a counter's value; ignored
        }
        previous = p;
        if (window.contains(p.getTime())) {
          asOf = later(asOf, p.getTime());
          for (Totals t : targets(p, overall, regions, industries)) {
            t.addCount(p.getIndicator(), increase);
          }
        }
      }
    }
    for (DataPoint g : latestGauges.values()) {
      asOf = later(asOf, g.getTime());
      for (Totals t : targets(g, overall, regions, industries)) {
        t.addGauge(g);
      }
    }
    GetMarketSummaryResponse.Builder response = GetMarketSummaryResponse.newBuilder()
        .setOverall(overall.toProto());
    regions.forEach((code, t) -> response.addRegions(RegionSummary.newBuilder()
        .setProvinceCode(code).setTotals(t.toProto())));
    industries.forEach((section, t) -> response.addIndustries(IndustrySummary.newBuilder()
        .setIndustrySection(section).setTotals(t.toProto())));
    if (asOf != null) {
      response.setAsOf(asOf);
    }
    for (String code : known) {
      if (!heard.contains(code)) {
        response.addSilentNodeCodes(code);
      }
    }
    return response.build();
  }

  // One time series: source, indicator, subject and attributes (MON-008).
  private static String seriesOf(DataPoint p) {
    return p.getSourceNodeCode() + "|" + p.getIndicator() + "|" + p.getSubjectId() + "|"
        + new TreeMap<>(p.getAttributesMap());
  }

  // The increase a cumulative point adds to its series; negative if it is no counter value.
  private static double increase(DataPoint previous, DataPoint p) {
    double value = p.getCounter().getValue();
    if (previous == null) {
      return value;
    }
    double before = previous.getCounter().getValue();
    if (value >= before) {
      return value - before;
    }
    boolean reset = Timestamps.compare(p.getCounter().getStartTime(),
        previous.getCounter().getStartTime()) > 0;
    return reset ? value : -1;
  }

  private static boolean selected(String province, String section, Set<String> provinces,
      Set<String> sections) {
    return (provinces.isEmpty() || provinces.contains(province))
        && (sections.isEmpty() || sections.contains(section));
  }

  private static List<Totals> targets(DataPoint p, Totals overall, Map<String, Totals> regions,
      Map<String, Totals> industries) {
    List<Totals> out = new ArrayList<>(3);
    out.add(overall);
    if (!p.getProvinceCode().isEmpty()) {
      out.add(regions.computeIfAbsent(p.getProvinceCode(), k -> new Totals()));
    }
    if (!p.getIndustrySection().isEmpty()) {
      out.add(industries.computeIfAbsent(p.getIndustrySection(), k -> new Totals()));
    }
    return out;
  }

  private static Timestamp later(Timestamp a, Timestamp b) {
    return a == null || Timestamps.compare(a, b) < 0 ? b : a;
  }

  // Every stored point; batches are decoded on the first query that reads them, so receiving
  // never decodes a point (MON-012) and a restart needs no replay: the store is the archive.
  private List<DataPoint> snapshot() {
    List<DataPoint> all = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : store.scan(BATCHES).entrySet()) {
      all.addAll(decoded.computeIfAbsent(e.getKey(), k -> decode(e.getValue())));
    }
    return all;
  }

  private static List<DataPoint> decode(byte[] batch) {
    try {
      return ExportMonitoringDataRequest.parseFrom(batch).getDataPointsList();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored monitoring batch is corrupt", e);
    }
  }

  private static Window window(TimeWindow window, String field) {
    boolean hasStart = window.hasStartTime();
    boolean hasEnd = window.hasEndTime();
    if (hasStart && hasEnd
        && Timestamps.compare(window.getEndTime(), window.getStartTime()) <= 0) {
      throw InvalidArgumentException.of(field + ".end_time", "must be after start_time",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    return new Window(hasStart ? window.getStartTime() : null,
        hasEnd ? window.getEndTime() : null);
  }

  /** [start, end); a missing bound is open. */
  private record Window(Timestamp start, Timestamp end) {
    boolean contains(Timestamp t) {
      return !before(t) && !after(t);
    }

    boolean before(Timestamp t) {
      return start != null && Timestamps.compare(t, start) < 0;
    }

    boolean after(Timestamp t) {
      return end != null && Timestamps.compare(t, end) >= 0;
    }
  }

  /** Running totals of one selection. */
  private static final class Totals {
    private double participants;
    private double resources;
    private double units;
    private double freeUnits;
    private double fp16;
    private double fp64;
    private double demands;
    private double orders;
    private double orderValue;
    private double selections;
    private long securityEvents;
    private final Map<ComputeKind, Double> byKind = new TreeMap<>();

    void addGauge(DataPoint p) {
      double v = p.getGauge().getValue();
      switch (p.getIndicator()) {
        case Indicators.PARTICIPANTS_REGISTERED -> participants += v;
        case Indicators.RESOURCES_OFFERED -> {
          resources += v;
          kindOf(p.getAttributesMap().get("compute_kind"))
              .ifPresent(kind -> byKind.merge(kind, v, Double::sum));
        }
        case Indicators.UNITS_TOTAL -> units += v;
        case Indicators.UNITS_FREE -> freeUnits += v;
        case Indicators.FP16_PEAK_TOTAL -> fp16 += v;
        case Indicators.FP64_PEAK_TOTAL -> fp64 += v;
        default -> { }
      }
    }

    void addInWindow(DataPoint p) {
      if (p.hasEvent()) {
        if (p.getCategory() == MonitoringCategory.MONITORING_CATEGORY_SECURITY_EVENT) {
          securityEvents++;
        }
        return;
      }
      if (!p.hasCounter()
          || p.getCounter().getTemporality() != CounterTemporality.COUNTER_TEMPORALITY_DELTA) {
        return;
      }
      addCount(p.getIndicator(), p.getCounter().getValue());
    }

    void addCount(String indicator, double v) {
      switch (indicator) {
        case Indicators.DEMANDS_SUBMITTED -> demands += v;
        case Indicators.ORDERS_CONFIRMED -> orders += v;
        case Indicators.ORDERS_VALUE -> orderValue += v;
        case Indicators.SELECTIONS -> selections += v;
        default -> { }
      }
    }

    private static Optional<ComputeKind> kindOf(String text) {
      if (text == null) {
        return Optional.empty();
      }
      String name = text.toUpperCase(Locale.ROOT);
      for (ComputeKind kind : ComputeKind.values()) {
        if (kind != ComputeKind.UNRECOGNIZED && kind != ComputeKind.COMPUTE_KIND_UNSPECIFIED
            && (kind.name().equals(name) || kind.name().equals("COMPUTE_KIND_" + name))) {
          return Optional.of(kind);
        }
      }
      return Optional.empty();
    }

    MarketTotals toProto() {
      MarketTotals.Builder t = MarketTotals.newBuilder()
          .setParticipantCount(Math.round(participants))
          .setResourceCount(Math.round(resources))
          .setTotalUnits(Math.round(units))
          .setFreeUnits(Math.round(freeUnits))
          .setTotalFp16Peak(Throughput.newBuilder().setValue(fp16)
              .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
          .setTotalFp64Peak(Throughput.newBuilder().setValue(fp64)
              .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
          .setDemandCount(Math.round(demands))
          .setOrderCount(Math.round(orders))
          .setOrderValue(Money.newBuilder().setCurrencyCode("CNY")
              .setMinorUnits(Math.round(orderValue)))
          .setSelectionCount(Math.round(selections))
          .setSecurityEventCount(securityEvents);
      byKind.forEach((kind, n) -> t.addResourcesByKind(ComputeKindCount.newBuilder()
          .setComputeKind(kind).setResourceCount(Math.round(n))));
      return t.build();
    }
  }
}
