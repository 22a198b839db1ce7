package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

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
import cn.cpin.conformance.federation.FederationParticipants;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.provider.ProviderClient;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.CriterionScore;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineServiceGrpc;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.MetricSource;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandServiceGrpc;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import com.google.protobuf.util.Durations;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flows 3, 5, 6 and 11 across the three running nodes over mutual TLS: a provider of the
 * industry node 86.44.C and one of the regional node 86.44 publish AI servers; a line provider
 * opens a dedicated line from Beijing to the industry provider's server in Guizhou; a user in
 * Beijing submits a demand at the regional node and gets ranked, explained candidates that
 * include the industry node's server reached over the line; the industry node's federated
 * selection includes the regional node's server.
 */
class SelectionFlowTest {
  private static final String INDUSTRY = "86.44.C";
  private static final String REGIONAL = "86.44";

  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static FederationParticipants participants;

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
    participants = new FederationParticipants(federation, "XL");
  }

  @AfterAll
  static void stop() {
    if (participants != null) {
      participants.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void demandGetsExplainedCandidatesFromBothNodesWithTheDedicatedLine() throws Exception {
    String guizhou = publish(INDUSTRY, "gz-1", "52", 900);
    String guangdong = publish(REGIONAL, "gd-1", "44", 1500);
    // The regional view holds both (the industry node's through aggregation).
    var regionalOperator = participants.operator(REGIONAL);
    await(() -> select(regionalOperator, DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI), false).getMatchedResourceCount() == 2
        ? true : null);

    var lineProvider = participants.enroll(REGIONAL,
        ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    DedicatedLine line = DedicatedLineServiceGrpc.newBlockingStub(lineProvider.channel())
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .openDedicatedLine(OpenDedicatedLineRequest.newBuilder()
            .setRequestId("xl-line-1").setProviderId(lineProvider.id())
            .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("11").setSiteName("Beijing"))
            .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("52")
                .setResourceId(guizhou))
            .setBandwidthMbps(10_000).setAvailableBandwidthMbps(10_000)
            .setLatency(Durations.fromMillis(9))
            .setPricePerMbpsHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(1))
            .build()).getLine();

    var user = participants.enroll(REGIONAL, ParticipationKind.PARTICIPATION_KIND_USER);
    Demand demand = DemandServiceGrpc.newBlockingStub(user.channel())
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .submitDemand(SubmitDemandRequest.newBuilder().setRequestId("xl-demand-1")
            .setUserId(user.id()).setTitle("training run from Beijing")
            .setConstraints(DemandConstraints.newBuilder()
                .setComputeKind(ComputeKind.COMPUTE_KIND_AI).setMinAcceleratorCount(8)
                .setUserProvinceCode("11").setMinBandwidthMbps(100))
            .build()).getDemand();

    assertThat(demand.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_MATCHED);
    assertThat(demand.getCandidatesList()).extracting(Candidate::getResourceId)
        .containsExactlyInAnyOrder(guizhou, guangdong);
    Candidate first = demand.getCandidates(0);
    assertThat(first.getResourceId()).isEqualTo(guizhou); // cheaper and nearer over the line
    assertThat(first.getNodeCode()).isEqualTo(INDUSTRY);
    assertThat(first.getDedicatedLineId()).isEqualTo(line.getLineId());
    assertThat(first.getNetwork().getSource()).isEqualTo(MetricSource.METRIC_SOURCE_DEDICATED_LINE);
    assertThat(first.getCriterionScoresList()).hasSize(4);
    assertThat(first.getCriterionScoresList().stream()
        .mapToDouble(CriterionScore::getWeightedScore).sum())
        .isCloseTo(first.getTotalScore(), org.assertj.core.data.Offset.offset(1e-9));
    assertThat(first.getConstraintChecksList()).isNotEmpty();
    assertThat(first.getExplanation()).contains(line.getLineId());
    assertThat(demand.getCandidates(1).getDedicatedLineId()).isEmpty();

    // Federated selection from the industry node includes the regional node's server.
    var industryOperator = participants.operator(INDUSTRY);
    SelectResourcesResponse federated = select(industryOperator, DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI), true);
    assertThat(federated.getPartial().getPartial()).isFalse();
    assertThat(federated.getCandidatesList()).extracting(Candidate::getResourceId)
        .contains(guizhou, guangdong);
    assertThat(select(industryOperator, DemandConstraints.newBuilder()
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI), false).getCandidatesList())
        .extracting(Candidate::getResourceId).containsExactly(guizhou);
  }

  // An approved AI provider at node publishes one 8-GPU server; returns its resource id.
  private static String publish(String node, String key, String province, long price)
      throws Exception {
    var provider = participants.enroll(node, ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    ProviderClient client = new ProviderClient(provider.channel(), provider.id());
    client.connect().get(20, TimeUnit.SECONDS);
    client.snapshot(List.of(Resource.newBuilder().setLocalKey(key)
        .setComputeKind(ComputeKind.COMPUTE_KIND_AI)
        .setDisplayName("8×H800 server")
        .setSite(Site.newBuilder().setProvinceCode(province).setSiteName("DC " + key))
        .setCpu(CpuSpec.newBuilder().setModel("Xeon Platinum 8480+").setCores(112))
        .setAccelerator(AcceleratorSpec.newBuilder().setModel("H800").setVendor("NVIDIA")
            .setCount(8))
        .setFp16Peak(Throughput.newBuilder().setValue(7912)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
        .setMemoryGib(2048).setStorageGib(30_720).setUplinkBandwidthMbps(1000)
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(price))
        .setCapacity(Capacity.newBuilder().setTotalUnits(16).setFreeUnits(16))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build())).get(20, TimeUnit.SECONDS);
    return client.resourceId(key);
  }

  private static SelectResourcesResponse select(io.grpc.ManagedChannel channel,
      DemandConstraints.Builder constraints, boolean remote) {
    return SelectionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .selectResources(SelectResourcesRequest.newBuilder().setConstraints(constraints)
            .setIncludeRemoteNodes(remote).build());
  }

  private static <T> T await(Supplier<T> probe) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
