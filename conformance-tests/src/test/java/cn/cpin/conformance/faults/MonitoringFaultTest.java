package cn.cpin.conformance.faults;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.TimeWindow;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.GetMarketSummaryRequest;
import cn.cpin.monitoring.v1.GetMarketSummaryResponse;
import cn.cpin.monitoring.v1.MarketTotals;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.monitoring.v1.MonitoringQueryServiceGrpc;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.monitoring.v1.QueryMonitoringDataResponse;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * MON-001, MON-003, MON-004, MON-008 under faults, with real node processes over mutual TLS: the
 * regional node (through a TCP proxy to the national node) and the industry node each produce a
 * known set of synthetic points while the regional node's link to the national node is cut and
 * restored, the industry node is killed with SIGKILL and restarted, and the national stub is
 * killed with SIGKILL and restarted. Afterwards the national node holds every produced point
 * exactly once: per source, the count and the sum of each indicator are what the senders
 * produced, and the market summary's totals follow.
 *
 * <p>Point {@code i} of a sender (see {@code SyntheticSource}) is indicator
 * {@code INDICATORS[i % 5]} with value {@code (i % 7) + 1}; this test recomputes the expected
 * figures from that definition.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class MonitoringFaultTest {
  private static final String[] INDICATORS = {"platform.demands.submitted",
      "scheduling.selections", "platform.orders.value_minor_units",
      "application.orders.confirmed", "resource.resources.offered"};
  // At 400 points/s the senders produce for 30 s and 25 s: every fault below hits mid-production.
  private static final long REGIONAL_POINTS = 12_000;
  private static final long INDUSTRY_POINTS = 10_000;
  private static final long RATE = 400;

  @TempDir
  Path dataRoot;

  private LocalFederation federation;
  private LoopbackProxy proxy;
  private final List<LocalFederation.Node> restarted = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() throws Exception {
    channels.forEach(ManagedChannel::shutdownNow);
    // Youngest first: children before parents.
    for (int i = restarted.size() - 1; i >= 0; i--) {
      NodeProcess.stop(restarted.get(i));
    }
    if (proxy != null) {
      proxy.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void nationalTotalsEqualWhatTheSendersProducedThroughKillsAndACut() throws Exception {
    federation = LocalFederation.start(NodeProcess.freeBasePort(), dataRoot, System.out, null);
    LocalFederation.Node national = federation.node("86");
    LocalFederation.Node regional = federation.node("86.44");
    LocalFederation.Node industry = federation.node("86.44.C");
    long startedAt = System.currentTimeMillis();

    // Children stop first; the regional node comes back behind the proxy, both producing.
    NodeProcess.stop(industry);
    NodeProcess.stop(regional);
    proxy = new LoopbackProxy(national.port());
    LocalFederation.Node viaProxy = new LocalFederation.Node("86", "national", proxy.port(),
        national.process(), national.dataDir(), national.events(), national.output());
    LocalFederation.Node regional2 = start(regional, "cn.cpin.regional.RegionalNodeMain",
        childArgs(regional, viaProxy, national, REGIONAL_POINTS));
    LocalFederation.Node industry2 = start(industry, "cn.cpin.industry.IndustryNodeMain",
        childArgs(industry, regional2, national, INDUSTRY_POINTS));
    LocalFederation.awaitEvent(industry2, "\"event\":\"monitoring.synthetic.started\"");

    // 1. Cut the regional node's link to the national node for 3 s, then restore it.
    awaitStored(national, "86.44", 300);
    proxy.cut();
    Thread.sleep(3_000);
    proxy.restore();

    // 2. SIGKILL the industry node while it produces, restart it: it resumes where it stopped.
    assertThat(industry2.events()).noneMatch(l -> l.contains("monitoring.synthetic.done"));
    kill9(industry2);
    restarted.remove(industry2);
    LocalFederation.Node industry3 = start(industry2, "cn.cpin.industry.IndustryNodeMain",
        childArgs(industry, regional2, national, INDUSTRY_POINTS));
    LocalFederation.awaitEvent(industry3, "\"event\":\"monitoring.synthetic.started\"");
    assertThat(industry3.events()).filteredOn(l -> l.contains("monitoring.synthetic.started"))
        .singleElement().satisfies(l -> assertThat(l).doesNotContain("\"already_produced\":0,")
            .doesNotContain("\"already_produced\":" + INDUSTRY_POINTS + ","));

    // 3. SIGKILL the national stub mid-stream (both senders still producing), restart it.
    awaitStored(national, "86.44.C", 2_000);
    assertThat(regional2.events()).noneMatch(l -> l.contains("monitoring.synthetic.done"));
    kill9(national);
    Thread.sleep(1_000);
    LocalFederation.Node national2 = start(national, "cn.cpin.national.NationalStubMain",
        List.of());

    // Both senders finish; everything they produced reaches the national node, once.
    LocalFederation.awaitEvent(industry3, "\"event\":\"monitoring.synthetic.done\"");
    LocalFederation.awaitEvent(regional2, "\"event\":\"monitoring.synthetic.done\"");
    Map<String, Double> regionalSums = awaitAll(national2, "86.44", REGIONAL_POINTS);
    Map<String, Double> industrySums = awaitAll(national2, "86.44.C", INDUSTRY_POINTS);
    assertThat(regionalSums).as("86.44 per indicator").isEqualTo(expectedSums(REGIONAL_POINTS));
    assertThat(industrySums).as("86.44.C per indicator")
        .isEqualTo(expectedSums(INDUSTRY_POINTS));
    System.out.println("MonitoringFaultTest: " + (REGIONAL_POINTS + INDUSTRY_POINTS)
        + " points at the national node exactly once, "
        + (System.currentTimeMillis() - startedAt) + " ms after the federation started");

    // The market summary: delta counters summed once, latest synthetic gauge per source.
    GetMarketSummaryResponse summary = MonitoringQueryServiceGrpc.newBlockingStub(
        operator(national2)).withDeadlineAfter(20, TimeUnit.SECONDS).getMarketSummary(
        GetMarketSummaryRequest.newBuilder().setTimeWindow(everything()).build());
    MarketTotals overall = summary.getOverall();
    Map<String, Double> both = new TreeMap<>(expectedSums(REGIONAL_POINTS));
    expectedSums(INDUSTRY_POINTS).forEach((k, v) -> both.merge(k, v, Double::sum));
    assertThat(overall.getDemandCount()).isEqualTo(Math.round(both.get(INDICATORS[0])));
    assertThat(overall.getSelectionCount()).isEqualTo(Math.round(both.get(INDICATORS[1])));
    assertThat(overall.getOrderValue().getMinorUnits())
        .isEqualTo(Math.round(both.get(INDICATORS[2])));
    assertThat(overall.getOrderValue().getCurrencyCode()).isEqualTo("CNY");
    assertThat(overall.getResourceCount())
        .isEqualTo(lastGauge(REGIONAL_POINTS) + lastGauge(INDUSTRY_POINTS));
    assertThat(summary.getRegionsList()).singleElement().satisfies(r -> {
      assertThat(r.getProvinceCode()).isEqualTo("44");
      assertThat(r.getTotals().getDemandCount()).isEqualTo(overall.getDemandCount());
    });
    assertThat(summary.getIndustriesList()).singleElement().satisfies(i -> {
      assertThat(i.getIndustrySection()).isEqualTo("C");
      assertThat(i.getTotals().getDemandCount())
          .isEqualTo(Math.round(expectedSums(INDUSTRY_POINTS).get(INDICATORS[0])));
      assertThat(i.getTotals().getResourceCount()).isEqualTo(lastGauge(INDUSTRY_POINTS));
    });
  }

  // --- helpers ---

  private LocalFederation.Node start(LocalFederation.Node dead, String mainClass,
      List<String> args) throws Exception {
    LocalFederation.Node node = NodeProcess.restart(dead, mainClass, args, System.out);
    restarted.add(node);
    NodeProcess.awaitServing(node, operator(node));
    return node;
  }

  private static List<String> childArgs(LocalFederation.Node node, LocalFederation.Node parent,
      LocalFederation.Node national, long points) {
    return List.of("--node-code", node.code(), "--parent", parent.endpoint(),
        "--national", national.endpoint(), "--monitoring-interval", "PT1S",
        "--monitoring-synthetic-points", Long.toString(points),
        "--monitoring-synthetic-rate", Long.toString(RATE));
  }

  private ManagedChannel operator(LocalFederation.Node node) throws Exception {
    ManagedChannel channel = federation.operatorChannel(node);
    channels.add(channel);
    return channel;
  }

  private static void kill9(LocalFederation.Node node) throws InterruptedException {
    assertThat(node.process().toHandle().destroyForcibly()).isTrue();
    assertThat(node.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(node.process().exitValue()).isEqualTo(137);
  }

  private static TimeWindow everything() {
    return TimeWindow.newBuilder().setStartTime(Timestamps.fromSeconds(0))
        .setEndTime(Timestamps.fromMillis(System.currentTimeMillis() + 3_600_000)).build();
  }

  /** Per indicator, the sum of the synthetic points of {@code source} the national node holds. */
  private Map<String, Double> stored(LocalFederation.Node national, String source,
      long[] count) throws Exception {
    MonitoringQueryServiceGrpc.MonitoringQueryServiceBlockingStub stub =
        MonitoringQueryServiceGrpc.newBlockingStub(operator(national));
    Map<String, Double> sums = new TreeMap<>();
    String token = "";
    count[0] = 0;
    TimeWindow window = everything();
    do {
      QueryMonitoringDataResponse page = stub.withDeadlineAfter(20, TimeUnit.SECONDS)
          .queryMonitoringData(QueryMonitoringDataRequest.newBuilder()
              .addSourceNodeCodes(source).addAllIndicators(List.of(INDICATORS))
              .addCategories(MonitoringCategory.MONITORING_CATEGORY_RESOURCE_BUSINESS)
              .addCategories(MonitoringCategory.MONITORING_CATEGORY_PLATFORM_BUSINESS)
              .addCategories(MonitoringCategory.MONITORING_CATEGORY_SCHEDULING_BUSINESS)
              .addCategories(MonitoringCategory.MONITORING_CATEGORY_APPLICATION_BUSINESS)
              .setTimeWindow(window).setPageSize(10_000).setPageToken(token).build());
      for (DataPoint p : page.getDataPointsList()) {
        if (!"true".equals(p.getAttributesMap().get("synthetic"))) {
          continue;
        }
        assertThat(p.getSourceNodeCode()).isEqualTo(source);
        count[0]++;
        double v = p.hasGauge() ? p.getGauge().getValue() : p.getCounter().getValue();
        sums.merge(p.getIndicator(), v, Double::sum);
      }
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return sums;
  }

  private void awaitStored(LocalFederation.Node national, String source, long atLeast)
      throws Exception {
    long deadline = System.currentTimeMillis() + 60_000;
    long[] count = new long[1];
    while (true) {
      try {
        stored(national, source, count);
        if (count[0] >= atLeast) {
          return;
        }
      } catch (StatusRuntimeException notYet) {
        // the national node may be starting
      }
      assertThat(System.currentTimeMillis()).as("%s: %d points stored within 60 s", source,
          atLeast).isLessThan(deadline);
      Thread.sleep(200);
    }
  }

  private Map<String, Double> awaitAll(LocalFederation.Node national, String source,
      long expected) throws Exception {
    long deadline = System.currentTimeMillis() + 90_000;
    long[] count = new long[1];
    while (true) {
      Map<String, Double> sums = stored(national, source, count);
      assertThat(count[0]).as("%s points at the national node, never more than produced",
          source).isLessThanOrEqualTo(expected);
      if (count[0] == expected) {
        return sums;
      }
      assertThat(System.currentTimeMillis()).as("%s: %d of %d points within 90 s", source,
          count[0], expected).isLessThan(deadline);
      Thread.sleep(250);
    }
  }

  /** Σ value per indicator of points 0 … n-1, from the synthetic source's definition. */
  private static Map<String, Double> expectedSums(long n) {
    Map<String, Double> sums = new TreeMap<>();
    for (long i = 0; i < n; i++) {
      sums.merge(INDICATORS[(int) (i % 5)], (double) ((i % 7) + 1), Double::sum);
    }
    return sums;
  }

  /** The value of the last gauge point (resource.resources.offered) among points 0 … n-1. */
  private static long lastGauge(long n) {
    long last = n - 1;
    while (last % 5 != 4) {
      last--;
    }
    return (last % 7) + 1;
  }
}
