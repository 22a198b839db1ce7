package cn.cpin.conformance;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.CpuSpec;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.provider.ProviderClient;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.ConstraintCheck;
import cn.cpin.selection.v1.Criterion;
import cn.cpin.selection.v1.CriterionScore;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionPreferences;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import com.google.protobuf.util.Durations;
import com.google.rpc.BadRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * System C's selection seen from outside (SEL): the suite registers a provider, publishes four
 * servers of an accelerator model no real resource has (so that its demands see only them),
 * and checks matching, unit conversion, the ranking formula and its explanation against them.
 * The servers stay in the node's inventory: run the suite against test deployments only.
 */
public abstract class AbstractSelectionSuite extends ConformanceSuite {
  private static final double EPSILON = 1e-9;

  // The suite's servers, published once per run: local key → resource id.
  private String model;
  private Map<String, String> published;
  private ProviderClient publisher;

  @Check(requirements = {"SEL-002", "GEN-002"}, title = "SelectResources rejects impossible "
      + "demands naming every field at once")
  void impossibleDemandsAreRejected() {
    requireSelection();
    SelectResourcesRequest bad = SelectResourcesRequest.newBuilder()
        .setConstraints(DemandConstraints.newBuilder()
            .setMinInt8Peak(Throughput.newBuilder().setValue(1)
                .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
            .setMinFp16Peak(Throughput.newBuilder().setValue(1))
            .setUserProvinceCode("99")
            .setDuration(Durations.fromSeconds(-1)))
        .setPreferences(SelectionPreferences.newBuilder().setLatencyWeight(-0.5))
        .setMaxCandidates(101).build();
    StatusRuntimeException e = expectError("demand with six faults",
        Status.Code.INVALID_ARGUMENT, null, () -> selection().selectResources(bad));
    Set<String> fields = violations(e).stream().map(BadRequest.FieldViolation::getField)
        .collect(Collectors.toSet());
    for (String field : List.of("constraints.min_int8_peak.unit",
        "constraints.min_fp16_peak.unit", "constraints.user_province_code",
        "constraints.duration", "preferences.latency_weight", "max_candidates")) {
      Assertions.check(fields.contains(field), "no FieldViolation for " + field + " in "
          + fields);
    }
    expectError("constraints missing", Status.Code.INVALID_ARGUMENT, "FIELD_REQUIRED",
        () -> selection().selectResources(SelectResourcesRequest.getDefaultInstance()));
  }

  @Check(requirements = {"SEL-001", "SEL-003"}, title = "A resource matches only if every "
      + "demand constraint holds, throughputs compared after unit conversion")
  void matchingIsExact() {
    requireSelection();
    Map<String, String> ids = servers();
    // 0.6 PFLOPS = 600 TFLOPS: "fast" (1,000 TFLOPS) holds, "cheap" (500 TFLOPS) does not;
    // "few" has 4 accelerators, "dollar" is priced in USD.
    SelectResourcesResponse strict = selection().selectResources(request(demand()
        .setMinFp16Peak(Throughput.newBuilder().setValue(0.6)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_PFLOPS))
        .setMaxPricePerUnitHour(cny(100_000))));
    Assertions.equal("candidates with ≥ 0.6 PFLOPS FP16, 8 accelerators, priced in CNY",
        List.of(ids.get("fast")), resourceIds(strict));
    SelectResourcesResponse loose = selection().selectResources(request(demand()
        .setMaxPricePerUnitHour(cny(100_000))));
    Assertions.equal("candidates with 8 accelerators priced in CNY",
        Set.of(ids.get("fast"), ids.get("cheap")), Set.copyOf(resourceIds(loose)));
    SelectResourcesResponse none = selection().selectResources(request(demand()
        .setMinAcceleratorCount(1_000)));
    Assertions.equal("an impossible demand is an empty answer", 0,
        none.getCandidatesCount());
  }

  @Check(requirements = {"SEL-005", "SEL-006", "SEL-007", "SEL-009"}, title = "Candidates are "
      + "ranked by the standard's weighted min–max formula and explain every criterion and "
      + "constraint")
  void rankingExplainsItself() {
    requireSelection();
    Map<String, String> ids = servers();
    SelectResourcesResponse answer = selection().selectResources(request(demand()
        .setUnitCount(2).setDuration(Durations.fromMinutes(90))
        .setMaxPricePerUnitHour(cny(100_000))));
    Assertions.equal("matched_resource_count", 2L, answer.getMatchedResourceCount());
    // Default weights 0.4/0.3/0.2/0.1; no user province, so latency and bandwidth score 0:
    // "cheap" (800) gets price 1 and performance 0 → 0.4; "fast" (1,000) 0 and 1 → 0.3.
    Assertions.equal("order", List.of(ids.get("cheap"), ids.get("fast")), resourceIds(answer));
    double[] expected = {0.4, 0.3};
    for (int i = 0; i < 2; i++) {
      Candidate c = answer.getCandidates(i);
      Assertions.equal("rank", i + 1, c.getRank());
      Assertions.check(Math.abs(c.getTotalScore() - expected[i]) < EPSILON, "total_score of "
          + c.getResourceId() + ": expected " + expected[i] + ", got " + c.getTotalScore());
      Assertions.equal("criteria", Set.of(Criterion.CRITERION_PRICE,
          Criterion.CRITERION_PERFORMANCE, Criterion.CRITERION_LATENCY,
          Criterion.CRITERION_BANDWIDTH), c.getCriterionScoresList().stream()
          .map(CriterionScore::getCriterion).collect(Collectors.toSet()));
      double sum = c.getCriterionScoresList().stream()
          .mapToDouble(CriterionScore::getWeightedScore).sum();
      Assertions.check(Math.abs(sum - c.getTotalScore()) < EPSILON,
          "weighted scores sum to " + sum + ", total_score is " + c.getTotalScore());
      Set<String> checked = c.getConstraintChecksList().stream()
          .map(ConstraintCheck::getConstraint).collect(Collectors.toSet());
      for (String constraint : List.of("compute_kind", "accelerator_model",
          "min_accelerator_count", "unit_count", "max_price_per_unit_hour")) {
        Assertions.check(checked.contains(constraint), "no ConstraintCheck for " + constraint
            + " in " + checked);
      }
      Assertions.check(c.getConstraintChecksList().stream().allMatch(
          ConstraintCheck::getSatisfied), "a candidate with an unsatisfied constraint");
      // 2 units × 2 billable hours (90 min rounded up) × the price.
      Assertions.equal("estimated_cost", 4 * c.getResource().getPricePerUnitHour()
          .getMinorUnits(), c.getEstimatedCost().getMinorUnits());
      Assertions.check(!c.getNodeCode().isEmpty(), "candidate without node_code");
      Assertions.check(!c.getExplanation().isEmpty(), "candidate without explanation");
    }
  }

  @Check(requirements = {"SEL-006", "SEL-010"}, title = "The same request twice yields the same "
      + "ranking and reserves nothing")
  void selectionIsDeterministicAndReadOnly() {
    requireSelection();
    servers();
    SelectResourcesRequest request = request(demand().setMaxPricePerUnitHour(cny(100_000)))
        .toBuilder().setPreferences(SelectionPreferences.newBuilder().setPerformanceWeight(1))
        .build();
    SelectResourcesResponse first = selection().selectResources(request);
    SelectResourcesResponse second = selection().selectResources(request);
    Assertions.equal("candidates", first.getCandidatesList().stream().map(c -> c.getResourceId()
        + "@" + c.getTotalScore() + "/" + c.getResource().getCapacity().getFreeUnits()).toList(),
        second.getCandidatesList().stream().map(c -> c.getResourceId() + "@" + c.getTotalScore()
            + "/" + c.getResource().getCapacity().getFreeUnits()).toList());
  }

  // ---------------------------------------------------------------- fixtures

  private void requireSelection() {
    requireService(SelectionServiceGrpc.SERVICE_NAME);
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the check needs "
          + "a provider identity to publish the servers it selects among");
    }
  }

  /** Publishes the suite's four servers once; their ids by local key. */
  private synchronized Map<String, String> servers() {
    if (published != null) {
      try {
        // Keeps the servers AVAILABLE: a silent provider's resources go OFFLINE (AGG-007).
        publisher.heartbeat().get(deadlineMillis(), TimeUnit.MILLISECONDS);
        return published;
      } catch (Exception e) {
        throw new AssertionError("the suite's provider stream failed: " + e, e);
      }
    }
    model = "CONFORMANCE-" + UUID.randomUUID().toString().substring(0, 8)
        .toUpperCase(java.util.Locale.ROOT);
    String provider = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    ProviderClient client = new ProviderClient(asParticipant(provider), provider);
    try {
      client.connect().get(deadlineMillis(), TimeUnit.MILLISECONDS);
      client.snapshot(List.of(
          server("fast", 8, "44", 1_000, "CNY", 1_000),
          server("cheap", 8, "52", 800, "CNY", 500),
          server("few", 4, "44", 500, "CNY", 2_000),
          server("dollar", 8, "44", 100, "USD", 2_000)))
          .get(deadlineMillis(), TimeUnit.MILLISECONDS);
      Map<String, String> ids = new TreeMap<>();
      for (String key : List.of("fast", "cheap", "few", "dollar")) {
        ids.put(key, client.resourceId(key));
      }
      // Selection follows the inventory asynchronously: wait until all four are selectable.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (selection().selectResources(request(DemandConstraints.newBuilder()
          .setAcceleratorModel(model))).getMatchedResourceCount() < 4) {
        Assertions.check(System.nanoTime() < deadline, "the published servers did not become "
            + "selectable within 10 s");
        Thread.sleep(50);
      }
      published = ids;
      publisher = client; // open for the rest of the run, closed with the target's channels
      return ids;
    } catch (Exception e) {
      client.close();
      throw new AssertionError("could not publish the suite's servers as a provider: " + e, e);
    }
  }

  private Resource server(String key, int accelerators, String province, long price,
      String currency, double fp16Tflops) {
    return Resource.newBuilder().setLocalKey(key)
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI)
        .setDisplayName("conformance server " + key)
        .setSite(Site.newBuilder().setProvinceCode(province).setSiteName("conformance DC"))
        .setCpu(CpuSpec.newBuilder().setModel("conformance CPU").setCores(64))
        .setAccelerator(AcceleratorSpec.newBuilder().setModel(model).setVendor("conformance")
            .setCount(accelerators))
        .setFp16Peak(Throughput.newBuilder().setValue(fp16Tflops)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
        .setMemoryGib(1024).setStorageGib(10_240).setUplinkBandwidthMbps(1_000)
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode(currency).setMinorUnits(price))
        .setCapacity(Capacity.newBuilder().setTotalUnits(8).setFreeUnits(8))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build();
  }

  private DemandConstraints.Builder demand() {
    return DemandConstraints.newBuilder().setComputeKind(ComputeKind.COMPUTE_KIND_AI)
        .setAcceleratorModel(model).setMinAcceleratorCount(8);
  }

  private static SelectResourcesRequest request(DemandConstraints.Builder constraints) {
    return SelectResourcesRequest.newBuilder().setConstraints(constraints).build();
  }

  private static List<String> resourceIds(SelectResourcesResponse response) {
    return response.getCandidatesList().stream().map(Candidate::getResourceId).toList();
  }

  private static Money cny(long minor) {
    return Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(minor).build();
  }

  private SelectionServiceGrpc.SelectionServiceBlockingStub selection() {
    return SelectionServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS);
  }
}
