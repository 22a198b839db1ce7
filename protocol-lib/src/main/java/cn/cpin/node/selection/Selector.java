package cn.cpin.node.selection;

import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.ConstraintCheck;
import cn.cpin.selection.v1.ConstraintSide;
import cn.cpin.selection.v1.Criterion;
import cn.cpin.selection.v1.CriterionScore;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLinePolicy;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.MetricSource;
import cn.cpin.selection.v1.NetworkMetrics;
import cn.cpin.selection.v1.NormalizedNetworkMetrics;
import cn.cpin.selection.v1.PartialResult;
import cn.cpin.selection.v1.RawNetworkMetrics;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionPreferences;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Selection (system C, flow 6): symmetric matching of a demand against every offered resource
 * (SEL-001, SEL-003), network metrics per candidate from dedicated lines or the default estimate
 * (SEL-004, SEL-008), min–max ranking that explains itself (SEL-005 … SEL-009), and merging of
 * other nodes' answers (SEL-010). Reads only: selecting reserves nothing. Deterministic for equal
 * input. Thread-safe.
 *
 * <p>A demand is evaluated in one pass over the columns of a {@link SelectionIndex}, keeping for
 * each match only primitives; the matched set's minima and maxima then normalise the criteria and
 * a bounded heap keeps the best {@code max_candidates}. Only those become protobuf messages.
 */
public final class Selector {
  static final int DEFAULT_CANDIDATES = 10;
  static final double[] DEFAULT_WEIGHTS = {0.4, 0.3, 0.2, 0.1};
  private static final int PRICE = 0;
  private static final int PERFORMANCE = 1;
  private static final int LATENCY = 2;
  private static final int BANDWIDTH = 3;

  /** Other nodes' answers to the same demand (SEL-010). */
  @FunctionalInterface
  public interface RemoteNodes {
    RemoteNodes NONE = (request, timeout) -> new RemoteAnswers(List.of(), List.of(), 0);

    /** Asks every known node within {@code timeout}; never throws for a node's failure. */
    RemoteAnswers ask(SelectResourcesRequest request, Duration timeout);
  }

  /** What other nodes answered, and which did not. */
  public record RemoteAnswers(List<Candidate> candidates, List<String> missingNodeCodes,
      long evaluated) {}

  private final NetworkModel network;
  private final SelectionIndex index;
  private final Function<String, Optional<Resource>> resources;
  private final Supplier<List<DedicatedLine>> openLines;
  private final Clock clock;
  private final String self;
  private volatile RemoteNodes remote = RemoteNodes.NONE;

  /**
   * @param resources the full record of a resource of this node's inventory
   * @param openLines the node's OPEN dedicated lines
   * @param self this node's code, for resources without provenance
   */
  public Selector(NetworkModel network, Function<String, Optional<Resource>> resources,
      Supplier<List<DedicatedLine>> openLines, Clock clock, String self) {
    this.network = network;
    this.index = new SelectionIndex(network);
    this.resources = resources;
    this.openLines = openLines;
    this.clock = clock;
    this.self = self;
  }

  /** The other nodes a request with {@code include_remote_nodes} consults. */
  public void setRemoteNodes(RemoteNodes remote) {
    this.remote = remote;
  }

  /** Takes the current state of {@code r} into selection (called on every inventory change). */
  public void update(Resource r) {
    index.put(r, holder(r));
  }

  /** Takes a resource out of selection. */
  public void remove(String resourceId) {
    index.remove(resourceId);
  }

  /**
   * Ranked, explained candidates for a validated request (SEL-002 is the caller's).
   *
   * @param qualifiedReseller whether the requester is a qualified reseller (SVC-010), for offers
   *     that require one
   */
  public SelectResourcesResponse select(SelectResourcesRequest request,
      boolean qualifiedReseller) {
    Query q = new Query(request.getConstraints(), request.getPreferences(), qualifiedReseller,
        openLines.get());
    Matches matches = new Matches();
    long evaluated = scan(index, q, matches, null);
    PartialResult.Builder partial = PartialResult.newBuilder();
    Map<String, Candidate> remoteById = new HashMap<>();
    if (request.getIncludeRemoteNodes()) {
      Duration timeout = request.hasRemoteTimeout()
          ? Duration.ofMillis(Durations.toMillis(request.getRemoteTimeout()))
          : Duration.ofSeconds(2);
      RemoteAnswers answers = remote.ask(request.toBuilder().setIncludeRemoteNodes(false)
          .build(), timeout);
      SelectionIndex others = new SelectionIndex(network);
      for (Candidate c : answers.candidates()) {
        if (index.slotOf(c.getResourceId()) < 0 && !remoteById.containsKey(c.getResourceId())) {
          remoteById.put(c.getResourceId(), c);
          others.put(c.getResource(), c.getNodeCode());
        }
      }
      scan(others, q, matches, others);
      evaluated += answers.evaluated();
      partial.setPartial(!answers.missingNodeCodes().isEmpty())
          .addAllMissingNodeCodes(answers.missingNodeCodes());
    }
    int wanted = request.getMaxCandidates() == 0 ? DEFAULT_CANDIDATES
        : request.getMaxCandidates();
    List<Candidate> ranked = rank(q, matches, wanted, remoteById);
    return SelectResourcesResponse.newBuilder()
        .addAllCandidates(ranked)
        .setEvaluatedResourceCount(evaluated)
        .setMatchedResourceCount(matches.size)
        .setPartial(partial)
        .setEvaluatedAt(Timestamps.fromMillis(clock.millis()))
        .build();
  }

  private String holder(Resource r) {
    String origin = r.getProvenance().getOriginNodeCode();
    return origin.isEmpty() ? self : origin;
  }

  // ------------------------------------------------------------------ matching (SEL-001)

  /** A demand compiled to primitives once per request. */
  private final class Query {
    final DemandConstraints c;
    final SelectionPreferences preferences;
    final boolean qualifiedReseller;
    final int kind;
    final int minAccelerators;
    final int minCores;
    final double fp16;
    final double fp32;
    final double fp64;
    final double int8;
    final long units;
    final boolean[] provinces;
    final int user;
    final double maxLatencyMs;
    final long minBandwidth;
    final long hours;
    final long durationMillis;
    final long windowStart;
    final long windowEnd;
    final DedicatedLinePolicy policy;
    final List<DedicatedLine> lines = new ArrayList<>();
    final Map<String, List<Integer>> linesToResource = new HashMap<>();
    final List<List<Integer>> linesToProvince = new ArrayList<>();
    final int performance;

    Query(DemandConstraints c, SelectionPreferences preferences, boolean qualifiedReseller,
        List<DedicatedLine> open) {
      this.c = c;
      this.preferences = preferences;
      this.qualifiedReseller = qualifiedReseller;
      kind = c.getComputeKindValue();
      minAccelerators = c.getMinAcceleratorCount();
      minCores = c.getMinCpuCores();
      fp16 = SelectionIndex.Units.tflops(c.getMinFp16Peak());
      fp32 = SelectionIndex.Units.tflops(c.getMinFp32Peak());
      fp64 = SelectionIndex.Units.tflops(c.getMinFp64Peak());
      int8 = SelectionIndex.Units.tops(c.getMinInt8Peak());
      units = Math.max(1, c.getUnitCount());
      if (c.getAllowedProvinceCodesCount() > 0) {
        provinces = new boolean[network.size()];
        for (String p : c.getAllowedProvinceCodesList()) {
          int i = network.index(p);
          if (i >= 0) {
            provinces[i] = true;
          }
        }
      } else {
        provinces = null;
      }
      user = c.getUserProvinceCode().isEmpty() ? -1 : network.index(c.getUserProvinceCode());
      maxLatencyMs = c.hasMaxLatency() ? Durations.toNanos(c.getMaxLatency()) / 1e6 : -1;
      minBandwidth = c.getMinBandwidthMbps();
      Duration demanded = Billing.demandedDuration(c);
      durationMillis = demanded.toMillis();
      hours = Billing.billableHours(demanded);
      windowStart = c.hasTimeWindow() ? Timestamps.toMillis(c.getTimeWindow().getStartTime()) : 0;
      windowEnd = c.hasTimeWindow() ? Timestamps.toMillis(c.getTimeWindow().getEndTime()) : 0;
      policy = c.getDedicatedLinePolicy();
      performance = c.hasMinFp16Peak() && fp16 > 0 ? 16 : c.hasMinFp32Peak() && fp32 > 0 ? 32
          : c.hasMinFp64Peak() && fp64 > 0 ? 64 : c.hasMinInt8Peak() && int8 > 0 ? 8 : 0;
      for (int p = 0; p < network.size(); p++) {
        linesToProvince.add(new ArrayList<>());
      }
      if (user >= 0 && policy != DedicatedLinePolicy.DEDICATED_LINE_POLICY_FORBIDDEN) {
        long need = Math.max(1, minBandwidth);
        String userCode = c.getUserProvinceCode();
        for (DedicatedLine line : open) {
          if (line.getStatus() != DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN
              || line.getAvailableBandwidthMbps() < need) {
            continue;
          }
          var far = line.getEndpointA().getProvinceCode().equals(userCode) ? line.getEndpointZ()
              : line.getEndpointZ().getProvinceCode().equals(userCode) ? line.getEndpointA()
                  : null;
          if (far == null) {
            continue;
          }
          int n = lines.size();
          lines.add(line);
          if (!far.getResourceId().isEmpty()) {
            linesToResource.computeIfAbsent(far.getResourceId(), k -> new ArrayList<>()).add(n);
          } else if (network.index(far.getProvinceCode()) >= 0) {
            linesToProvince.get(network.index(far.getProvinceCode())).add(n);
          }
        }
      }
    }

    double lineLatencyMs(int line) {
      return Durations.toNanos(lines.get(line).getLatency()) / 1e6;
    }

    long lineBandwidth(int line) {
      return lines.get(line).getAvailableBandwidthMbps();
    }
  }

  /** The matched rows of one request, as parallel primitive arrays. */
  private static final class Matches {
    int size;
    SelectionIndex[] index = new SelectionIndex[64];
    int[] slot = new int[64];
    double[] latency = new double[64];
    double[] bandwidth = new double[64];
    int[] line = new int[64];
    long[] cost = new long[64];
    double[] performance = new double[64];

    void add(SelectionIndex ix, int s, double lat, double bw, int l, long c, double perf) {
      if (size == slot.length) {
        int n = size * 2;
        index = Arrays.copyOf(index, n);
        slot = Arrays.copyOf(slot, n);
        latency = Arrays.copyOf(latency, n);
        bandwidth = Arrays.copyOf(bandwidth, n);
        line = Arrays.copyOf(line, n);
        cost = Arrays.copyOf(cost, n);
        performance = Arrays.copyOf(performance, n);
      }
      index[size] = ix;
      slot[size] = s;
      latency[size] = lat;
      bandwidth[size] = bw;
      line[size] = l;
      cost[size] = c;
      performance[size] = perf;
      size++;
    }
  }

  /** Evaluates every resource of {@code ix}; returns how many were evaluated. */
  private long scan(SelectionIndex ix, Query q, Matches out, SelectionIndex tag) {
    ix.lock.readLock().lock();
    try {
      int model = ix.modelIndex(q.c.getAcceleratorModel());
      int priceCurrency = q.c.hasMaxPricePerUnitHour()
          ? ix.currencyIndex(q.c.getMaxPricePerUnitHour().getCurrencyCode()) : 0;
      int budgetCurrency = q.c.hasBudget() ? ix.currencyIndex(q.c.getBudget().getCurrencyCode())
          : 0;
      long maxPrice = q.c.getMaxPricePerUnitHour().getMinorUnits();
      long budget = q.c.getBudget().getMinorUnits();
      boolean anyModel = q.c.getAcceleratorModel().isEmpty();
      // The query and the columns in locals: HotSpot does not treat instance fields as constants,
      // and a million iterations pay for every reload.
      final int size = ix.size;
      final byte[] status = ix.status;
      final byte[] kind = ix.kind;
      final int[] models = ix.model;
      final int[] accelerators = ix.accelerators;
      final int[] cores = ix.cores;
      final double[] fp16 = ix.fp16;
      final double[] fp32 = ix.fp32;
      final double[] fp64 = ix.fp64;
      final double[] int8 = ix.int8;
      final long[] memory = ix.memory;
      final long[] storage = ix.storage;
      final int[] freeUnits = ix.freeUnits;
      final byte[] province = ix.province;
      final short[] currency = ix.currency;
      final long[] price = ix.price;
      final long[][] windows = ix.windows;
      final OfferConstraints[] offers = ix.offers;
      final int wantKind = q.kind;
      final int minAccelerators = q.minAccelerators;
      final int minCores = q.minCores;
      final double minFp16 = q.fp16;
      final double minFp32 = q.fp32;
      final double minFp64 = q.fp64;
      final double minInt8 = q.int8;
      final long minMemory = q.c.getMinMemoryGib();
      final long minStorage = q.c.getMinStorageGib();
      final long units = q.units;
      final boolean[] provinces = q.provinces;
      final boolean priceCapped = q.c.hasMaxPricePerUnitHour();
      final boolean windowed = q.c.hasTimeWindow();
      long evaluated = 0;
      for (int i = 0; i < size; i++) {
        byte st = status[i];
        if (st != 1 && st != 2) { // AVAILABLE, DEGRADED
          continue;
        }
        evaluated++;
        if (wantKind != 0 && kind[i] != wantKind
            || !anyModel && models[i] != model
            || accelerators[i] < minAccelerators
            || cores[i] < minCores
            || fp16[i] < minFp16 || fp32[i] < minFp32 || fp64[i] < minFp64
            || int8[i] < minInt8
            || memory[i] < minMemory || storage[i] < minStorage
            || freeUnits[i] < units) {
          continue;
        }
        int p = province[i];
        if (provinces != null && (p < 0 || !provinces[p])) {
          continue;
        }
        if (priceCapped && (currency[i] != priceCurrency || price[i] > maxPrice)) {
          continue;
        }
        if (windowed && windows[i] != null && !inside(windows[i], q)) {
          continue;
        }
        if (offers[i] != null && !accepts(offers[i], q)) {
          continue;
        }
        // Network (SEL-004, SEL-008): the public estimate, or a line where it is better.
        double latency = q.user >= 0 && p >= 0 ? network.latencyMs(q.user, p) : Double.NaN;
        double bandwidth = ix.uplink[i];
        int line = q.lines.isEmpty() ? -1 : bestLine(q, ix.ids[i], p);
        if (line >= 0 && (q.policy == DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED
            || lineIsBetter(q.lineLatencyMs(line), q.lineBandwidth(line), latency, bandwidth))) {
          latency = q.lineLatencyMs(line);
          bandwidth = q.lineBandwidth(line);
        } else {
          line = -1;
        }
        if (q.policy == DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED && line < 0) {
          continue;
        }
        if (q.maxLatencyMs >= 0 && !(latency <= q.maxLatencyMs)) {
          continue; // without a user province the constraint cannot hold (NaN)
        }
        if (q.minBandwidth > 0 && (q.user < 0 || bandwidth < q.minBandwidth)) {
          continue;
        }
        long cost = estimatedCost(q, ix.price[i], line);
        if (q.c.hasBudget() && (ix.currency[i] != budgetCurrency || cost > budget)) {
          continue;
        }
        out.add(tag == null ? ix : tag, i, latency, bandwidth, line, cost,
            performance(ix, i, q));
      }
      return evaluated;
    } finally {
      ix.lock.readLock().unlock();
    }
  }

  private static boolean inside(long[] windows, Query q) {
    for (int w = 0; w < windows.length; w += 2) {
      if (windows[w] <= q.windowStart && q.windowEnd <= windows[w + 1]) {
        return true;
      }
    }
    return false;
  }

  private static boolean accepts(OfferConstraints offer, Query q) {
    if (offer.hasMinLease() && q.durationMillis < Durations.toMillis(offer.getMinLease())
        || offer.hasMaxLease() && q.durationMillis > Durations.toMillis(offer.getMaxLease())
        || q.units < offer.getMinUnits()
        || offer.getRequiresQualifiedReseller() && !q.qualifiedReseller) {
      return false;
    }
    return offer.getAllowedUserProvinceCodesCount() == 0
        || offer.getAllowedUserProvinceCodesList().contains(q.c.getUserProvinceCode());
  }

  // The usable line with the lowest latency (then most bandwidth, then lowest line id).
  private static int bestLine(Query q, String resourceId, int province) {
    int best = -1;
    List<Integer> direct = q.linesToResource.get(resourceId);
    List<Integer> regional = province >= 0 ? q.linesToProvince.get(province) : List.of();
    for (List<Integer> group : direct == null ? List.of(regional) : List.of(direct, regional)) {
      for (int l : group) {
        if (best < 0 || q.lineLatencyMs(l) < q.lineLatencyMs(best)
            || q.lineLatencyMs(l) == q.lineLatencyMs(best)
            && (q.lineBandwidth(l) > q.lineBandwidth(best) || q.lineBandwidth(l)
                == q.lineBandwidth(best) && q.lines.get(l).getLineId().compareTo(
                    q.lines.get(best).getLineId()) < 0)) {
          best = l;
        }
      }
    }
    return best;
  }

  /**
   * SEL-008: a line is used if its network score beats the public network's, both normalised
   * over the two of them (the better value of each metric scores 1, the worse 0, equal both 1).
   */
  private static boolean lineIsBetter(double lineLatency, double lineBandwidth,
      double publicLatency, double publicBandwidth) {
    if (Double.isNaN(publicLatency)) {
      return true;
    }
    double line = ((lineLatency <= publicLatency ? 1 : 0)
        + (lineBandwidth >= publicBandwidth ? 1 : 0)) / 2.0;
    double pub = ((publicLatency <= lineLatency ? 1 : 0)
        + (publicBandwidth >= lineBandwidth ? 1 : 0)) / 2.0;
    return line > pub;
  }

  // SEL-009, in minor units; a cost that does not fit is more than any budget.
  private static long estimatedCost(Query q, long pricePerUnitHour, int line) {
    try {
      long cost = Math.multiplyExact(Math.multiplyExact(q.units, q.hours), pricePerUnitHour);
      if (line >= 0) {
        cost = Math.addExact(cost, Math.multiplyExact(Math.multiplyExact(
            Math.max(1, q.minBandwidth), q.hours),
            q.lines.get(line).getPricePerMbpsHour().getMinorUnits()));
      }
      return cost;
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  // SEL-005: the demanded precision's peak, else FP16 if stated, else CPU cores.
  private static double performance(SelectionIndex ix, int i, Query q) {
    return switch (q.performance) {
      case 16 -> ix.fp16[i];
      case 32 -> ix.fp32[i];
      case 64 -> ix.fp64[i];
      case 8 -> ix.int8[i];
      default -> ix.fp16[i] > 0 ? ix.fp16[i] : ix.cores[i];
    };
  }

  // ------------------------------------------------------------------ ranking (SEL-005 … 009)

  private List<Candidate> rank(Query q, Matches m, int wanted,
      Map<String, Candidate> remoteById) {
    if (m.size == 0) {
      return List.of();
    }
    double[] weights = weights(q.preferences);
    double[][] raw = new double[4][];
    raw[PRICE] = new double[m.size];
    raw[PERFORMANCE] = m.performance;
    raw[LATENCY] = m.latency;
    raw[BANDWIDTH] = m.bandwidth;
    long[] prices = new long[m.size];
    String[] ids = new String[m.size];
    for (int k = 0; k < m.size; k++) {
      SelectionIndex ix = m.index[k];
      prices[k] = ix.price[m.slot[k]];
      raw[PRICE][k] = prices[k];
      ids[k] = ix.ids[m.slot[k]];
    }
    double[] min = new double[4];
    double[] max = new double[4];
    for (int c = 0; c < 4; c++) {
      min[c] = Double.POSITIVE_INFINITY;
      max[c] = Double.NEGATIVE_INFINITY;
      for (int k = 0; k < m.size; k++) {
        min[c] = Math.min(min[c], raw[c][k]);
        max[c] = Math.max(max[c], raw[c][k]);
      }
    }
    boolean network = q.user >= 0;
    double[] scores = new double[m.size];
    for (int k = 0; k < m.size; k++) {
      double total = 0;
      for (int c = 0; c < 4; c++) {
        total += weights[c] * normalized(c, raw[c][k], min[c], max[c], network);
      }
      scores[k] = total;
    }
    // The best `wanted` matches, best first, in a small sorted array: a match enters only if it
    // beats the current last, so most matches cost one comparison and no allocation.
    int[] best = new int[Math.min(wanted, m.size)];
    int kept = 0;
    for (int k = 0; k < m.size; k++) {
      if (kept == best.length && !better(k, best[kept - 1], scores, prices, ids)) {
        continue;
      }
      int at = kept == best.length ? kept - 1 : kept++;
      while (at > 0 && better(k, best[at - 1], scores, prices, ids)) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = k;
    }
    List<Candidate> out = new ArrayList<>();
    Timestamp now = Timestamps.fromMillis(clock.millis());
    for (int rank = 0; rank < kept; rank++) {
      int k = best[rank];
      SelectionIndex ix = m.index[k];
      String id = ids[k];
      Candidate remoteCandidate = remoteById.get(id);
      Resource resource = remoteCandidate != null ? remoteCandidate.getResource()
          : resources.apply(id).orElse(null);
      if (resource == null) {
        continue; // withdrawn between the scan and now
      }
      Candidate.Builder c = Candidate.newBuilder()
          .setRank(out.size() + 1)
          .setResourceId(id)
          .setNodeCode(ix.nodeName(ix.node[m.slot[k]]))
          .setResource(resource)
          .setTotalScore(scores[k]);
      String[] units = {resource.getPricePerUnitHour().getCurrencyCode() + " minor units per "
          + "unit-hour", performanceUnit(q, resource), "ms", "Mbit/s"};
      Criterion[] criteria = {Criterion.CRITERION_PRICE, Criterion.CRITERION_PERFORMANCE,
          Criterion.CRITERION_LATENCY, Criterion.CRITERION_BANDWIDTH};
      double[] norm = new double[4];
      for (int cr = 0; cr < 4; cr++) {
        norm[cr] = normalized(cr, raw[cr][k], min[cr], max[cr], network);
        c.addCriterionScores(CriterionScore.newBuilder().setCriterion(criteria[cr])
            .setRawValue(Double.isNaN(raw[cr][k]) ? 0 : raw[cr][k]).setRawUnit(units[cr])
            .setNormalizedValue(norm[cr]).setWeight(weights[cr])
            .setWeightedScore(weights[cr] * norm[cr]));
      }
      int line = m.line[k];
      NetworkMetrics.Builder metrics = NetworkMetrics.newBuilder()
          .setToProvinceCode(resource.getSite().getProvinceCode())
          .setSource(line >= 0 ? MetricSource.METRIC_SOURCE_DEDICATED_LINE
              : MetricSource.METRIC_SOURCE_ESTIMATED)
          .setObservedAt(now);
      if (network) {
        metrics.setFromProvinceCode(q.c.getUserProvinceCode())
            .setRaw(RawNetworkMetrics.newBuilder()
                .setLatency(Durations.fromNanos(Math.round(m.latency[k] * 1e6)))
                .setBandwidthMbps((int) m.bandwidth[k]))
            .setNormalized(NormalizedNetworkMetrics.newBuilder().setLatency(norm[LATENCY])
                .setBandwidth(norm[BANDWIDTH]))
            .setScore((norm[LATENCY] + norm[BANDWIDTH]) / 2);
      }
      c.setNetwork(metrics);
      if (line >= 0) {
        c.setDedicatedLineId(q.lines.get(line).getLineId());
      }
      c.setEstimatedCost(Money.newBuilder()
          .setCurrencyCode(resource.getPricePerUnitHour().getCurrencyCode())
          .setMinorUnits(m.cost[k]));
      c.addAllConstraintChecks(checks(q, resource, m.latency[k], m.bandwidth[k], m.cost[k]));
      c.setExplanation(explanation(rank + 1, resource, m.latency[k], line >= 0
          ? q.lines.get(line).getLineId() : null, c.getConstraintChecksCount(), scores[k]));
      out.add(c.build());
    }
    return out;
  }

  // SEL-006: higher score, then lower price, then lower resource id.
  private static boolean better(int a, int b, double[] scores, long[] prices, String[] ids) {
    if (scores[a] != scores[b]) {
      return scores[a] > scores[b];
    }
    if (prices[a] != prices[b]) {
      return prices[a] < prices[b];
    }
    return ids[a].compareTo(ids[b]) < 0;
  }

  private static double normalized(int criterion, double x, double min, double max,
      boolean network) {
    if ((criterion == LATENCY || criterion == BANDWIDTH) && !network) {
      return 0;
    }
    if (max == min) {
      return 1;
    }
    boolean lowerIsBetter = criterion == PRICE || criterion == LATENCY;
    return lowerIsBetter ? (max - x) / (max - min) : (x - min) / (max - min);
  }

  /** SEL-005: preferences over their sum, or the defaults when all are zero. */
  static double[] weights(SelectionPreferences p) {
    double[] w = {p.getPriceWeight(), p.getPerformanceWeight(), p.getLatencyWeight(),
        p.getBandwidthWeight()};
    double sum = w[0] + w[1] + w[2] + w[3];
    if (sum == 0) {
      return DEFAULT_WEIGHTS.clone();
    }
    for (int i = 0; i < 4; i++) {
      w[i] /= sum;
    }
    return w;
  }

  private static String performanceUnit(Query q, Resource r) {
    return switch (q.performance) {
      case 8 -> "TOPS (INT8)";
      case 16 -> "TFLOPS (FP16)";
      case 32 -> "TFLOPS (FP32)";
      case 64 -> "TFLOPS (FP64)";
      default -> SelectionIndex.Units.tflops(r.getFp16Peak()) > 0 ? "TFLOPS (FP16)"
          : "CPU cores";
    };
  }

  // SEL-007: one check for every constraint set on either side; all hold for a candidate.
  private static List<ConstraintCheck> checks(Query q, Resource r, double latency,
      double bandwidth, long cost) {
    List<ConstraintCheck> out = new ArrayList<>();
    DemandConstraints c = q.c;
    if (c.getComputeKind() != ComputeKind.COMPUTE_KIND_UNSPECIFIED) {
      out.add(demand("compute_kind", c.getComputeKind().name(), r.getComputeKind().name()));
    }
    if (!c.getAcceleratorModel().isEmpty()) {
      out.add(demand("accelerator_model", c.getAcceleratorModel(),
          r.getAccelerator().getModel()));
    }
    if (c.getMinAcceleratorCount() > 0) {
      out.add(demand("min_accelerator_count", "≥ " + c.getMinAcceleratorCount(),
          String.valueOf(r.getAccelerator().getCount())));
    }
    if (c.getMinCpuCores() > 0) {
      out.add(demand("min_cpu_cores", "≥ " + c.getMinCpuCores(),
          String.valueOf(r.getCpu().getCores())));
    }
    if (q.fp16 > 0) {
      out.add(demand("min_fp16_peak", "≥ " + q.fp16 + " TFLOPS",
          SelectionIndex.Units.tflops(r.getFp16Peak()) + " TFLOPS"));
    }
    if (q.fp32 > 0) {
      out.add(demand("min_fp32_peak", "≥ " + q.fp32 + " TFLOPS",
          SelectionIndex.Units.tflops(r.getFp32Peak()) + " TFLOPS"));
    }
    if (q.fp64 > 0) {
      out.add(demand("min_fp64_peak", "≥ " + q.fp64 + " TFLOPS",
          SelectionIndex.Units.tflops(r.getFp64Peak()) + " TFLOPS"));
    }
    if (q.int8 > 0) {
      out.add(demand("min_int8_peak", "≥ " + q.int8 + " TOPS",
          SelectionIndex.Units.tops(r.getInt8Peak()) + " TOPS"));
    }
    if (c.getMinMemoryGib() > 0) {
      out.add(demand("min_memory_gib", "≥ " + c.getMinMemoryGib(),
          String.valueOf(r.getMemoryGib())));
    }
    if (c.getMinStorageGib() > 0) {
      out.add(demand("min_storage_gib", "≥ " + c.getMinStorageGib(),
          String.valueOf(r.getStorageGib())));
    }
    if (c.getUnitCount() > 0) {
      out.add(demand("unit_count", "≤ free units: " + c.getUnitCount(),
          String.valueOf(r.getCapacity().getFreeUnits())));
    }
    if (c.getAllowedProvinceCodesCount() > 0) {
      out.add(demand("allowed_province_codes", String.join(",",
          c.getAllowedProvinceCodesList()), r.getSite().getProvinceCode()));
    }
    if (c.hasMaxLatency()) {
      out.add(demand("max_latency", "≤ " + Durations.toMillis(c.getMaxLatency()) + " ms",
          String.format(Locale.ROOT, "%.1f ms", latency)));
    }
    if (c.getMinBandwidthMbps() > 0) {
      out.add(demand("min_bandwidth_mbps", "≥ " + c.getMinBandwidthMbps(),
          String.valueOf((long) bandwidth)));
    }
    if (c.hasMaxPricePerUnitHour()) {
      out.add(demand("max_price_per_unit_hour", "≤ " + money(c.getMaxPricePerUnitHour()),
          money(r.getPricePerUnitHour())));
    }
    if (c.hasBudget()) {
      out.add(demand("budget", "≥ estimated cost: " + money(c.getBudget()),
          cost + " " + r.getPricePerUnitHour().getCurrencyCode()));
    }
    if (c.hasTimeWindow()) {
      out.add(demand("time_window", "inside an availability window",
          r.getAvailabilityWindowsCount() == 0 ? "always available"
              : r.getAvailabilityWindowsCount() + " window(s)"));
    }
    if (c.getDedicatedLinePolicy() != DedicatedLinePolicy.DEDICATED_LINE_POLICY_UNSPECIFIED) {
      out.add(demand("dedicated_line_policy", c.getDedicatedLinePolicy().name(), "held"));
    }
    if (r.hasOfferConstraints()) {
      OfferConstraints o = r.getOfferConstraints();
      if (o.hasMinLease()) {
        out.add(offer("min_lease", "≥ " + Durations.toString(o.getMinLease()),
            q.durationMillis / 1000 + "s"));
      }
      if (o.hasMaxLease()) {
        out.add(offer("max_lease", "≤ " + Durations.toString(o.getMaxLease()),
            q.durationMillis / 1000 + "s"));
      }
      if (o.getMinUnits() > 0) {
        out.add(offer("min_units", "≥ " + o.getMinUnits(), String.valueOf(q.units)));
      }
      if (o.getAllowedUserProvinceCodesCount() > 0) {
        out.add(offer("allowed_user_province_codes", String.join(",",
            o.getAllowedUserProvinceCodesList()), c.getUserProvinceCode()));
      }
      if (o.getRequiresQualifiedReseller()) {
        out.add(offer("requires_qualified_reseller", "true", "qualified reseller"));
      }
    }
    return out;
  }

  private static ConstraintCheck demand(String name, String required, String actual) {
    return check(name, ConstraintSide.CONSTRAINT_SIDE_DEMAND, required, actual);
  }

  private static ConstraintCheck offer(String name, String required, String actual) {
    return check(name, ConstraintSide.CONSTRAINT_SIDE_OFFER, required, actual);
  }

  private static ConstraintCheck check(String name, ConstraintSide side, String required,
      String actual) {
    return ConstraintCheck.newBuilder().setConstraint(name).setSide(side).setSatisfied(true)
        .setRequiredValue(required).setActualValue(actual).build();
  }

  private static String money(Money m) {
    return m.getMinorUnits() + " " + m.getCurrencyCode() + " minor units";
  }

  private static String explanation(int rank, Resource r, double latency, String line,
      int constraints, double score) {
    return String.format(Locale.ROOT, "#%d (score %.3f): %s %s in %s at %d %s minor units per "
            + "unit-hour, %s, all %d constraint(s) hold", rank, score,
        r.getComputeKind().name().substring("COMPUTE_KIND_".length()).toLowerCase(Locale.ROOT),
        r.getResourceId(), r.getSite().getProvinceCode(), r.getPricePerUnitHour().getMinorUnits(),
        r.getPricePerUnitHour().getCurrencyCode(), Double.isNaN(latency) ? "no user province"
            : line != null ? String.format(Locale.ROOT, "%.1f ms over dedicated line %s",
                latency, line) : String.format(Locale.ROOT, "%.1f ms public network (estimated)",
                latency), constraints);
  }
}
