package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.conformance.federation.FederationParticipants;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.node.servicecenter.ParticipantsCommand;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.servicecenter.v1.ApplyQualificationRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantResponse;
import cn.cpin.servicecenter.v1.AuditAction;
import cn.cpin.servicecenter.v1.CancelDemandRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandServiceGrpc;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.GetDemandRequest;
import cn.cpin.servicecenter.v1.GetParticipantRequest;
import cn.cpin.servicecenter.v1.GrantQualificationRequest;
import cn.cpin.servicecenter.v1.IdentityDocumentType;
import cn.cpin.servicecenter.v1.Individual;
import cn.cpin.servicecenter.v1.ListAuditEventsRequest;
import cn.cpin.servicecenter.v1.ListParticipantsRequest;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationStatus;
import cn.cpin.servicecenter.v1.QualificationType;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import cn.cpin.servicecenter.v1.SuspendParticipantRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flows 1 and 3 across the three running nodes over mutual TLS: participants register at the
 * industry node 86.44.C, are approved by its operator, obtain certificates with their one-time
 * tokens, are known to the regional node 86.44, and can then act only as their roles allow; a
 * reseller counts as a user only once qualified; a user's demand goes through its lifecycle; a
 * suspended participant's certificate stops working.
 */
class ServiceCenterFlowTest {
  private static final String INDUSTRY = "86.44.C";
  private static final String REGIONAL = "86.44";

  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static FederationParticipants fixture;
  private static ManagedChannel operator;

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
    fixture = new FederationParticipants(federation, "KC");
    operator = fixture.operator(INDUSTRY);
  }

  @AfterAll
  static void stop() {
    if (fixture != null) {
      fixture.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void providerRegistersIsApprovedActsOnlyAsItsRoleAndIsKnownToTheRegionalNode()
      throws Exception {
    RegisterParticipantRequest registration = organization("flow-provider-1",
        "91440300MA5FXT4K37", ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    Participant pending = participants(operator).registerParticipant(registration)
        .getParticipant();
    assertThat(pending.getParticipantId()).startsWith(INDUSTRY + "/P-");
    assertThat(pending.getStatus()).isEqualTo(ParticipantStatus.PARTICIPANT_STATUS_PENDING);
    assertThat(pending.getVersion()).isEqualTo(1);
    // Same request id: the same record; same credit code, another request: refused.
    assertThat(participants(operator).registerParticipant(registration).getParticipant())
        .isEqualTo(pending);
    assertCode(() -> participants(operator).registerParticipant(registration.toBuilder()
        .setRequestId("flow-provider-1b").build()), Status.Code.ALREADY_EXISTS);

    ManagedChannel provider = approveAndEnroll(pending.getParticipantId(), "flow-provider");
    Participant self = participants(provider).getParticipant(GetParticipantRequest.newBuilder()
        .setParticipantId(pending.getParticipantId()).build()).getParticipant();
    assertThat(self.getStatus()).isEqualTo(ParticipantStatus.PARTICIPANT_STATUS_APPROVED);
    assertThat(self.getVersion()).isEqualTo(2);

    // Its role is provider: no listing of participants, no demands.
    assertCode(() -> participants(provider).listParticipants(
        ListParticipantsRequest.getDefaultInstance()), Status.Code.PERMISSION_DENIED);
    assertCode(() -> demands(provider).submitDemand(demand("flow-provider-demand",
        pending.getParticipantId()).build()), Status.Code.PERMISSION_DENIED);

    // The audit trail: registered, approved, certificate issued — in order, with actors.
    List<AuditAction> actions = participants(operator).listAuditEvents(ListAuditEventsRequest
        .newBuilder().setParticipantId(pending.getParticipantId()).build()).getEventsList()
        .stream().map(e -> e.getAction()).toList();
    assertThat(actions).containsExactly(AuditAction.AUDIT_ACTION_REGISTERED,
        AuditAction.AUDIT_ACTION_APPROVED, AuditAction.AUDIT_ACTION_CERTIFICATE_ISSUED);

    // Supervision (SVC-017): the regional node holds the current record.
    ManagedChannel regionalOperator = fixture.operator(REGIONAL);
    Participant atRegional = await(() -> participants(regionalOperator).listParticipants(
            ListParticipantsRequest.newBuilder().setNodeCode(INDUSTRY).build())
        .getParticipantsList().stream()
        .filter(p -> p.getParticipantId().equals(pending.getParticipantId())
            && p.getStatus() == ParticipantStatus.PARTICIPANT_STATUS_APPROVED)
        .findFirst().orElse(null));
    assertThat(atRegional.getDisplayName()).isEqualTo(registration.getDisplayName());

    // Suspension: refused at once (SVC-006), then its certificate is revoked (SEC-013).
    participants(operator).suspendParticipant(SuspendParticipantRequest.newBuilder()
        .setRequestId("flow-provider-suspend").setParticipantId(pending.getParticipantId())
        .setReason("licence lapsed").build());
    await(() -> {
      try {
        participants(provider).getParticipant(GetParticipantRequest.newBuilder()
            .setParticipantId(pending.getParticipantId()).build());
        return null;
      } catch (StatusRuntimeException e) {
        return e.getStatus().getCode() == Status.Code.UNAUTHENTICATED ? e : null;
      }
    });
  }

  @Test
  void resellerCountsAsUserOnlyOnceQualified() throws Exception {
    RegisterParticipantRequest registration = organization("flow-reseller-1",
        "91110108MA01AB2C3T", ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    assertCode(() -> participants(operator).registerParticipant(registration.toBuilder()
        .clearTelecomLicenceNumber().build()), Status.Code.INVALID_ARGUMENT);
    String id = participants(operator).registerParticipant(registration).getParticipant()
        .getParticipantId();
    ManagedChannel reseller = approveAndEnroll(id, "flow-reseller");

    assertCode(() -> demands(reseller).submitDemand(demand("flow-reseller-d1", id).build()),
        Status.Code.PERMISSION_DENIED);
    var applied = QualificationServiceGrpc.newBlockingStub(reseller).applyQualification(
        ApplyQualificationRequest.newBuilder().setRequestId("flow-reseller-apply")
            .setParticipantId(id).setType(QualificationType.QUALIFICATION_TYPE_RESALE)
            .setEvidenceReference("licence B1-20260001").build()).getQualification();
    assertThat(applied.getStatus()).isEqualTo(QualificationStatus.QUALIFICATION_STATUS_PENDING);
    assertCode(() -> demands(reseller).submitDemand(demand("flow-reseller-d2", id).build()),
        Status.Code.PERMISSION_DENIED);

    QualificationServiceGrpc.newBlockingStub(operator).grantQualification(
        GrantQualificationRequest.newBuilder().setRequestId("flow-reseller-grant")
            .setParticipantId(id).setType(QualificationType.QUALIFICATION_TYPE_RESALE)
            .setReason("documents checked").build());
    Demand demand = demands(reseller).submitDemand(demand("flow-reseller-d3", id).build())
        .getDemand();
    assertThat(demand.getDemandId()).startsWith(INDUSTRY + "/D-");
  }

  @Test
  void userDemandGoesThroughItsLifecycle() throws Exception {
    RegisterParticipantRequest registration = RegisterParticipantRequest.newBuilder()
        .setRequestId("flow-user-1")
        .setIndividual(Individual.newBuilder().setFullName("张伟")
            .setDocumentType(IdentityDocumentType.IDENTITY_DOCUMENT_TYPE_PASSPORT)
            .setDocumentNumber("E12345678").setProvinceCode("44"))
        .setDisplayName("Zhang Wei")
        .addKinds(ParticipationKind.PARTICIPATION_KIND_USER)
        .addContacts(Contact.newBuilder().setName("Zhang Wei").setEmail("zw@example.cn"))
        .build();
    String id = participants(operator).registerParticipant(registration).getParticipant()
        .getParticipantId();
    ManagedChannel user = approveAndEnroll(id, "flow-user");
    // SVC-008: the document number is the operator's to see, not the participant's.
    assertThat(participants(user).getParticipant(GetParticipantRequest.newBuilder()
        .setParticipantId(id).build()).getParticipant().getIndividual().getDocumentNumber())
        .isEmpty();

    Demand submitted = demands(user).submitDemand(demand("flow-user-d1", id).build())
        .getDemand();
    assertThat(submitted.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_SUBMITTED);
    assertThat(submitted.getUserId()).isEqualTo(id);
    assertThat(demands(user).submitDemand(demand("flow-user-d1", id).build()).getDemand())
        .isEqualTo(submitted);
    Demand cancelled = demands(user).cancelDemand(CancelDemandRequest.newBuilder()
        .setRequestId("flow-user-c1").setDemandId(submitted.getDemandId())
        .setReason("plans changed").build()).getDemand();
    assertThat(cancelled.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_CANCELLED);
    assertThat(cancelled.getCancelReason()).isEqualTo("plans changed");

    Demand shortLived = demands(user).submitDemand(demand("flow-user-d2", id)
        .setExpiresAt(Timestamps.fromMillis(System.currentTimeMillis() + 1500)).build())
        .getDemand();
    Demand expired = await(() -> {
      Demand d = demands(user).getDemand(GetDemandRequest.newBuilder()
          .setDemandId(shortLived.getDemandId()).build()).getDemand();
      return d.getStatus() == DemandStatus.DEMAND_STATUS_EXPIRED ? d : null;
    });
    assertCode(() -> demands(user).cancelDemand(CancelDemandRequest.newBuilder()
            .setRequestId("flow-user-c2").setDemandId(expired.getDemandId()).build()),
        Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void operatorCommandLineListsApprovesAndShowsTheAuditTrail() throws Exception {
    String id = participants(operator).registerParticipant(organization("flow-cli-1",
        "91440101MA9W0CL17" + checkCharacter("91440101MA9W0CL17"),
        ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE)).getParticipant().getParticipantId();
    String node = federation.node(INDUSTRY).endpoint();
    String data = dataRoot.resolve(INDUSTRY).toString();

    assertThat(cli("list", "--node", node, "--data-dir", data)).contains(id + "\tPENDING");
    assertThat(cli("approve", id, "--node", node, "--data-dir", data, "--reason", "ok"))
        .contains(id + "\tAPPROVED").contains("certificate enrollment token");
    assertThat(cli("audit", id, "--node", node, "--data-dir", data))
        .contains("REGISTERED").contains("APPROVED\tcpin://" + INDUSTRY + "/operator\tok");
    assertThat(participants(operator).getParticipant(GetParticipantRequest.newBuilder()
        .setParticipantId(id).build()).getParticipant().getStatus())
        .isEqualTo(ParticipantStatus.PARTICIPANT_STATUS_APPROVED);
  }

  private static String cli(String... args) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.PrintStream before = System.out;
    System.setOut(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      int exit = new picocli.CommandLine(new ParticipantsCommand()).execute(args);
      assertThat(exit).as("exit status of participants %s", String.join(" ", args)).isZero();
    } finally {
      System.setOut(before);
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }

  private static char checkCharacter(String first17) {
    return cn.cpin.protocol.creditcode.CreditCode.checkCharacter(first17.substring(0, 17));
  }

  /** Approves {@code id} and returns a channel as it, with a certificate from its token. */
  private static ManagedChannel approveAndEnroll(String id, String prefix) throws Exception {
    ApproveParticipantResponse approved = participants(operator).approveParticipant(
        ApproveParticipantRequest.newBuilder().setRequestId(prefix + "-approve")
            .setParticipantId(id).setReason("documents checked").build());
    String token = approved.getCertificateEnrollmentToken();
    assertThat(token).hasSizeGreaterThanOrEqualTo(22);
    ManagedChannel channel = fixture.certify(INDUSTRY, id, token, prefix + "-enroll");
    // The token is single-use: another request with it is refused.
    var again = ParticipantCertificateServiceGrpc.newBlockingStub(fixture.channel(INDUSTRY, null));
    IssueParticipantCertificateRequest reuse = IssueParticipantCertificateRequest.newBuilder()
        .setRequestId(prefix + "-enroll-2").setParticipantId(id).setEnrollmentToken(token)
        .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(KeyMaterial.generateKeyPair(), id)))
        .build();
    assertCode(() -> again.issueParticipantCertificate(reuse), Status.Code.ALREADY_EXISTS);
    return channel;
  }

  private static RegisterParticipantRequest organization(String requestId, String creditCode,
      ParticipationKind kind) {
    return RegisterParticipantRequest.newBuilder().setRequestId(requestId)
        .setOrganization(Organization.newBuilder().setCreditCode(creditCode)
            .setLegalName("示例算力有限公司 " + requestId).setProvinceCode("44")
            .setIndustrySection("I"))
        .setDisplayName("Example " + requestId)
        .addKinds(kind)
        .addContacts(Contact.newBuilder().setName("Li Na").setRole("business")
            .setEmail("lina@example.cn"))
        .setTelecomLicenceNumber("B1-20260001")
        .build();
  }

  private static SubmitDemandRequest.Builder demand(String requestId, String user) {
    return SubmitDemandRequest.newBuilder().setRequestId(requestId).setUserId(user)
        .setTitle("fine-tuning run")
        .setConstraints(DemandConstraints.newBuilder().setMinAcceleratorCount(8)
            .addAllowedProvinceCodes("44"));
  }

  private static ParticipantServiceGrpc.ParticipantServiceBlockingStub participants(
      ManagedChannel channel) {
    return ParticipantServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20,
        TimeUnit.SECONDS);
  }

  private static DemandServiceGrpc.DemandServiceBlockingStub demands(ManagedChannel channel) {
    return DemandServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static void assertCode(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code));
  }

  private static <T> T await(Supplier<T> probe) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      T value = probe.get();
      if (value != null) {
        return value;
      }
      assertThat(System.nanoTime()).as("condition within 20 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
