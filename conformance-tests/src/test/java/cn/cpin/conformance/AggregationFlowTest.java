package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.conformance.federation.FederationParticipants;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.provider.ProviderSimulator;
import cn.cpin.provider.ResourceMix;
import cn.cpin.servicecenter.v1.ParticipationKind;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flows 4 and 5 across the three running nodes over mutual TLS: simulated providers, registered,
 * approved and enrolled at the service centers of the industry node 86.44.C and the regional node
 * 86.44, publish their inventories; the regional view holds every resource with its provenance and
 * stays exact across provider disconnects and resumes, a restart of the regional node and a restart
 * of the industry node (AGG-002 … AGG-005, AGG-009 … AGG-011, AGG-013).
 */
class AggregationFlowTest {
  private static final String INDUSTRY = "86.44.C";
  private static final String REGIONAL = "86.44";
  private static final int AT_INDUSTRY = 6;
  private static final int AT_REGIONAL = 4;
  private static final int EACH = 3;

  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static FederationParticipants participants;

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
    participants = new FederationParticipants(federation, "AG");
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
  void regionalViewIsExactAcrossDisconnectsResumesAndRestarts() throws Exception {
    List<ManagedChannel> providerChannels = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < AT_INDUSTRY + AT_REGIONAL; i++) {
      String node = i < AT_INDUSTRY ? INDUSTRY : REGIONAL;
      var provider = participants.enroll(node,
          ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER,
          ParticipationKind.PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER);
      ids.add(provider.id());
      providerChannels.add(provider.channel());
    }
    ProviderSimulator simulator = new ProviderSimulator(providerChannels, ids, EACH, 20261126);
    try {
      assertThat(simulator.connectAll(8, Duration.ofSeconds(60))).isEmpty();
      ManagedChannel regionalOperator = participants.operator(REGIONAL);
      ManagedChannel industryOperator = participants.operator(INDUSTRY);
      await(() -> list(regionalOperator).size() == (AT_INDUSTRY + AT_REGIONAL) * EACH);
      assertThat(list(industryOperator)).hasSize(AT_INDUSTRY * EACH);
      assertRegionalViewMatches(simulator, regionalOperator);

      ResourceMix mix = new ResourceMix(5);
      // A change at the industry node reaches the regional view.
      ProviderSimulator.Provider first = simulator.providers().get(0);
      first.change(0, mix, r -> { }).get(10, TimeUnit.SECONDS);
      await(() -> viewMatches(simulator, regionalOperator));

      // A provider that loses its stream resumes from its acknowledged version, no snapshot.
      first.client().disconnect();
      first.connect().get(10, TimeUnit.SECONDS);
      assertThat(first.client().canResume()).isTrue();
      first.change(1, mix, r -> { }).get(10, TimeUnit.SECONDS);
      await(() -> viewMatches(simulator, regionalOperator));

      // The regional node restarts: its providers resume (their versions were durable) and the
      // industry node's report resumes; changes on both paths arrive.
      federation.restart(REGIONAL);
      ManagedChannel regionalAgain = participants.operator(REGIONAL);
      assertRegionalViewMatches(simulator, regionalAgain);
      for (ProviderSimulator.Provider p : simulator.providers()) {
        p.connect().get(30, TimeUnit.SECONDS);
        assertThat(p.client().canResume()).as(p.client().providerId()).isTrue();
      }
      simulator.providers().get(1).change(2, mix, r -> { }).get(10, TimeUnit.SECONDS);
      simulator.providers().get(AT_INDUSTRY).change(0, mix, r -> { }).get(10, TimeUnit.SECONDS);
      await(() -> viewMatches(simulator, regionalAgain));

      // The industry node restarts: its providers resume; the regional view stays exact.
      federation.restart(INDUSTRY);
      for (ProviderSimulator.Provider p : simulator.providers().subList(0, AT_INDUSTRY)) {
        p.connect().get(30, TimeUnit.SECONDS);
        assertThat(p.client().canResume()).as(p.client().providerId()).isTrue();
      }
      simulator.providers().get(2).change(0, mix, r -> { }).get(10, TimeUnit.SECONDS);
      await(() -> viewMatches(simulator, regionalAgain));
      assertRegionalViewMatches(simulator, regionalAgain);
    } finally {
      simulator.close();
    }
  }

  // What the providers last published, and where it came from, is exactly the regional view.
  private static void assertRegionalViewMatches(ProviderSimulator simulator,
      ManagedChannel regional) {
    Map<String, Resource> view = new HashMap<>();
    list(regional).forEach(r -> view.put(r.getResourceId(), r));
    assertThat(view).hasSize((AT_INDUSTRY + AT_REGIONAL) * EACH);
    for (ProviderSimulator.Provider p : simulator.providers()) {
      String provider = p.client().providerId();
      boolean atIndustry = provider.startsWith(INDUSTRY + "/");
      for (Resource published : p.resources()) {
        String id = p.client().resourceId(published.getLocalKey());
        Resource seen = view.get(id);
        assertThat(seen).as(id).isNotNull();
        assertThat(seen.getCapacity().getFreeUnits()).as(id)
            .isEqualTo(published.getCapacity().getFreeUnits());
        assertThat(seen.getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_AVAILABLE);
        assertThat(seen.getProvenance().getProviderId()).isEqualTo(provider);
        assertThat(seen.getProvenance().getOriginNodeCode())
            .isEqualTo(atIndustry ? INDUSTRY : REGIONAL);
        assertThat(seen.getProvenance().getViaNodeCodesList())
            .isEqualTo(atIndustry ? List.of(REGIONAL) : List.of());
      }
    }
    String anyId = view.keySet().iterator().next();
    assertThat(InventoryServiceGrpc.newBlockingStub(regional).getResource(GetResourceRequest
        .newBuilder().setResourceId(anyId).build()).getResource()).isEqualTo(view.get(anyId));
  }

  private static boolean viewMatches(ProviderSimulator simulator, ManagedChannel regional) {
    try {
      assertRegionalViewMatches(simulator, regional);
      return true;
    } catch (AssertionError e) {
      return false;
    }
  }

  private static List<Resource> list(ManagedChannel channel) {
    List<Resource> all = new ArrayList<>();
    String token = "";
    do {
      ListResourcesResponse page = InventoryServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(20, TimeUnit.SECONDS)
          .listResources(ListResourcesRequest.newBuilder().setPageSize(7).setPageToken(token)
              .build());
      all.addAll(page.getResourcesList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return all;
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
