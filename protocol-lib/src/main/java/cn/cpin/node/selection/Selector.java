package cn.cpin.node.selection;

import static cn.cpin.node.selection.Scoring.BANDWIDTH;
import static cn.cpin.node.selection.Scoring.LATENCY;
import static cn.cpin.node.selection.Scoring.PERFORMANCE;
import static cn.cpin.node.selection.Scoring.PRICE;

import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.node.selection.SelectionIndex.Bucket;
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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * Selection (system C, flow 6): symmetric matching of a demand against every offered resource
 * (SEL-001, SEL-003), network metrics per candidate from dedicated lines or the default estimate
 * (SEL-004, SEL-008), min–max ranking that explains itself (SEL-005 … SEL-009), and merging of
 * other nodes' answers (SEL-010). Reads only: selecting reserves nothing. Deterministic for equal
 * input. Thread-safe.
 *
 * <p>A demand skips the buckets of a {@link SelectionIndex} it cannot match and filters the others
 * column by column ({@link RowFilter}), keeping for each match only its row ({@link Matches});
 * the matched set's minima and maxima then normalise the criteria ({@link Scoring}), and a small
 * sorted array keeps the best {@code max_candidates}: segments of matches that cannot reach it
 * are passed over whole, and within the others a cheap estimate turns most matches away before
 * the exact score. Only the best become protobuf messages. Over enough rows, scan and ranking
 * are shared between the calling thread and the common pool.
 */
public final class Selector {
  static final int DEFAULT_CANDIDATES = 10;
  static final double[] DEFAULT_WEIGHTS = {0.4, 0.3, 0.2, 0.1};
  /** A demand's share of the machine: the calling thread and the common pool's workers. */
  private static final int PARTS = Math.min(4, ForkJoinPool.getCommonPoolParallelism() + 1);
  /** Rows scanned as one unit of work: a few chunks. */
  private static final int SLICE_ROWS = 4 * Matches.CHUNK;
  /** Below this many rows one thread is quicker than handing work to another. */
  private static final int PARALLEL_ROWS = 1 << 16;

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
  private volatile OrderBook bookings;

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

  /**
   * Subtracts the bookings of {@code orders} from the units a demand with a window can have
   * (SEL-001: units free for the whole window).
   */
  public void followBookings(OrderBook orders) {
    orders.onBookings(index::setBooked);
    bookings = orders;
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
    Matches[] parts = Matches.take(PARTS);
    try {
      long evaluated = scan(index, q, parts);
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
          if (!index.contains(c.getResourceId()) && !remoteById.containsKey(c.getResourceId())) {
            remoteById.put(c.getResourceId(), c);
            others.put(c.getResource(), c.getNodeCode());
          }
        }
        scan(others, q, parts);
        evaluated += answers.evaluated();
        partial.setPartial(!answers.missingNodeCodes().isEmpty())
            .addAllMissingNodeCodes(answers.missingNodeCodes());
      }
      int wanted = request.getMaxCandidates() == 0 ? DEFAULT_CANDIDATES
          : request.getMaxCandidates();
      return SelectResourcesResponse.newBuilder()
          .addAllCandidates(rank(q, parts, wanted, remoteById))
          .setEvaluatedResourceCount(evaluated)
          .setMatchedResourceCount(Matches.total(parts))
          .setPartial(partial)
          .setEvaluatedAt(Timestamps.fromMillis(clock.millis()))
          .build();
    } finally {
      Matches.release(parts);
    }
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
    /** What the filters guarantee of every public-network match (else the widest bounds). */
    final double maxPrice;
    final double minPerformance;
    final double minUplink;

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
      maxPrice = c.hasMaxPricePerUnitHour() ? c.getMaxPricePerUnitHour().getMinorUnits()
          : Double.POSITIVE_INFINITY;
      minPerformance = switch (performance) {
        case 16 -> fp16;
        case 32 -> fp32;
        case 64 -> fp64;
        case 8 -> int8;
        default -> Double.NEGATIVE_INFINITY;
      };
      minUplink = minBandwidth > 0 ? minBandwidth : Double.NEGATIVE_INFINITY;
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

  /**
   * Evaluates every offered resource of {@code ix}, the buckets shared out among {@code parts}
   * scanned at the same time when there are enough rows; returns how many resources that is.
   */
  private long scan(SelectionIndex ix, Query q, Matches[] parts) {
    ix.lock.readLock().lock();
    try {
      RowFilter[] filters = filters(ix, q);
      int budgetCurrency = q.c.hasBudget()
          ? ix.currencyIndex(q.c.getBudget().getCurrencyCode()) : 0;
      long evaluated = 0;
      long rows = 0;
      List<Slice> slices = new ArrayList<>();
      for (Bucket b : ix.buckets()) {
        evaluated += b.offered;
        if (b.offered > 0 && !excluded(q, b)) {
          for (int from = 0; from < b.size; from += SLICE_ROWS) {
            slices.add(new Slice(b, from, Math.min(b.size, from + SLICE_ROWS)));
          }
          rows += b.size;
        }
      }
      AtomicInteger next = new AtomicInteger();
      inParallel(rows >= PARALLEL_ROWS ? parts.length : 1, p -> {
        for (int k; (k = next.getAndIncrement()) < slices.size(); ) {
          scan(slices.get(k), q, filters, budgetCurrency, parts[p]);
        }
      });
      return evaluated;
    } finally {
      ix.lock.readLock().unlock();
    }
  }

  /** Rows {@code [from, to)} of a bucket: a unit of scanning work. */
  private record Slice(Bucket bucket, int from, int to) {}

  /**
   * Runs {@code task} for 0 … n−1, one on the calling thread, the others in the common pool. The
   * tasks take their work from a shared counter, so that a thread that starts late (its core
   * busy elsewhere) leaves the work to the others rather than making them wait.
   */
  private static void inParallel(int n, IntConsumer task) {
    List<ForkJoinTask<?>> forks = new ArrayList<>();
    try {
      for (int p = 1; p < n; p++) {
        int part = p;
        forks.add(ForkJoinPool.commonPool().submit(() -> task.accept(part)));
      }
      task.accept(0);
    } finally {
      for (ForkJoinTask<?> fork : forks) {
        fork.join(); // also when the caller's share failed: no scan outlives the read lock
      }
    }
  }

  // Whole buckets a demand cannot match: another kind, a province not allowed, or, when no line
  // could serve, a demand that requires one or a province whose estimate is over its bound.
  private boolean excluded(Query q, Bucket b) {
    return q.kind != 0 && b.kind != q.kind
        || q.provinces != null && (b.province < 0 || !q.provinces[b.province])
        || q.lines.isEmpty() && (q.policy == DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED
            || q.maxLatencyMs >= 0 && !(publicLatency(q, b) <= q.maxLatencyMs));
  }

  private double publicLatency(Query q, Bucket b) {
    return q.user >= 0 && b.province >= 0 ? network.latencyMs(q.user, b.province) : Double.NaN;
  }

  /**
   * The column constraints a demand sets, in the order they are applied: column by column over
   * chunks of rows, so that a scan reads only the columns the demand names (SEL-001, SEL-003).
   */
  private RowFilter[] filters(SelectionIndex ix, Query q) {
    DemandConstraints c = q.c;
    List<RowFilter> f = new ArrayList<>();
    if (!c.getAcceleratorModel().isEmpty()) {
      int model = ix.modelIndex(c.getAcceleratorModel());
      f.add((b, rows, n) -> RowFilter.equal(b.model, model, rows, n));
    }
    if (c.hasMaxPricePerUnitHour()) {
      int currency = ix.currencyIndex(c.getMaxPricePerUnitHour().getCurrencyCode());
      long max = c.getMaxPricePerUnitHour().getMinorUnits();
      f.add((b, rows, n) -> RowFilter.priceAtMost(b, currency, max, rows, n));
    }
    if (q.minAccelerators > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.accelerators, q.minAccelerators, rows, n));
    }
    if (q.minCores > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.cores, q.minCores, rows, n));
    }
    if (q.fp16 > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.fp16, q.fp16, rows, n));
    }
    if (q.fp32 > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.fp32, q.fp32, rows, n));
    }
    if (q.fp64 > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.fp64, q.fp64, rows, n));
    }
    if (q.int8 > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.int8, q.int8, rows, n));
    }
    if (c.getMinMemoryGib() > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.memory, c.getMinMemoryGib(), rows, n));
    }
    if (c.getMinStorageGib() > 0) {
      f.add((b, rows, n) -> RowFilter.atLeast(b.storage, c.getMinStorageGib(), rows, n));
    }
    // After the demand's own columns, which most rows fail: whether the row is offered, and
    // without a window whether it has the units free now (with one, a filter below).
    long free = c.hasTimeWindow() ? Long.MIN_VALUE : q.units;
    f.add((b, rows, n) -> RowFilter.offered(b, free, rows, n));
    if (c.hasTimeWindow()) {
      f.add((b, rows, n) -> RowFilter.where(rows, n,
          i -> freeForWindow(b.totalUnits[i], b.booked[i], b.ids[i], q) >= q.units));
    }
    if (q.lines.isEmpty()) { // the public network: bandwidth and cost are columns too
      if (q.minBandwidth > 0) {
        f.add(q.user < 0 ? (b, rows, n) -> 0
            : (b, rows, n) -> RowFilter.atLeast(b.uplink, q.minBandwidth, rows, n));
      }
      if (c.hasBudget()) {
        int currency = ix.currencyIndex(c.getBudget().getCurrencyCode());
        long budget = c.getBudget().getMinorUnits();
        f.add((b, rows, n) -> RowFilter.where(rows, n,
            i -> b.currency[i] == currency && estimatedCost(q, b.price[i], -1) <= budget));
      }
    }
    if (c.hasTimeWindow()) {
      f.add((b, rows, n) -> RowFilter.where(rows, n,
          i -> b.windows[i] == null || inside(b.windows[i], q)));
    }
    f.add((b, rows, n) -> b.withOffers == 0 ? n : RowFilter.where(rows, n,
        i -> b.offers[i] == null || accepts(b.offers[i], q)));
    return f.toArray(RowFilter[]::new);
  }

  /** A slice, chunk by chunk: the column filters, then, with lines, network and budget. */
  private void scan(Slice slice, Query q, RowFilter[] filters, int budgetCurrency,
      Matches out) {
    final Bucket b = slice.bucket();
    final int[] rows = out.chunk;
    final double publicLatency = publicLatency(q, b);
    final boolean lines = !q.lines.isEmpty();
    final boolean required = q.policy == DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED;
    final int first = out.size;
    for (int base = slice.from(); base < slice.to(); base += Matches.CHUNK) {
      int end = Math.min(slice.to(), base + Matches.CHUNK);
      int n = end - base;
      for (int j = 0; j < n; j++) {
        rows[j] = base + j;
      }
      for (int f = 0; f < filters.length && n > 0; f++) {
        n = filters[f].keep(b, rows, n);
      }
      out.ensureRoom(n);
      if (!lines) { // every filter has been applied: the rows left are matches
        addPublic(b, base / Matches.CHUNK, rows, n, q, publicLatency, out);
        continue;
      }
      for (int j = 0; j < n; j++) {
        int i = rows[j];
        // Network (SEL-004, SEL-008): the public estimate, or a line where it is better.
        double latency = publicLatency;
        double bandwidth = b.uplink[i];
        int line = lines ? bestLine(q, b.ids[i], b.province) : -1;
        if (line >= 0 && (required
            || lineIsBetter(q.lineLatencyMs(line), q.lineBandwidth(line), latency, bandwidth))) {
          latency = q.lineLatencyMs(line);
          bandwidth = q.lineBandwidth(line);
        } else {
          line = -1;
        }
        if (required && line < 0
            || q.maxLatencyMs >= 0 && !(latency <= q.maxLatencyMs) // NaN: no user province
            || q.minBandwidth > 0 && (q.user < 0 || bandwidth < q.minBandwidth)
            || q.c.hasBudget() && (b.currency[i] != budgetCurrency
                || estimatedCost(q, b.price[i], line) > q.c.getBudget().getMinorUnits())) {
          continue;
        }
        out.row[out.size] = i;
        out.line[out.size++] = line;
        out.criterion(PRICE, b.price[i]);
        out.criterion(PERFORMANCE, performanceColumn(b, q)[i]);
        out.criterion(LATENCY, latency);
        out.criterion(BANDWIDTH, bandwidth);
      }
    }
    if (lines) {
      out.endSegmentWithLines(b, first);
    }
  }

  /**
   * Records a chunk's matches over the public network. When the chunk's value ranges, narrowed by
   * what the demand's filters guarantee of its matches, lie within the ranges this part has seen,
   * its matches cannot change the minima and maxima, and only their rows are copied: most chunks
   * of a broad demand, whose matches would otherwise be read once more here.
   */
  private static void addPublic(Bucket b, int chunk, int[] rows, int n, Query q, double latency,
      Matches out) {
    if (n == 0) {
      return;
    }
    out.criterion(LATENCY, latency);
    SelectionIndex.Zones performance = performanceZones(b, q);
    double lowestPrice = b.priceZones.min[chunk];
    double highestPrice = Math.min(b.priceZones.max[chunk], q.maxPrice);
    double lowestPerformance = Math.max(performance.min[chunk], q.minPerformance);
    double lowestUplink = Math.max(b.uplinkZones.min[chunk], q.minUplink);
    if (out.within(PRICE, lowestPrice, highestPrice)
        && out.within(PERFORMANCE, lowestPerformance, performance.max[chunk])
        && out.within(BANDWIDTH, lowestUplink, b.uplinkZones.max[chunk])) {
      out.addWithin(b, rows, n, lowestPrice, performance.max[chunk], b.uplinkZones.max[chunk]);
    } else {
      out.addPublic(b, rows, n, performanceColumn(b, q), latency);
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

  // SEL-001: the units not booked at any instant of the demand's window (bookings are kept at
  // the node holding the resource; other nodes' resources count their total).
  private long freeForWindow(long total, boolean booked, String resourceId, Query q) {
    OrderBook orders = bookings;
    return booked && orders != null
        ? total - orders.bookedPeak(resourceId, q.windowStart, q.windowEnd) : total;
  }

  /** The per-chunk ranges of {@link #performanceColumn}. */
  private static SelectionIndex.Zones performanceZones(Bucket b, Query q) {
    return switch (q.performance) {
      case 16 -> b.fp16Zones;
      case 32 -> b.fp32Zones;
      case 64 -> b.fp64Zones;
      case 8 -> b.int8Zones;
      default -> b.fp16OrCoresZones;
    };
  }

  // SEL-005: the demanded precision's peak, else FP16 if stated, else CPU cores.
  private static double[] performanceColumn(Bucket b, Query q) {
    return switch (q.performance) {
      case 16 -> b.fp16;
      case 32 -> b.fp32;
      case 64 -> b.fp64;
      case 8 -> b.int8;
      default -> b.fp16OrCores;
    };
  }

  // ------------------------------------------------------------------ ranking (SEL-005 … 009)

  /** The best matches so far, best first, in small arrays (SEL-006 order). */
  private static final class Best {
    final double[] score;
    final long[] price;
    final Bucket[] bucket;
    final int[] row;
    final int[] line;
    int size;

    Best(int capacity) {
      score = new double[capacity];
      price = new long[capacity];
      bucket = new Bucket[capacity];
      row = new int[capacity];
      line = new int[capacity];
    }

    /** Below this estimate a match cannot enter the list (see {@link Scoring#MARGIN}). */
    double cut() {
      return size == score.length ? score[size - 1] - Scoring.MARGIN : Double.NEGATIVE_INFINITY;
    }

    /** Offers a match; most matches cost one comparison with the current last and no allocation. */
    void offer(double s, long p, Bucket b, int i, int l) {
      int last = score.length - 1;
      if (size == score.length && !better(s, p, b, i, last)) {
        return;
      }
      int at = size == score.length ? last : size++;
      while (at > 0 && better(s, p, b, i, at - 1)) {
        score[at] = score[at - 1];
        price[at] = price[at - 1];
        bucket[at] = bucket[at - 1];
        row[at] = row[at - 1];
        line[at] = line[at - 1];
        at--;
      }
      score[at] = s;
      price[at] = p;
      bucket[at] = b;
      row[at] = i;
      line[at] = l;
    }

    // SEL-006: higher score, then lower price, then lower resource id.
    private boolean better(double s, long p, Bucket b, int i, int than) {
      if (s != score[than]) {
        return s > score[than];
      }
      if (p != price[than]) {
        return p < price[than];
      }
      return b.ids[i].compareTo(bucket[than].ids[row[than]]) < 0;
    }
  }

  /**
   * Every segment of matches of every part, most promising first: segments with lines (scored
   * exactly), then the others by the estimate of their best price, performance and bandwidth.
   */
  private final class SegmentOrder {
    final int[] part;
    final int[] segment;
    final double[] bound;

    SegmentOrder(Query q, Matches[] parts, Scoring scoring) {
      int n = 0;
      for (Matches m : parts) {
        n += m.segments;
      }
      Integer[] order = new Integer[n];
      int[] partOf = new int[n];
      int[] segmentOf = new int[n];
      double[] boundOf = new double[n];
      for (int p = 0, k = 0; p < parts.length; p++) {
        Matches m = parts[p];
        for (int s = 0; s < m.segments; s++, k++) {
          order[k] = k;
          partOf[k] = p;
          segmentOf[k] = s;
          boundOf[k] = m.segmentWithLines[s] ? Double.POSITIVE_INFINITY : estimate(
              scoring.estimateBase(publicLatency(q, m.segmentBucket[s])),
              m.lowestPrice[s], scoring.priceOrigin, scoring.priceSlope,
              m.highestPerformance[s], scoring.performanceOrigin, scoring.performanceSlope,
              m.highestBandwidth[s], scoring.bandwidthOrigin, scoring.bandwidthSlope);
        }
      }
      java.util.Arrays.sort(order, (x, y) -> Double.compare(boundOf[y], boundOf[x]));
      part = new int[n];
      segment = new int[n];
      bound = new double[n];
      for (int k = 0; k < n; k++) {
        part[k] = partOf[order[k]];
        segment[k] = segmentOf[order[k]];
        bound[k] = boundOf[order[k]];
      }
    }
  }

  /**
   * The best {@code wanted} matches of the segments this thread takes from {@code next}, in
   * {@code order}, scored over the whole matched set.
   */
  private Best best(Query q, Matches[] parts, SegmentOrder order, AtomicInteger next,
      int wanted, Scoring scoring) {
    Best best = new Best(wanted);
    final double priceOrigin = scoring.priceOrigin;
    final double priceSlope = scoring.priceSlope;
    final double performanceOrigin = scoring.performanceOrigin;
    final double performanceSlope = scoring.performanceSlope;
    final double bandwidthOrigin = scoring.bandwidthOrigin;
    final double bandwidthSlope = scoring.bandwidthSlope;
    for (int k; (k = next.getAndIncrement()) < order.bound.length; ) {
      final Matches m = parts[order.part[k]];
      final int s = order.segment[k];
      final int[] rows = m.row;
      final Bucket b = m.segmentBucket[s];
      final long[] price = b.price;
      final double[] performance = performanceColumn(b, q);
      final int[] uplink = b.uplink;
      final double latency = publicLatency(q, b);
      final int end = m.segmentEnd[s];
      if (m.segmentWithLines[s]) {
        for (int j = m.segmentStart(s); j < end; j++) {
          int i = rows[j];
          int line = m.line[j];
          double score = scoring.score(price[i], performance[i],
              line < 0 ? latency : q.lineLatencyMs(line),
              line < 0 ? uplink[i] : q.lineBandwidth(line));
          best.offer(score, price[i], b, i, line);
        }
        continue;
      }
      double cut = best.cut();
      if (order.bound[k] < cut) {
        // Nothing here or in any later segment (their bounds are no higher) can beat the
        // matches this list holds, so none can be among the best: the other threads stop too.
        next.set(order.bound.length);
        break;
      }
      // Most matches cannot enter the list either: the estimate turns them away (each of its
      // terms is monotonic, so none exceeds the segment's bound), and only those it puts near
      // the list's last or above get the exact score.
      final double base = scoring.estimateBase(latency);
      for (int j = m.segmentStart(s); (j = nextAtLeast(cut, rows, j, end, base, price,
          priceOrigin, priceSlope, performance, performanceOrigin, performanceSlope, uplink,
          bandwidthOrigin, bandwidthSlope)) < end; j++) {
        int i = rows[j];
        best.offer(scoring.score(price[i], performance[i], latency, uplink[i]), price[i], b, i,
            -1);
        cut = best.cut();
      }
    }
    return best;
  }

  /**
   * The first of {@code rows[from … end)} whose estimate is not below {@code cut}, or {@code end}.
   * A loop of its own, so that the JIT compiles it for itself rather than with the profile of
   * whichever demands ran {@link #best} before.
   */
  private static int nextAtLeast(double cut, int[] rows, int from, int end, double base,
      long[] price, double priceOrigin, double priceSlope, double[] performance,
      double performanceOrigin, double performanceSlope, int[] uplink, double bandwidthOrigin,
      double bandwidthSlope) {
    for (int j = from; j < end; j++) {
      int i = rows[j];
      if (!(estimate(base, price[i], priceOrigin, priceSlope, performance[i], performanceOrigin,
          performanceSlope, uplink[i], bandwidthOrigin, bandwidthSlope) < cut)) {
        return j;
      }
    }
    return end;
  }

  /** {@link Scoring}'s estimate, its fields passed as locals for the hot loop's registers. */
  private static double estimate(double base, double price, double priceOrigin,
      double priceSlope, double performance, double performanceOrigin, double performanceSlope,
      double bandwidth, double bandwidthOrigin, double bandwidthSlope) {
    return base + (price - priceOrigin) * priceSlope
        + (performance - performanceOrigin) * performanceSlope
        + (bandwidth - bandwidthOrigin) * bandwidthSlope;
  }

  private List<Candidate> rank(Query q, Matches[] parts, int wanted,
      Map<String, Candidate> remoteById) {
    int matched = Matches.total(parts);
    if (matched == 0) {
      return List.of();
    }
    double[] weights = weights(q.preferences);
    boolean network = q.user >= 0;
    double[] min = new double[4];
    double[] max = new double[4];
    for (int cr = 0; cr < 4; cr++) {
      min[cr] = Double.POSITIVE_INFINITY;
      max[cr] = Double.NEGATIVE_INFINITY;
      for (Matches m : parts) {
        min[cr] = Math.min(min[cr], m.min[cr]);
        max[cr] = Math.max(max[cr], m.max[cr]);
      }
    }
    Scoring scoring = new Scoring(weights, min, max, network);
    SegmentOrder order = new SegmentOrder(q, parts, scoring);
    int threads = matched >= PARALLEL_ROWS ? parts.length : 1;
    Best[] bests = new Best[threads];
    AtomicInteger next = new AtomicInteger();
    IntConsumer rankPart = p -> bests[p] = best(q, parts, order, next,
        Math.min(wanted, matched), scoring);
    inParallel(threads, rankPart);
    Best best = bests[0];
    for (int p = 1; p < threads; p++) {
      for (int e = 0; e < bests[p].size; e++) {
        best.offer(bests[p].score[e], bests[p].price[e], bests[p].bucket[e], bests[p].row[e],
            bests[p].line[e]);
      }
    }
    List<Candidate> out = new ArrayList<>();
    Timestamp now = Timestamps.fromMillis(clock.millis());
    for (int rank = 0; rank < best.size; rank++) {
      Bucket b = best.bucket[rank];
      int i = best.row[rank];
      int line = best.line[rank];
      String id = b.ids[i];
      Candidate remoteCandidate = remoteById.get(id);
      Resource resource = remoteCandidate != null ? remoteCandidate.getResource()
          : resources.apply(id).orElse(null);
      if (resource == null) {
        continue; // withdrawn between the scan and now
      }
      double latency = line >= 0 ? q.lineLatencyMs(line) : publicLatency(q, b);
      double bandwidth = line >= 0 ? q.lineBandwidth(line) : b.uplink[i];
      double[] raw = {b.price[i], performanceColumn(b, q)[i], latency, bandwidth};
      long cost = estimatedCost(q, b.price[i], line);
      Candidate.Builder c = Candidate.newBuilder()
          .setRank(out.size() + 1)
          .setResourceId(id)
          .setNodeCode(b.nodeName(i))
          .setResource(resource)
          .setTotalScore(best.score[rank]);
      String[] units = {resource.getPricePerUnitHour().getCurrencyCode() + " minor units per "
          + "unit-hour", performanceUnit(q, resource), "ms", "Mbit/s"};
      Criterion[] criteria = {Criterion.CRITERION_PRICE, Criterion.CRITERION_PERFORMANCE,
          Criterion.CRITERION_LATENCY, Criterion.CRITERION_BANDWIDTH};
      double[] norm = new double[4];
      for (int cr = 0; cr < 4; cr++) {
        norm[cr] = scoring.normalized(cr, raw[cr]);
        c.addCriterionScores(CriterionScore.newBuilder().setCriterion(criteria[cr])
            .setRawValue(Double.isNaN(raw[cr]) ? 0 : raw[cr]).setRawUnit(units[cr])
            .setNormalizedValue(norm[cr]).setWeight(weights[cr])
            .setWeightedScore(weights[cr] * norm[cr]));
      }
      NetworkMetrics.Builder metrics = NetworkMetrics.newBuilder()
          .setToProvinceCode(resource.getSite().getProvinceCode())
          .setSource(line >= 0 ? MetricSource.METRIC_SOURCE_DEDICATED_LINE
              : MetricSource.METRIC_SOURCE_ESTIMATED)
          .setObservedAt(now);
      if (network) {
        metrics.setFromProvinceCode(q.c.getUserProvinceCode())
            .setRaw(RawNetworkMetrics.newBuilder()
                .setLatency(Durations.fromNanos(Math.round(latency * 1e6)))
                .setBandwidthMbps((int) bandwidth))
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
          .setMinorUnits(cost));
      long free = q.c.hasTimeWindow() ? freeForWindow(b.totalUnits[i], b.booked[i], id, q)
          : resource.getCapacity().getFreeUnits();
      c.addAllConstraintChecks(checks(q, resource, latency, bandwidth, cost, free));
      c.setExplanation(explanation(rank + 1, resource, latency, line >= 0
          ? q.lines.get(line).getLineId() : null, c.getConstraintChecksCount(),
          best.score[rank]));
      out.add(c.build());
    }
    return out;
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
      double bandwidth, long cost, long freeUnits) {
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
      out.add(demand("unit_count", (c.hasTimeWindow() ? "≤ units free for the window: "
          : "≤ free units: ") + c.getUnitCount(), String.valueOf(freeUnits)));
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
