package cn.cpin.bench;

import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IdentifierServiceGrpc.IdentifierServiceFutureStub;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.identifier.v1.IssueIdentifierResponse;
import cn.cpin.identifier.v1.IssueIdentifiersRequest;
import cn.cpin.identifier.v1.ResolveIdentifierRequest;
import cn.cpin.node.EventLog;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.node.v1.NodeInfoServiceGrpc.NodeInfoServiceFutureStub;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.EtcdKeyValueStore;
import cn.cpin.regional.RegionalBench;
import com.google.common.util.concurrent.ListenableFuture;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.options.DeleteOption;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The benchmark harness of ARCHITECTURE.md §9 for the identifier flow (issue 4): (a) resolution
 * over mTLS against an empty RPC on the same server and channel, (b) issuance and filing on the
 * embedded store, at the library and end to end over gRPC, (c) issuance on etcd against raw jetcd
 * puts. Every figure is compared with a baseline or target measured in the same run; every loop is
 * bounded by time or count. Prints the figures and a summary table; it never fails on a figure.
 */
@Command(name = "cpin-benchmarks", mixinStandardHelpOptions = true,
    description = "CPIN identifier-flow benchmarks (ARCHITECTURE.md §9); see docs/benchmarks.md.")
public final class Benchmarks implements Callable<Integer> {
  private static final double THROUGHPUT_TARGET = 10_000;
  private static final double RESOLVE_RATIO_TARGET = 0.8;
  private static final double ETCD_RATIO_TARGET = 0.5;
  private static final Map<String, String> ATTRIBUTES = Map.of("site", "Shaoguan");
  private static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  private static final int OWNERS = 16;
  /** A/B pairs per comparison: short alternating phases cancel the drift of a shared machine. */
  private static final int PAIRS = 4;
  private static final CpinIdentity REGIONAL_OPERATOR = CpinIdentity.operator(Federation.REGIONAL);

  @Option(names = "--only", split = ",", paramLabel = "a|b|c|g|m|o|s",
      description = "Run only these benchmarks (default: a,b,c; g is aggregation, m the "
          + "monitoring uplink, o orders, s selection).")
  private Set<String> only = Set.of("a", "b", "c");

  @Option(names = "--seconds", defaultValue = "10",
      description = "Measured seconds per figure (default: ${DEFAULT-VALUE}); split into two "
          + "alternating phases where a baseline is compared.")
  private double seconds;

  @Option(names = "--warmup", defaultValue = "5",
      description = "Warm-up seconds before a comparison (default: ${DEFAULT-VALUE}).")
  private double warmup;

  @Option(names = "--outstanding", defaultValue = "64",
      description = "Calls in flight on the one channel, for gRPC loads (default: ${DEFAULT-VALUE}).")
  private int outstanding;

  @Option(names = "--threads", defaultValue = "16",
      description = "Issuing threads for library-level loads (default: ${DEFAULT-VALUE}).")
  private int threads;

  @Option(names = "--batch", defaultValue = "100",
      description = "(b3) identifiers per IssueIdentifiers call (default: ${DEFAULT-VALUE}).")
  private int batch;

  @Option(names = "--batches-in-flight", defaultValue = "8",
      description = "(b3) IssueIdentifiers calls in flight (default: ${DEFAULT-VALUE}).")
  private int batchesInFlight;

  @Option(names = "--identifiers", defaultValue = "1000",
      description = "Filed identifiers resolved at random in (a) (default: ${DEFAULT-VALUE}).")
  private int identifiers;

  @Option(names = "--filing-timeout", defaultValue = "75",
      description = "Seconds to wait for filing to finish after issuance (default: "
          + "${DEFAULT-VALUE}); a shortfall is reported, not waited out.")
  private double filingTimeout;

  @Option(names = "--etcd", defaultValue = "auto", paramLabel = "auto|none|URL",
      description = "auto: start a throw-away etcd from the etcd binary if there is one; none: "
          + "skip (c); URL: use that etcd (default: ${DEFAULT-VALUE}).")
  private String etcd;

  @Option(names = "--monitoring-batch", defaultValue = "5000",
      description = "(m) data points per uplink batch (default: ${DEFAULT-VALUE}).")
  private int monitoringBatch;

  @Option(names = "--monitoring-attributes", defaultValue = "0",
      description = "(m) attributes per data point (default: ${DEFAULT-VALUE}).")
  private int monitoringAttributes;

  @Option(names = "--providers", defaultValue = "10000",
      description = "(g) simulated providers, half at the industry node (default: ${DEFAULT-VALUE}).")
  private int providers;

  @Option(names = "--changes-per-second", defaultValue = "500",
      description = "(g) provider changes per second while measuring (default: ${DEFAULT-VALUE}).")
  private double changesPerSecond;

  @Option(names = "--heap-resources", defaultValue = "1000000",
      description = "(g) resources in the inventory whose heap is measured (default: "
          + "${DEFAULT-VALUE}).")
  private int heapResources;

  @Option(names = "--selection-resources", defaultValue = "1000000",
      description = "(s) resources selection ranks over (default: ${DEFAULT-VALUE}).")
  private int selectionResources;

  @Option(names = "--demands", defaultValue = "200",
      description = "(s) demands measured; the naive scan runs for every fifth (default: "
          + "${DEFAULT-VALUE}).")
  private int demands;

  private final List<Row> rows = new ArrayList<>();
  private final List<String> notes = new ArrayList<>();

  /** One line of the summary table. */
  record Row(String figure, double value, String unit, String target, String ratio,
      String verdict) {}

  public static void main(String[] args) {
    System.exit(new CommandLine(new Benchmarks()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    long started = System.nanoTime();
    printMachine();
    Path root = Files.createTempDirectory("cpin-bench-");
    try {
      if (only.contains("a") || only.contains("b")) {
        System.out.println("starting national + regional (86.44) nodes in-process, mTLS, "
            + "loopback; data under " + root);
        try (Federation federation = Federation.start(root)) {
          if (only.contains("a")) {
            resolution(federation);
          }
          if (only.contains("b")) {
            libraryIssuance(federation, root);
            endToEndIssuance(federation);
            batchedIssuance(federation);
          }
          reportProblems("national", federation.nationalEvents);
          reportProblems("regional", federation.regionalEvents);
        }
      }
      if (only.contains("c")) {
        etcdIssuance(root);
      }
      if (only.contains("g")) {
        aggregation(root);
      }
      if (only.contains("m")) {
        monitoringUplink(root);
      }
      if (only.contains("o")) {
        orders(root);
      }
      if (only.contains("s")) {
        selection();
      }
    } finally {
      deleteTree(root);
    }
    printTable((System.nanoTime() - started) / 1e9);
    return 0;
  }

  // ---- (s) selection over a million resources, against a naive full scan -------------------

  private void selection() {
    System.out.printf("%n(s) selection: %,d seeded resources, %d seeded demands, against a naive "
        + "full scan of every fifth%n", selectionResources, demands);
    SelectionBench.Figures f = SelectionBench.run(selectionResources, demands, 5, System.out);
    rows.add(new Row("(s) selection wall time p99", f.p99(), "ms", "≤ 10 ms",
        fmtRatio(SelectionBench.TARGET_P99_MILLIS / f.p99()),
        verdict(f.p99() <= SelectionBench.TARGET_P99_MILLIS)));
    rows.add(new Row("(s) selection wall time p50", f.p50(), "ms", "", "", ""));
    rows.add(new Row("(s) CPU per demand (all threads) p99", f.cpuP99(), "ms", "", "", ""));
    rows.add(new Row("(s) naive full scan p99 (baseline)", f.naiveP99(), "ms", "",
        fmtRatio(f.naiveP99() / f.p99()), ""));
    rows.add(new Row("(s) same rankings as the naive scan", f.sameRankings() ? 1 : 0, "", "1",
        "", verdict(f.sameRankings())));
    notes.add(String.format(Locale.ROOT, "(s) demands matched %,d resources on average",
        f.meanMatched()));
  }

  // ---- (o) orders: reservations under contention, zero double booking ---------------------

  private void orders(Path root) throws Exception {
    int threads = 8;
    System.out.printf("%n(o) orders: %d threads reserve 1-unit 1-hour slots (%d slots) of 2 "
        + "resources of 4 units, holding 4 each; baseline: a resource per thread%n", threads,
        OrderBench.SLOTS);
    Files.createDirectories(root.resolve("o"));
    OrderBench.Figures f = OrderBench.run(root.resolve("o"), threads, 2, 4, 4, seconds, PAIRS,
        System.out);
    double contended = f.contended().stream().mapToDouble(OrderBench.Phase::reservationsPerSecond)
        .average().orElse(0);
    double refused = f.contended().stream().mapToDouble(OrderBench.Phase::refusalsPerSecond)
        .average().orElse(0);
    double own = f.uncontended().stream()
        .mapToDouble(OrderBench.Phase::reservationsPerSecond).average().orElse(0);
    rows.add(new Row("(o) reservations/s, 8 threads on 2 shared resources", contended, "orders/s",
        "", "", ""));
    rows.add(new Row("(o) refused/s (no room), same phases", refused, "orders/s", "", "", ""));
    rows.add(new Row("(o) reservations/s, a resource per thread (baseline)", own, "orders/s", "",
        "", ""));
    rows.add(new Row("(o) contended / baseline", contended / own, "×", "", fmtRatio(
        contended / own), ""));
    rows.add(new Row("(o) slots seen over-committed", f.doubleBooked(), "", "0", "",
        verdict(f.doubleBooked() == 0)));
    notes.add(String.format(Locale.ROOT, "(o) %,d orders read back, all RELEASED; each granted "
        + "reservation is followed by a release (two durable writes)", f.ordersChecked()));
  }

  // ---- (m) monitoring uplink: points per second over one stream -----------------------------

  private void monitoringUplink(Path root) throws Exception {
    System.out.printf("%n(m) monitoring uplink, one stream from a sender process (as 86.44) to "
        + "the national node in this one, batches of %,d points with %d attributes each, spool "
        + "on vs spool in memory%n",
        monitoringBatch, monitoringAttributes);
    try (Federation federation = Federation.start(root.resolve("m"))) {
      MonitoringBench.Figures f = MonitoringBench.run(federation, root.resolve("m-spools"),
          monitoringBatch, monitoringAttributes, warmup, seconds / PAIRS, PAIRS, System.out);
      double on = f.spooled().stream().mapToDouble(Double::doubleValue).average().orElse(0);
      double off = f.baseline().stream().mapToDouble(Double::doubleValue).average().orElse(0);
      rows.add(new Row("(m) uplink points/s, spool on", on, "points/s", "≥ 200,000/s",
          fmtRatio(on / MonitoringBench.TARGET), verdict(on >= MonitoringBench.TARGET)));
      rows.add(new Row("(m) uplink points/s, spool in memory (baseline)", off, "points/s", "", "",
          ""));
      rows.add(new Row("(m) spool on / in memory", on / off, "×", "", fmtRatio(on / off), ""));
      double perCpu = f.spooledPerCpu().stream().mapToDouble(Double::doubleValue).average()
          .orElse(0);
      rows.add(new Row("(m) points per CPU-s (both processes), spool on", perCpu,
          "points/CPU-s", "", "", ""));
      reportProblems("national (m)", federation.nationalEvents);
    }
  }

  // ---- (g) aggregation: propagation latency and heap ---------------------------------------

  private void aggregation(Path root) throws Exception {
    // The heap first, while the JVM holds little else.
    if (heapResources > 0) {
      System.out.printf("%n(g) heap of the inventory for %,d resources%n", heapResources);
      long heap = AggregationBench.heapFor(heapResources, System.out);
      double mib = heap / (1024.0 * 1024);
      rows.add(new Row("(g) inventory heap, " + heapResources / 1000 + "k resources", mib, "MiB",
          "<= 1024", fmtRatio(heap / (double) AggregationBench.HEAP_TARGET_BYTES),
          verdict(heap <= AggregationBench.HEAP_TARGET_BYTES)));
    }
    AggregationBench.Figures f = AggregationBench.propagation(root.resolve("aggregation"),
        providers, 3, warmup, seconds, changesPerSecond, System.out);
    for (int run = 0; run < f.viaIndustryMs().size(); run++) {
      double[] via = f.viaIndustryMs().get(run);
      double[] direct = f.directMs().get(run);
      String which = " (run " + (run + 1) + ")";
      rows.add(new Row("(g) change → regional view p50, via industry" + which,
          AggregationBench.percentile(via, 50), "ms", "", "", ""));
      double p99 = AggregationBench.percentile(via, 99);
      rows.add(new Row("(g) change → regional view p99, via industry" + which, p99, "ms",
          "<= 1000", fmtRatio(p99 / AggregationBench.LATENCY_TARGET_MS),
          verdict(p99 <= AggregationBench.LATENCY_TARGET_MS && f.lost() == 0)));
      rows.add(new Row("(g) change → regional view p50, direct" + which,
          AggregationBench.percentile(direct, 50), "ms", "", "", ""));
      double d99 = AggregationBench.percentile(direct, 99);
      rows.add(new Row("(g) change → regional view p99, direct" + which, d99, "ms", "<= 1000",
          fmtRatio(d99 / AggregationBench.LATENCY_TARGET_MS),
          verdict(d99 <= AggregationBench.LATENCY_TARGET_MS && f.lost() == 0)));
    }
    rows.add(new Row("(g) regional resources wrong after drop/resume/industry restart",
        f.wrongAfterRestart(), "", "0", "", verdict(f.wrongAfterRestart() == 0)));
    notes.add(String.format(Locale.ROOT, "(g) %,d providers in their own process; %,d changes, "
        + "%d not seen within 10 s; %,d resources OFFLINE at the regional node after dropping "
        + "every 10th provider for three heartbeat intervals", providers, f.changes(), f.lost(),
        f.offlineAfterDrop()));
  }

  /** "Max open files" of this process (soft/hard), from /proc/self/limits. */
  static String openFileLimits() {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of(
          "/proc/self/limits"))) {
        if (line.startsWith("Max open files")) {
          String[] f = line.substring("Max open files".length()).trim().split("\\s+");
          return "open files soft " + f[0] + ", hard " + f[1];
        }
      }
    } catch (java.io.IOException e) {
      // not Linux
    }
    return "open files: unknown";
  }

  // ---- (a) resolution vs an empty RPC ------------------------------------------------------

  private void resolution(Federation federation) throws Exception {
    System.out.printf("%n(a) resolution over mTLS vs GetNodeInfo, one channel as the regional "
        + "operator, %d calls in flight%n", outstanding);
    ManagedChannel channel = federation.regionalAsItsOperator();
    IdentifierServiceFutureStub library = IdentifierServiceGrpc.newFutureStub(channel);
    NodeInfoServiceFutureStub nodeInfo = NodeInfoServiceGrpc.newFutureStub(channel);

    String run = UUID.randomUUID().toString().substring(0, 8);
    List<String> owners = participants(federation, library, "bench-a-owner-" + run);
    long filedBefore = federation.regionalEvents.filed();
    List<String> issued = java.util.Collections.synchronizedList(new ArrayList<>());
    Load.Phase issue = Load.asyncCount("issue", outstanding, identifiers, seq -> {
      ListenableFuture<IssueIdentifierResponse> f = library.withDeadlineAfter(30,
          TimeUnit.SECONDS).issueIdentifier(IssueIdentifierRequest.newBuilder()
              .setRequestId("bench-a-" + run + "-" + seq)
              .setKind(cn.cpin.identifier.v1.IdentifierKind.IDENTIFIER_KIND_RESOURCE)
              .setOwnerId(owners.get((int) (seq % owners.size())))
              .putAllAttributes(ATTRIBUTES)
              .build());
      f.addListener(() -> {
        try {
          issued.add(f.get().getRecord().getIdentifier());
        } catch (Exception ignored) {
          // counted as a failure by the load
        }
      }, com.google.common.util.concurrent.MoreExecutors.directExecutor());
      return f;
    });
    requireNoFailures(issue);
    if (issued.isEmpty()) {
      notes.add("(a) not measured: no identifier could be issued");
      return;
    }
    double filedIn = awaitFiled("(a) setup", federation.regionalEvents::filed,
        filedBefore, identifiers, System.nanoTime());
    System.out.printf("  setup: %d identifiers issued and filed in %.1f s%n", issued.size(),
        filedIn);
    List<ResolveIdentifierRequest> requests = issued.stream()
        .map(id -> ResolveIdentifierRequest.newBuilder().setIdentifier(id).build()).toList();

    Load.AsyncCall resolve = seq -> library.withDeadlineAfter(30, TimeUnit.SECONDS)
        .resolveIdentifier(requests.get(ThreadLocalRandom.current().nextInt(requests.size())));
    GetNodeInfoRequest empty = GetNodeInfoRequest.getDefaultInstance();
    Load.AsyncCall info = seq -> nodeInfo.withDeadlineAfter(30, TimeUnit.SECONDS)
        .getNodeInfo(empty);

    Load.Phase[] compared = alternate("resolve", resolve, "GetNodeInfo", info);
    Load.Phase a = compared[0];
    Load.Phase b = compared[1];
    double ratio = a.rate() / b.rate();
    rows.add(new Row("(a) ResolveIdentifier, mTLS, 1 channel", a.rate(), "calls/s", "", "",
        ""));
    rows.add(new Row("(a) GetNodeInfo (empty RPC), same channel", b.rate(), "calls/s",
        "baseline", "", ""));
    rows.add(new Row("(a) resolve / empty RPC", ratio, "×", "≥ 0.8×", fmtRatio(ratio),
        verdict(ratio >= RESOLVE_RATIO_TARGET)));
  }

  /**
   * Issues {@link #OWNERS} participant identifiers at the regional node (owners of the resources
   * issued next) and waits until they are filed.
   */
  private List<String> participants(Federation federation, IdentifierServiceFutureStub stub,
      String requestPrefix) throws Exception {
    long filedBefore = federation.regionalEvents.filed();
    List<String> owners = new ArrayList<>();
    for (int i = 0; i < OWNERS; i++) {
      owners.add(stub.withDeadlineAfter(30, TimeUnit.SECONDS).issueIdentifier(
          IssueIdentifierRequest.newBuilder().setRequestId(requestPrefix + "-" + i)
              .setKind(cn.cpin.identifier.v1.IdentifierKind.IDENTIFIER_KIND_PARTICIPANT)
              .build()).get().getRecord().getIdentifier());
    }
    awaitFiled("owners", federation.regionalEvents::filed, filedBefore, OWNERS,
        System.nanoTime());
    return owners;
  }

  /** {@link #OWNERS} participant identifiers issued through {@code library} under {@code code}. */
  private static List<String> participants(RegionalBench.Library library, NodeCode code,
      String requestPrefix) {
    List<String> owners = new ArrayList<>();
    for (int i = 0; i < OWNERS; i++) {
      owners.add(library.issue(requestPrefix + "-" + i, REGIONAL_OPERATOR,
          IdentifierKind.PARTICIPANT, code, "", Map.of()).getIdentifier());
    }
    return owners;
  }

  /** Warm-up, then A/B/A/B with half of the measured seconds per phase; returns sums A, B. */
  private Load.Phase[] alternate(String nameA, Load.AsyncCall a, String nameB, Load.AsyncCall b)
      throws InterruptedException {
    Load.async(nameA + " warm-up", outstanding, warmup / 2, a);
    Load.async(nameB + " warm-up", outstanding, warmup / 2, b);
    List<Load.Phase> as = new ArrayList<>();
    List<Load.Phase> bs = new ArrayList<>();
    for (int i = 0; i < PAIRS; i++) {
      as.add(report(Load.async(nameA, outstanding, seconds / PAIRS, a)));
      bs.add(report(Load.async(nameB, outstanding, seconds / PAIRS, b)));
    }
    printPairRatios("(a)", as, bs, RESOLVE_RATIO_TARGET);
    return new Load.Phase[] {requireNoFailures(Load.sum(nameA, as)),
        requireNoFailures(Load.sum(nameB, bs))};
  }

  // ---- (b1) library-level issuance and filing on the embedded store ------------------------

  private void libraryIssuance(Federation federation, Path root) throws Exception {
    System.out.printf("%n(b1) IdentifierLibrary.issue on EmbeddedKeyValueStore, %d threads, "
        + "%.0f s; FilingOutbox to the national node as 86.44, concurrently%n", threads,
        seconds);
    Path dir = Files.createDirectories(root.resolve("b1-library"));
    EventCounter outboxEvents = new EventCounter();
    Set<String> ids = ConcurrentHashMap.newKeySet();
    Load.Phase issue;
    long start;
    double filedIn;
    long filed;
    long batches;
    long cpuBefore;
    long cpu;
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
        RegionalBench.Library library = RegionalBench.library(Federation.REGIONAL, store)) {
      library.startFiling(federation.nationalAsRegionalNode(), federation.filingLogKey(),
          new EventLog("86.44-bench-library", outboxEvents.stream()));
      String run = UUID.randomUUID().toString().substring(0, 8);
      List<String> owners = participants(library, INDUSTRY, "bench-b1-owner-" + run);
      long ownersFiled = System.nanoTime();
      awaitFiled("(b1) owners", outboxEvents::filed, 0, OWNERS, ownersFiled);
      long filedBefore = outboxEvents.filed();
      long batchesBefore = outboxEvents.batches();
      cpuBefore = processCpuNanos();
      start = System.nanoTime();
      issue = report(Load.threads("library issue", threads, seconds, (t, seq) -> {
        IdentifierRecord record = library.issue("bench-b1-" + run + "-" + t + "-" + seq,
            REGIONAL_OPERATOR, IdentifierKind.RESOURCE, INDUSTRY, owners.get(t % OWNERS),
            ATTRIBUTES);
        ids.add(record.getIdentifier());
      }));
      requireNoFailures(issue);
      filedIn = awaitFiled("(b1)", outboxEvents::filed, filedBefore, issue.completedTotal(),
          start);
      cpu = processCpuNanos() - cpuBefore;
      filed = Math.min(outboxEvents.filed() - filedBefore, issue.completedTotal());
      batches = outboxEvents.batches() - batchesBefore;
      reportProblems("library outbox", outboxEvents);
    }
    long duplicates = issue.completedTotal() - ids.size();
    double filedRate = filed / filedIn;
    System.out.printf("  issued %d (%d distinct) in %.1f s; filed %d, in %d batches, %.1f s "
        + "after issuance began; %s%n", issue.completedTotal(), ids.size(), issue.seconds(),
        filed, batches, filedIn, cpuNote(cpu, issue.completedTotal()));
    rows.add(new Row("(b1) library issue, embedded, " + threads + " threads", issue.rate(),
        "ids/s", "≥ 10,000/s", fmtRatio(issue.rate() / THROUGHPUT_TARGET),
        verdict(issue.rate() >= THROUGHPUT_TARGET)));
    rows.add(new Row("(b1) library issue + filing until FILED", filedRate, "ids/s",
        "≥ 10,000/s", fmtRatio(filedRate / THROUGHPUT_TARGET),
        verdict(filedRate >= THROUGHPUT_TARGET && filed == issue.completedTotal())));
    rows.add(new Row("(b1) duplicate identifiers, " + threads + " issuers", duplicates, "ids",
        "0", "", verdict(duplicates == 0)));
  }

  // ---- (b2) end to end over gRPC + mTLS -----------------------------------------------------

  private void endToEndIssuance(Federation federation) throws Exception {
    System.out.printf("%n(b2) IssueIdentifier at the regional node over gRPC+mTLS, one channel "
        + "as its operator, %d calls in flight, %.0f s; then until filed%n", outstanding,
        seconds);
    grpcIssuance(federation, "(b2) gRPC IssueIdentifier, mTLS, " + outstanding + " in flight",
        "(b2) gRPC issue + filing until FILED", outstanding, 1,
        (stub, run, owners) -> seq -> issueCall(stub, run + "-" + seq, owners, seq));
  }

  // ---- (b3) batched: IssueIdentifiers over gRPC + mTLS -------------------------------------

  private void batchedIssuance(Federation federation) throws Exception {
    System.out.printf("%n(b3) IssueIdentifiers (batches of %d) at the regional node over "
        + "gRPC+mTLS, one channel as its operator, %d calls in flight, %.0f s; then until "
        + "filed%n", batch, batchesInFlight, seconds);
    grpcIssuance(federation, "(b3) gRPC IssueIdentifiers ×" + batch + ", " + batchesInFlight
        + " in flight", "(b3) batched issue + filing until FILED", batchesInFlight, batch,
        (stub, run, owners) -> seq -> stub.withDeadlineAfter(30, TimeUnit.SECONDS)
            .issueIdentifiers(batchOf(run + "-" + seq, owners, seq)));
  }

  private IssueIdentifiersRequest batchOf(String requestPrefix, List<String> owners, long seq) {
    IssueIdentifiersRequest.Builder request = IssueIdentifiersRequest.newBuilder();
    for (int i = 0; i < batch; i++) {
      request.addRequests(issueRequest(requestPrefix + "-" + i, owners, seq * batch + i));
    }
    return request.build();
  }

  /** A load of calls over the issuing stub, given the run's request prefix and owners. */
  interface IssuingLoad {
    Load.AsyncCall calls(IdentifierServiceFutureStub stub, String requestPrefix,
        List<String> owners);
  }

  /**
   * Issues with {@code load} ({@code perCall} identifiers per call, {@code inFlight} calls in
   * flight) after a short warm-up, then waits until the regional node has filed them all.
   */
  private void grpcIssuance(Federation federation, String issuedFigure, String filedFigure,
      int inFlight, int perCall, IssuingLoad load) throws Exception {
    ManagedChannel channel = federation.regionalAsItsOperator();
    IdentifierServiceFutureStub stub = IdentifierServiceGrpc.newFutureStub(channel);
    String run = UUID.randomUUID().toString().substring(0, 8);
    List<String> owners = participants(federation, stub, "bench-b-owner-" + run);
    // A short warm-up of the issuing path (its identifiers are filed before the measurement).
    long warmBefore = federation.regionalEvents.filed();
    Load.Phase warm = Load.async("issue warm-up", inFlight, Math.min(2, warmup),
        load.calls(stub, "bench-bw-" + run, owners));
    awaitFiled("warm-up", federation.regionalEvents::filed,
        warmBefore, warm.completedTotal() * perCall, System.nanoTime());

    long filedBefore = federation.regionalEvents.filed();
    long batchesBefore = federation.regionalEvents.batches();
    long cpuBefore = processCpuNanos();
    long start = System.nanoTime();
    Load.Phase issue = report(requireNoFailures(Load.async("gRPC issue", inFlight, seconds,
        load.calls(stub, "bench-b-" + run, owners))));
    long issued = issue.completedTotal() * perCall;
    double filedIn = awaitFiled(issuedFigure, federation.regionalEvents::filed,
        filedBefore, issued, start);
    long cpu = processCpuNanos() - cpuBefore;
    long filed = Math.min(federation.regionalEvents.filed() - filedBefore, issued);
    double issuedRate = issue.rate() * perCall;
    double filedRate = filed / filedIn;
    System.out.printf("  issued %d in %.1f s; filed %d, in %d batches, %.1f s after issuance "
        + "began; %s%n", issued, issue.seconds(), filed,
        federation.regionalEvents.batches() - batchesBefore, filedIn, cpuNote(cpu, issued));
    rows.add(new Row(issuedFigure, issuedRate, "ids/s", "≥ 10,000/s",
        fmtRatio(issuedRate / THROUGHPUT_TARGET), verdict(issuedRate >= THROUGHPUT_TARGET)));
    rows.add(new Row(filedFigure, filedRate, "ids/s", "≥ 10,000/s",
        fmtRatio(filedRate / THROUGHPUT_TARGET),
        verdict(filedRate >= THROUGHPUT_TARGET && filed == issued)));
  }

  // CPU of the whole process (nodes, filing, load generator) from issuance start until filed.
  private static String cpuNote(long cpuNanos, long identifiers) {
    return String.format(Locale.ROOT, "process CPU %.1f s (%.0f µs per identifier), load "
        + "average %.2f", cpuNanos / 1e9, cpuNanos / 1e3 / Math.max(1, identifiers),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()
            .getSystemLoadAverage());
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static ListenableFuture<IssueIdentifierResponse> issueCall(
      IdentifierServiceFutureStub stub, String requestId, List<String> owners, long seq) {
    return stub.withDeadlineAfter(30, TimeUnit.SECONDS).issueIdentifier(
        issueRequest(requestId, owners, seq));
  }

  private static IssueIdentifierRequest issueRequest(String requestId, List<String> owners,
      long seq) {
    return IssueIdentifierRequest.newBuilder()
        .setRequestId(requestId)
        .setKind(cn.cpin.identifier.v1.IdentifierKind.IDENTIFIER_KIND_RESOURCE)
        .setOwnerId(owners.get((int) (seq % owners.size())))
        .putAllAttributes(ATTRIBUTES)
        .build();
  }

  /**
   * Waits until {@code filed} has grown by {@code count} from {@code baseline}, or the filing
   * timeout passes; returns the seconds from {@code since} to that moment (or to the timeout).
   */
  private double awaitFiled(String what, LongSupplier filed, long baseline, long count,
      long since) throws InterruptedException {
    long deadline = System.nanoTime() + (long) (filingTimeout * 1e9);
    while (filed.getAsLong() - baseline < count) {
      if (System.nanoTime() > deadline) {
        String note = String.format(Locale.ROOT, "%s: only %d of %d identifiers filed %.0f s "
            + "after issuance ended (filing timeout)", what, filed.getAsLong() - baseline,
            count, filingTimeout);
        System.out.println("  " + note);
        notes.add(note);
        break;
      }
      Thread.sleep(20);
    }
    return (System.nanoTime() - since) / 1e9;
  }

  // ---- (c) issuance on etcd vs raw jetcd put ------------------------------------------------

  private void etcdIssuance(Path root) throws Exception {
    System.out.printf("%n(c) IdentifierLibrary.issue on EtcdKeyValueStore vs raw jetcd put, "
        + "%d threads each%n", threads);
    EtcdServer server = null;
    String endpoint;
    if (etcd.equals("none")) {
      skipEtcd("--etcd none");
      return;
    } else if (etcd.equals("auto")) {
      Optional<Path> binary = EtcdServer.binary();
      if (binary.isEmpty()) {
        skipEtcd("no etcd binary (apt-get install etcd-server, or pass --etcd URL)");
        return;
      }
      try {
        server = EtcdServer.start(binary.get(), root);
      } catch (Exception e) {
        skipEtcd("could not start etcd: " + e.getMessage());
        return;
      }
      endpoint = server.endpoint;
      System.out.println("  started " + server.version + " at " + endpoint
          + " (temporary data directory, default fsync)");
    } else {
      endpoint = etcd;
    }
    String prefix = "/cpin-bench-" + UUID.randomUUID() + "/";
    try {
      EtcdKeyValueStore store;
      try {
        store = EtcdKeyValueStore.connect(List.of(endpoint), prefix + "store/");
      } catch (RuntimeException e) {
        skipEtcd("etcd not reachable at " + endpoint + ": " + e.getMessage());
        return;
      }
      try (store;
          RegionalBench.Library library = RegionalBench.library(Federation.REGIONAL, store);
          Client client = Client.builder().endpoints(endpoint).build()) {
        KV kv = client.getKVClient();
        String run = UUID.randomUUID().toString().substring(0, 8);
        List<String> owners = participants(library, Federation.REGIONAL, "bench-c-owner-" + run);
        IdentifierRecord sample = library.issue("bench-c-sample-" + run, REGIONAL_OPERATOR,
            IdentifierKind.RESOURCE, null, owners.get(0), ATTRIBUTES);
        int size = RegionalBench.Library.valueBytes(sample);
        ByteSequence value = ByteSequence.from(new byte[size]);
        System.out.printf("  raw put value: %d bytes (one issuance writes 3 keys, %d value "
            + "bytes, in one transaction, after reading its request key)%n", size, size);
        Load.BlockingCall issue = (t, seq) -> library.issue("bench-c-" + run + "-" + t + "-"
            + seq, REGIONAL_OPERATOR, IdentifierKind.RESOURCE, null, owners.get(t % OWNERS),
            ATTRIBUTES);
        Load.BlockingCall put = (t, seq) -> kv.put(ByteSequence.from(prefix + "raw/" + t + "/"
            + seq, StandardCharsets.UTF_8), value).get(30, TimeUnit.SECONDS);

        // A full warm-up per side: at a few hundred calls/s the etcd issuing path takes longer to
        // be compiled than the gRPC paths of (a) do.
        Load.threads("etcd issue warm-up", threads, warmup, issue);
        Load.threads("raw put warm-up", threads, warmup, put);
        List<Load.Phase> as = new ArrayList<>();
        List<Load.Phase> bs = new ArrayList<>();
        for (int i = 0; i < PAIRS; i++) {
          as.add(report(Load.threads("etcd issue", threads, seconds / PAIRS, issue)));
          bs.add(report(Load.threads("raw jetcd put", threads, seconds / PAIRS, put)));
        }
        printPairRatios("(c)", as, bs, ETCD_RATIO_TARGET);
        Load.Phase a = requireNoFailures(Load.sum("etcd issue", as));
        Load.Phase b = requireNoFailures(Load.sum("raw put", bs));
        double ratio = a.rate() / b.rate();
        rows.add(new Row("(c) library issue on etcd, " + threads + " threads", a.rate(),
            "ids/s", "", "", ""));
        rows.add(new Row("(c) raw jetcd put, " + size + " B, " + threads + " threads",
            b.rate(), "puts/s", "baseline", "", ""));
        rows.add(new Row("(c) etcd issue / raw put", ratio, "×", "≥ 0.5×", fmtRatio(ratio),
            verdict(ratio >= ETCD_RATIO_TARGET)));
        if (server == null) {
          kv.delete(ByteSequence.from(prefix, StandardCharsets.UTF_8),
              DeleteOption.builder().isPrefix(true).build()).get(60, TimeUnit.SECONDS);
        }
      }
    } finally {
      if (server != null) {
        server.close();
      }
    }
  }

  private void skipEtcd(String why) {
    String note = "(c) skipped: " + why;
    System.out.println("  " + note);
    notes.add(note);
    rows.add(new Row("(c) etcd issue / raw put", Double.NaN, "×", "≥ 0.5×", "", "SKIPPED"));
  }

  // ---- reporting ----------------------------------------------------------------------------

  /**
   * Prints the ratio of each A/B pair, to show how much the machine drifted during a comparison,
   * and notes when the pairs fall on both sides of {@code target}: the verdict is then within this
   * run's noise.
   */
  private void printPairRatios(String what, List<Load.Phase> as, List<Load.Phase> bs,
      double target) {
    StringBuilder line = new StringBuilder("  A/B ratio per pair:");
    double min = Double.MAX_VALUE;
    double max = 0;
    for (int i = 0; i < as.size(); i++) {
      double r = as.get(i).rate() / bs.get(i).rate();
      min = Math.min(min, r);
      max = Math.max(max, r);
      line.append(String.format(Locale.ROOT, " %.2f", r));
    }
    System.out.println(line);
    if (min < target && max >= target) {
      notes.add(String.format(Locale.ROOT, "%s: the A/B pairs ranged %.2f–%.2f, on both sides "
          + "of the %.1f× target; the verdict is within this run's noise", what, min, max,
          target));
    }
  }

  private static Load.Phase report(Load.Phase p) {
    System.out.printf(Locale.ROOT, "  %-16s %9d calls in %5.2f s = %,10.0f /s%s%n", p.name(),
        p.completed(), p.seconds(), p.rate(), p.failed() == 0 ? ""
            : "  (" + p.failed() + " FAILED: " + p.firstError() + ")");
    return p;
  }

  private Load.Phase requireNoFailures(Load.Phase p) {
    if (p.failed() > 0) {
      notes.add(p.name() + ": " + p.failed() + " calls failed, first: " + p.firstError());
    }
    return p;
  }

  private void reportProblems(String node, EventCounter events) {
    if (events.problems() > 0) {
      String note = node + " logged " + events.problems() + " warnings/errors; last: "
          + String.join(" | ", events.lastProblems());
      notes.add(note);
    }
    if (events.rejected() > 0) {
      notes.add(node + ": " + events.rejected() + " identifiers REJECTED by the national node");
    }
  }

  private static String verdict(boolean pass) {
    return pass ? "PASS" : "BELOW TARGET";
  }

  private static String fmtRatio(double r) {
    return String.format(Locale.ROOT, "%.2f×", r);
  }

  private void printMachine() {
    Runtime rt = Runtime.getRuntime();
    System.out.println("CPIN benchmarks (ARCHITECTURE.md §9, issue 4)");
    System.out.println("date:     " + ZonedDateTime.now(ZoneOffset.UTC)
        .format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    System.out.println("cores:    " + rt.availableProcessors() + " available to the JVM"
        + cpuModel().map(m -> " (" + m + ")").orElse(""));
    System.out.println("JVM:      " + System.getProperty("java.vm.name") + " "
        + System.getProperty("java.runtime.version") + ", max heap "
        + rt.maxMemory() / (1024 * 1024) + " MiB");
    System.out.println("OS:       " + System.getProperty("os.name") + " "
        + System.getProperty("os.version") + ", load average at start "
        + String.format(Locale.ROOT, "%.2f",
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    System.out.println("command:  " + ProcessHandle.current().info().commandLine()
        .orElse("java -jar benchmarks/target/cpin-benchmarks.jar ..."));
    System.out.printf(Locale.ROOT, "settings: --seconds %.0f --warmup %.0f --outstanding %d "
        + "--threads %d --identifiers %d --filing-timeout %.0f --etcd %s --only %s%n", seconds,
        warmup, outstanding, threads, identifiers, filingTimeout, etcd,
        String.join(",", new java.util.TreeSet<>(only)));
    System.out.println("All nodes, clients and load generators share this one JVM and its "
        + "cores; loopback only.");
  }

  private static Optional<String> cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim());
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  private void printTable(double totalSeconds) {
    System.out.printf("%nSummary (run took %.0f s)%n", totalSeconds);
    String format = "%-44s %12s %-7s %-11s %-7s %s%n";
    System.out.printf(format, "figure", "value", "unit", "target", "ratio", "result");
    System.out.println("-".repeat(96));
    for (Row r : rows) {
      String value = Double.isNaN(r.value()) ? "-" : r.unit().equals("×")
          ? String.format(Locale.ROOT, "%.2f", r.value())
          : String.format(Locale.ROOT, "%,.0f", r.value());
      System.out.printf(format, r.figure(), value, r.unit(), r.target(), r.ratio(),
          r.verdict());
    }
    if (!notes.isEmpty()) {
      System.out.println();
      System.out.println("Notes:");
      notes.forEach(n -> System.out.println("  - " + n));
    }
  }

  static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: a temporary directory
        }
      });
    } catch (IOException e) {
      // best effort
    }
  }
}
