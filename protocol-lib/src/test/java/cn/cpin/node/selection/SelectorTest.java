package cn.cpin.node.selection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.CpuSpec;
import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.ConstraintCheck;
import cn.cpin.selection.v1.CriterionScore;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLinePolicy;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.MetricSource;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionPreferences;
import com.google.protobuf.util.Durations;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Selection's rules (SEL-001 … SEL-010) on an inventory the test controls, checked against the
 * standard's formulas and against a plain recomputation over the same resources.
 */
class SelectorTest {
  private static final NodeCode REGIONAL = NodeCode.regional("44");
  private static final NodeCode INDUSTRY = NodeCode.industry("44", 'C');
  private static final NetworkModel NETWORK = NetworkModel.defaults();

  private final Map<String, Resource> inventory = new HashMap<>();
  private final List<DedicatedLine> lines = new CopyOnWriteArrayList<>();
  private final Selector selector = new Selector(NETWORK,
      id -> Optional.ofNullable(inventory.get(id)), () -> List.copyOf(lines),
      Clock.fixed(Instant.parse("2026-11-26T08:00:00Z"), ZoneOffset.UTC), REGIONAL.toString());
  private long serial;

  @Test
  void defaultEstimateFollowsTheStandardFormula() {
    // Beijing–Guangzhou about 30 ms; within a province 2 ms (SEL-004).
    int beijing = NETWORK.index("11");
    int guangdong = NETWORK.index("44");
    assertThat(NETWORK.latencyMs(beijing, guangdong)).isBetween(28.0, 32.0);
    assertThat(NETWORK.latencyMs(guangdong, guangdong)).isEqualTo(2.0);
  }

  @Test
  void matchesOnlyResourcesMeetingEveryConstraintOnBothSides() {
    Resource fits = add(ai("44", 8, 1000, "CNY"));
    add(ai("44", 4, 900, "CNY")); // too few accelerators
    add(ai("52", 8, 800, "CNY")); // outside the allowed provinces
    add(ai("44", 8, 800, "USD")); // priced in another currency
    add(ai("44", 8, 700, "CNY").toBuilder().setStatus(ResourceStatus.RESOURCE_STATUS_OFFLINE)
        .build());
    add(ai("44", 8, 600, "CNY").toBuilder().setOfferConstraints(OfferConstraints.newBuilder()
        .setRequiresQualifiedReseller(true)).build());
    add(ai("44", 8, 650, "CNY").toBuilder().setFp16Peak(tflops(100)).build()); // too slow

    SelectResourcesResponse answer = selector.select(request(DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI).setMinAcceleratorCount(8)
        .setMinFp16Peak(Throughput.newBuilder().setValue(0.5)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_PFLOPS))
        .addAllowedProvinceCodes("44")
        .setMaxPricePerUnitHour(cny(5000))), false);

    assertThat(answer.getCandidatesList()).extracting(Candidate::getResourceId)
        .containsExactly(fits.getResourceId());
    assertThat(answer.getMatchedResourceCount()).isEqualTo(1);
    assertThat(answer.getEvaluatedResourceCount()).isEqualTo(6); // the OFFLINE one is not
    // The reseller-only offer matches a qualified reseller.
    assertThat(selector.select(request(DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI).setMinAcceleratorCount(8)
        .addAllowedProvinceCodes("44").setMaxPricePerUnitHour(cny(5000))), true)
        .getMatchedResourceCount()).isEqualTo(3);
    // A province whose resources are all priced in one other currency: none under a CNY cap.
    Resource dollars = add(ai("31", 8, 800, "USD"));
    DemandConstraints.Builder inShanghai = DemandConstraints.newBuilder()
        .addAllowedProvinceCodes("31");
    assertThat(selector.select(request(inShanghai.clone().setMaxPricePerUnitHour(cny(5000))),
        false).getMatchedResourceCount()).isZero();
    assertThat(selector.select(request(inShanghai.clone().setMaxPricePerUnitHour(
        Money.newBuilder().setCurrencyCode("USD").setMinorUnits(800))), false)
        .getCandidatesList()).extracting(Candidate::getResourceId)
        .containsExactly(dollars.getResourceId());
  }

  @Test
  void rankingFollowsTheFormulaAndExplainsItself() {
    Random random = new Random(42);
    for (int i = 0; i < 200; i++) {
      add(ai(List.of("44", "11", "52", "31").get(random.nextInt(4)), 8, 500 + random.nextInt(
          2000), "CNY").toBuilder().setFp16Peak(tflops(300 + random.nextInt(700)))
          .setUplinkBandwidthMbps(1000 + random.nextInt(9000)).build());
    }
    SelectResourcesRequest request = request(DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI).setUserProvinceCode("44").setUnitCount(2)
        .setDuration(Durations.fromMinutes(90)))
        .toBuilder().setMaxCandidates(100)
        .setPreferences(SelectionPreferences.newBuilder().setPriceWeight(2)
            .setPerformanceWeight(1).setLatencyWeight(1)).build();
    SelectResourcesResponse answer = selector.select(request, false);
    assertThat(answer.getMatchedResourceCount()).isEqualTo(200);
    assertThat(answer.getCandidatesList()).hasSize(100);

    // Recompute every score from the standard's formula over all matches.
    double[] min = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
    double[] max = {-1, -1, -1, -1};
    for (Resource r : inventory.values()) {
      double[] raw = raw(r);
      for (int c = 0; c < 4; c++) {
        min[c] = Math.min(min[c], raw[c]);
        max[c] = Math.max(max[c], raw[c]);
      }
    }
    double[] w = {0.5, 0.25, 0.25, 0};
    Candidate previous = null;
    for (Candidate c : answer.getCandidatesList()) {
      double[] raw = raw(c.getResource());
      double expected = w[0] * (max[0] - raw[0]) / (max[0] - min[0])
          + w[1] * (raw[1] - min[1]) / (max[1] - min[1])
          + w[2] * (max[2] - raw[2]) / (max[2] - min[2])
          + w[3] * (raw[3] - min[3]) / (max[3] - min[3]);
      assertThat(c.getTotalScore()).isCloseTo(expected, within(1e-9));
      assertThat(c.getCriterionScoresList().stream().mapToDouble(
          CriterionScore::getWeightedScore).sum()).isCloseTo(c.getTotalScore(), within(1e-9));
      assertThat(c.getCriterionScoresCount()).isEqualTo(4);
      assertThat(c.getConstraintChecksList()).extracting(ConstraintCheck::getConstraint)
          .containsExactlyInAnyOrder("compute_kind", "unit_count");
      // 2 units × 2 billable hours × price (SEL-009).
      assertThat(c.getEstimatedCost().getMinorUnits()).isEqualTo(
          4 * c.getResource().getPricePerUnitHour().getMinorUnits());
      assertThat(c.getNetwork().getSource()).isEqualTo(MetricSource.METRIC_SOURCE_ESTIMATED);
      assertThat(c.getNetwork().getScore()).isCloseTo((c.getNetwork().getNormalized()
          .getLatency() + c.getNetwork().getNormalized().getBandwidth()) / 2, within(1e-12));
      if (previous != null) {
        assertThat(previous.getTotalScore()).isGreaterThanOrEqualTo(c.getTotalScore());
        assertThat(c.getRank()).isEqualTo(previous.getRank() + 1);
      }
      previous = c;
    }
    assertThat(selector.select(request, false)).isEqualTo(answer); // deterministic (SEL-006)
  }

  @Test
  void dedicatedLineIsUsedWhereItBeatsThePublicNetworkAndRequiredWhereDemanded() {
    Resource guizhou = add(ai("52", 8, 800, "CNY").toBuilder().setUplinkBandwidthMbps(1000)
        .build());
    Resource guangdong = add(ai("44", 8, 1200, "CNY"));
    DedicatedLine line = DedicatedLine.newBuilder().setLineId(id(IdentifierKind.DEDICATED_LINE))
        .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("11"))
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("52")
            .setResourceId(guizhou.getResourceId()))
        .setBandwidthMbps(10_000).setAvailableBandwidthMbps(10_000)
        .setLatency(Durations.fromMillis(9)).setPricePerMbpsHour(cny(2))
        .setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN).build();
    lines.add(line);

    DemandConstraints.Builder fromBeijing = DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI).setUserProvinceCode("11")
        .setMinBandwidthMbps(100);
    Map<String, Candidate> byId = new HashMap<>();
    selector.select(request(fromBeijing), false).getCandidatesList()
        .forEach(c -> byId.put(c.getResourceId(), c));
    Candidate viaLine = byId.get(guizhou.getResourceId());
    assertThat(viaLine.getDedicatedLineId()).isEqualTo(line.getLineId());
    assertThat(viaLine.getNetwork().getSource())
        .isEqualTo(MetricSource.METRIC_SOURCE_DEDICATED_LINE);
    assertThat(Durations.toMillis(viaLine.getNetwork().getRaw().getLatency())).isEqualTo(9);
    // 1 unit × 1 hour × 800 + 100 Mbit/s × 1 hour × 2 (SEL-009).
    assertThat(viaLine.getEstimatedCost().getMinorUnits()).isEqualTo(800 + 200);
    assertThat(byId.get(guangdong.getResourceId()).getDedicatedLineId()).isEmpty();

    assertThat(selector.select(request(fromBeijing.clone().setDedicatedLinePolicy(
        DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED)), false).getCandidatesList())
        .extracting(Candidate::getResourceId).containsExactly(guizhou.getResourceId());
    assertThat(selector.select(request(fromBeijing.clone().setDedicatedLinePolicy(
        DedicatedLinePolicy.DEDICATED_LINE_POLICY_FORBIDDEN)), false).getCandidatesList())
        .allSatisfy(c -> assertThat(c.getDedicatedLineId()).isEmpty());
    // Not enough bandwidth left on the line: back to the public network.
    assertThat(selector.select(request(fromBeijing.clone().setMinBandwidthMbps(20_000)
        .setDedicatedLinePolicy(DedicatedLinePolicy.DEDICATED_LINE_POLICY_REQUIRED)), false)
        .getCandidatesList()).isEmpty();
  }

  @Test
  void budgetAndLatencyNeedTheUsersProvince() {
    add(ai("44", 8, 1000, "CNY"));
    DemandConstraints.Builder demand = DemandConstraints.newBuilder()
        .setMaxLatency(Durations.fromMillis(50));
    assertThat(selector.select(request(demand), false).getMatchedResourceCount()).isZero();
    assertThat(selector.select(request(demand.clone().setUserProvinceCode("44")), false)
        .getMatchedResourceCount()).isEqualTo(1);
    assertThat(selector.select(request(DemandConstraints.newBuilder().setUnitCount(3)
        .setBudget(cny(2999))), false).getMatchedResourceCount()).isZero();
    assertThat(selector.select(request(DemandConstraints.newBuilder().setUnitCount(3)
        .setBudget(cny(3000))), false).getMatchedResourceCount()).isEqualTo(1);
  }

  @Test
  void remoteCandidatesAreMergedIntoOneRankingAndSilentNodesMarkedPartial() {
    Resource local = add(ai("44", 8, 1000, "CNY"));
    Resource remote = ai("44", 8, 500, "CNY").toBuilder().setProvenance(Provenance.newBuilder()
        .setOriginNodeCode(INDUSTRY.toString())).build();
    selector.setRemoteNodes((request, timeout) -> {
      assertThat(request.getIncludeRemoteNodes()).isFalse(); // no loops between nodes
      return new Selector.RemoteAnswers(List.of(Candidate.newBuilder()
          .setResourceId(remote.getResourceId()).setNodeCode(INDUSTRY.toString())
          .setResource(remote).build()), List.of("86.45"), 1);
    });
    SelectResourcesResponse answer = selector.select(request(DemandConstraints.newBuilder())
        .toBuilder().setIncludeRemoteNodes(true).build(), false);
    assertThat(answer.getCandidatesList()).extracting(Candidate::getResourceId)
        .containsExactly(remote.getResourceId(), local.getResourceId());
    assertThat(answer.getCandidates(0).getNodeCode()).isEqualTo(INDUSTRY.toString());
    assertThat(answer.getPartial().getPartial()).isTrue();
    assertThat(answer.getPartial().getMissingNodeCodesList()).containsExactly("86.45");
    assertThat(answer.getEvaluatedResourceCount()).isEqualTo(2);
  }

  /**
   * Enough resources and matches for scan and ranking to be shared among threads, in many
   * kind/province buckets, some moved between buckets, taken offline or withdrawn: for weights
   * that favour each criterion in turn, the answer is exactly the one a plain sort of the whole
   * inventory by the SEL-005/SEL-006 rules gives, although ranking passes over most matches.
   */
  @Test
  void largeInventoryGivesTheAnswerOfAPlainSortOfEveryMatch() {
    Random random = new Random(7);
    List<String> provinces = List.of("44", "11", "52", "31", "15", "51");
    List<Resource> all = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      Resource r = ai(provinces.get(random.nextInt(provinces.size())), 1 + random.nextInt(8),
          100 + random.nextInt(50), "CNY").toBuilder()
          .setComputeKind(random.nextInt(3) == 0 ? ComputeKind.COMPUTE_KIND_GENERAL
              : ComputeKind.COMPUTE_KIND_AI)
          .setFp16Peak(tflops(i % 7 == 0 ? random.nextInt(20) * 50 : random.nextDouble() * 1000))
          .setUplinkBandwidthMbps(1000 * (1 + random.nextInt(4))).build();
      all.add(add(r));
    }
    for (int i = 0; i < 3_000; i++) {
      Resource r = all.get(random.nextInt(all.size()));
      switch (i % 3) {
        case 0 -> add(r.toBuilder().setSite(Site.newBuilder().setProvinceCode(
            provinces.get(random.nextInt(provinces.size())))).build()); // moves bucket
        case 1 -> add(r.toBuilder().setStatus(ResourceStatus.RESOURCE_STATUS_OFFLINE).build());
        default -> {
          inventory.remove(r.getResourceId());
          selector.remove(r.getResourceId());
        }
      }
    }
    long offered = inventory.values().stream()
        .filter(r -> r.getStatus() == ResourceStatus.RESOURCE_STATUS_AVAILABLE).count();
    List<Resource> matches = inventory.values().stream()
        .filter(r -> r.getStatus() == ResourceStatus.RESOURCE_STATUS_AVAILABLE
            && r.getAccelerator().getCount() >= 2
            && r.getPricePerUnitHour().getMinorUnits() <= 145)
        .toList();
    double[][] weightings = {{0, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0},
        {0, 0, 0, 1}, {3, 5, 1, 2}};
    for (double[] w : weightings) {
      SelectResourcesRequest request = request(DemandConstraints.newBuilder()
          .setMinAcceleratorCount(2).setUserProvinceCode("44")
          .setMaxPricePerUnitHour(cny(145)))
          .toBuilder().setMaxCandidates(50).setPreferences(SelectionPreferences.newBuilder()
              .setPriceWeight(w[0]).setPerformanceWeight(w[1]).setLatencyWeight(w[2])
              .setBandwidthWeight(w[3])).build();

      SelectResourcesResponse answer = selector.select(request, false);

      assertThat(answer.getCandidatesList()).as("weights %s", Arrays.toString(w))
          .extracting(Candidate::getResourceId)
          .containsExactlyElementsOf(plainSort(matches, Selector.weights(request.getPreferences()),
              50));
      assertThat(answer.getMatchedResourceCount()).isEqualTo(matches.size());
      assertThat(answer.getEvaluatedResourceCount()).isEqualTo(offered);
      assertThat(selector.select(request, false)).isEqualTo(answer); // deterministic (SEL-006)
    }
  }

  /** The best {@code n} of {@code matches}: every one scored, all sorted (SEL-005, SEL-006). */
  private static List<String> plainSort(List<Resource> matches, double[] weights, int n) {
    double[] min = {Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE, Double.MAX_VALUE};
    double[] max = {-1, -1, -1, -1};
    for (Resource r : matches) {
      double[] raw = raw(r);
      for (int c = 0; c < 4; c++) {
        min[c] = Math.min(min[c], raw[c]);
        max[c] = Math.max(max[c], raw[c]);
      }
    }
    Map<String, Double> score = new HashMap<>();
    for (Resource r : matches) {
      double[] raw = raw(r);
      double total = 0;
      for (int c = 0; c < 4; c++) {
        boolean lowerIsBetter = c == 0 || c == 2;
        total += weights[c] * (max[c] == min[c] ? 1 : lowerIsBetter
            ? (max[c] - raw[c]) / (max[c] - min[c]) : (raw[c] - min[c]) / (max[c] - min[c]));
      }
      score.put(r.getResourceId(), total);
    }
    return matches.stream()
        .sorted(java.util.Comparator.comparingDouble((Resource r) -> -score.get(
            r.getResourceId())).thenComparingLong(r -> r.getPricePerUnitHour().getMinorUnits())
            .thenComparing(Resource::getResourceId))
        .limit(n).map(Resource::getResourceId).toList();
  }

  // Price, performance (FP16, else CPU cores: SEL-005), latency from Guangdong, bandwidth.
  private static double[] raw(Resource r) {
    double latency = NETWORK.latencyMs(NETWORK.index("44"),
        NETWORK.index(r.getSite().getProvinceCode()));
    double fp16 = r.getFp16Peak().getValue();
    return new double[] {r.getPricePerUnitHour().getMinorUnits(),
        fp16 > 0 ? fp16 : r.getCpu().getCores(), latency, r.getUplinkBandwidthMbps()};
  }

  /**
   * SEL-006's tie-breaks among many equal matches, which ranking must not lose to its shortcuts:
   * resources equal in every criterion and price, added in a shuffled order in two provinces,
   * rank by resource id alone.
   */
  @Test
  void equalMatchesAmongManyRankByResourceId() {
    List<Long> serials = new ArrayList<>();
    for (long s = 1; s <= 80_000; s++) {
      serials.add(s);
    }
    java.util.Collections.shuffle(serials, new Random(3));
    for (long s : serials) {
      Resource r = ai(s % 2 == 0 ? "44" : "11", 8, 100, "CNY").toBuilder()
          .setResourceId(Identifier.of(REGIONAL, IdentifierKind.RESOURCE, 1_000_000 + s)
              .toString()).build();
      add(r);
    }
    DemandConstraints.Builder sameLatency = DemandConstraints.newBuilder(); // no user province
    List<String> expected = serials.stream()
        .map(s -> Identifier.of(REGIONAL, IdentifierKind.RESOURCE, 1_000_000 + s).toString())
        .sorted().limit(20).toList();

    SelectResourcesResponse answer = selector.select(request(sameLatency).toBuilder()
        .setMaxCandidates(20).build(), false);

    assertThat(answer.getMatchedResourceCount()).isEqualTo(80_000);
    assertThat(answer.getCandidatesList()).extracting(Candidate::getResourceId)
        .containsExactlyElementsOf(expected);
    assertThat(answer.getCandidatesList()).extracting(Candidate::getTotalScore).containsOnly(
        answer.getCandidates(0).getTotalScore());
  }


  private static SelectResourcesRequest request(DemandConstraints.Builder constraints) {
    return SelectResourcesRequest.newBuilder().setConstraints(constraints).build();
  }

  private Resource add(Resource r) {
    inventory.put(r.getResourceId(), r);
    selector.update(r);
    return r;
  }

  private Resource ai(String province, int accelerators, long price, String currency) {
    return Resource.newBuilder()
        .setResourceId(id(IdentifierKind.RESOURCE))
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI)
        .setSite(Site.newBuilder().setProvinceCode(province))
        .setCpu(CpuSpec.newBuilder().setCores(64))
        .setAccelerator(AcceleratorSpec.newBuilder().setModel("H800").setCount(accelerators))
        .setFp16Peak(tflops(989))
        .setMemoryGib(1024)
        .setUplinkBandwidthMbps(10_000)
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode(currency)
            .setMinorUnits(price))
        .setCapacity(Capacity.newBuilder().setTotalUnits(10).setFreeUnits(10))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build();
  }

  private String id(IdentifierKind kind) {
    return Identifier.of(REGIONAL, kind, ++serial).toString();
  }

  private static Throughput tflops(double value) {
    return Throughput.newBuilder().setValue(value).setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS)
        .build();
  }

  private static Money cny(long minor) {
    return Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(minor).build();
  }
}
