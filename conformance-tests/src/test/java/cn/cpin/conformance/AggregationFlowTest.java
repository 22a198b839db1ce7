package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.provider.ProviderSimulator;
import cn.cpin.provider.ResourceMix;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
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
  private static final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
  }

  @AfterAll
  static void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
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
      String id = register(node, i);
      ids.add(id);
      providerChannels.add(approveAndEnroll(node, id, "agg-flow-" + i));
    }
    ProviderSimulator simulator = new ProviderSimulator(providerChannels, ids, EACH, 20261126);
    try {
      assertThat(simulator.connectAll(8, Duration.ofSeconds(60))).isEmpty();
      ManagedChannel regionalOperator = operator(REGIONAL);
      ManagedChannel industryOperator = operator(INDUSTRY);
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
      ManagedChannel regionalAgain = operator(REGIONAL);
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

  private static String register(String node, int i) throws Exception {
    String first17 = String.format("91440300MA5AGG%03d", i);
    return ParticipantServiceGrpc.newBlockingStub(operator(node))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .registerParticipant(RegisterParticipantRequest.newBuilder()
            .setRequestId("agg-flow-register-" + i)
            .setOrganization(Organization.newBuilder()
                .setCreditCode(first17 + CreditCode.checkCharacter(first17))
                .setLegalName("算力供应商 " + i).setProvinceCode("44").setIndustrySection("I"))
            .setDisplayName("Simulated provider " + i)
            .addKinds(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER)
            .addKinds(ParticipationKind.PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER)
            .addContacts(Contact.newBuilder().setName("Li Na").setEmail("lina@example.cn"))
            .setTelecomLicenceNumber("B1-20260001")
            .build())
        .getParticipant().getParticipantId();
  }

  /** Approves {@code id} at {@code node} and returns a channel as it, enrolled with its token. */
  private static ManagedChannel approveAndEnroll(String node, String id, String prefix)
      throws Exception {
    String token = ParticipantServiceGrpc.newBlockingStub(operator(node))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .approveParticipant(ApproveParticipantRequest.newBuilder()
            .setRequestId(prefix + "-approve").setParticipantId(id)
            .setReason("documents checked").build())
        .getCertificateEnrollmentToken();
    KeyPair keys = KeyMaterial.generateKeyPair();
    var chain = ParticipantCertificateServiceGrpc.newBlockingStub(channel(node, null))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .issueParticipantCertificate(IssueParticipantCertificateRequest.newBuilder()
            .setRequestId(prefix + "-enroll").setParticipantId(id).setEnrollmentToken(token)
            .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(keys, id))).build())
        .getCertificateChain();
    List<X509Certificate> certificates = new ArrayList<>();
    for (ByteString der : chain.getCertificatesDerList()) {
      certificates.add(KeyMaterial.parseCertificate(der.toByteArray()));
    }
    return channel(node, new Credentials(keys.getPrivate(), certificates));
  }

  private static ManagedChannel operator(String node) throws Exception {
    return channel(node, CredentialFiles.read(dataRoot.resolve(node + "/operator"), "operator"));
  }

  private static ManagedChannel channel(String code, Credentials credentials) throws Exception {
    ManagedChannel channel = NodeTls.channel(new InetSocketAddress("127.0.0.1",
            federation.node(code).port()), credentials,
        KeyMaterial.readCertificates(federation.trustAnchors()),
        CpinIdentity.node(NodeCode.parse(code)));
    channels.add(channel);
    return channel;
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
