package cn.cpin.conformance;

import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.SelectionPreferences;
import cn.cpin.servicecenter.v1.ApplyQualificationRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantResponse;
import cn.cpin.servicecenter.v1.AuditAction;
import cn.cpin.servicecenter.v1.AuditEvent;
import cn.cpin.servicecenter.v1.CancelDemandRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandServiceGrpc;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.GetDemandRequest;
import cn.cpin.servicecenter.v1.GetParticipantRequest;
import cn.cpin.servicecenter.v1.GetQualificationRequest;
import cn.cpin.servicecenter.v1.GrantQualificationRequest;
import cn.cpin.servicecenter.v1.IdentityDocumentType;
import cn.cpin.servicecenter.v1.Individual;
import cn.cpin.servicecenter.v1.ListAuditEventsRequest;
import cn.cpin.servicecenter.v1.ListDemandsRequest;
import cn.cpin.servicecenter.v1.ListParticipantsRequest;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.Qualification;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationStatus;
import cn.cpin.servicecenter.v1.QualificationType;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.servicecenter.v1.RejectParticipantRequest;
import cn.cpin.servicecenter.v1.ReinstateParticipantRequest;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import cn.cpin.servicecenter.v1.SuspendParticipantRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import com.google.rpc.BadRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/**
 * System A seen from outside (SVC): registration, the operator's decisions, enrollment tokens,
 * qualifications and demands at a regional or industry node, driven as the node's operator and
 * as participants, all identities minted by the suite's test CA. Every participant the suite
 * registers carries a fresh credit code (or identity document) and stays in the node's records:
 * run the suite against test deployments only.
 */
public abstract class AbstractServiceCenterSuite extends ConformanceSuite {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final String ALPHABET = CreditCode.ALPHABET;
  private static final long MAX_TOKEN_DAYS = 30;

  // ---------------------------------------------------------------- registration (flow 1)

  @Check(requirements = "SVC-001", title = "RegisterParticipant rejects a credit code that "
      + "fails GB 32100 with the rule it breaks, naming organization.credit_code")
  void creditCodeRules() {
    setUp();
    String good = freshCreditCode();
    char wrongCheck = ALPHABET.charAt((ALPHABET.indexOf(good.charAt(17)) + 1) % ALPHABET.length());
    for (String[] bad : new String[][] {
        {good.substring(0, 17) + wrongCheck, "CREDIT_CODE_CHECK_MISMATCH"},
        {good.substring(0, 16), "CREDIT_CODE_WRONG_LENGTH"},
        {good.substring(0, 2) + "ma" + good.substring(4), "CREDIT_CODE_FORBIDDEN_CHARACTER"}}) {
      StatusRuntimeException e = expectError("credit code " + bad[0],
          Status.Code.INVALID_ARGUMENT, bad[1], () -> participants(asOperator())
              .registerParticipant(organization(ParticipationKind.PARTICIPATION_KIND_USER)
                  .setOrganization(Organization.newBuilder().setCreditCode(bad[0])).build()));
      Assertions.check(violations(e).stream().anyMatch(v ->
          v.getField().equals("organization.credit_code")), "credit code " + bad[0]
          + ": no FieldViolation names organization.credit_code: " + describe(e));
    }
  }

  @Check(requirements = {"SVC-002", "GEN-002"}, title = "RegisterParticipant reports every "
      + "content violation at once and creates nothing")
  void registrationContentRulesAllAtOnce() {
    setUp();
    String code = freshCreditCode();
    RegisterParticipantRequest bad = RegisterParticipantRequest.newBuilder()
        .setRequestId(freshRequestId())
        .setOrganization(Organization.newBuilder().setCreditCode(code).setProvinceCode("99")
            .setIndustrySection("Z"))
        .addKinds(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING)
        .addKinds(ParticipationKind.PARTICIPATION_KIND_UNSPECIFIED)
        .build();
    StatusRuntimeException e = expectError("registration with six faults",
        Status.Code.INVALID_ARGUMENT, null, () -> participants(asOperator())
            .registerParticipant(bad));
    Set<String> fields = violations(e).stream().map(BadRequest.FieldViolation::getField)
        .collect(Collectors.toSet());
    for (String field : List.of("display_name", "contacts", "kinds[1]",
        "telecom_licence_number", "organization.province_code",
        "organization.industry_section")) {
      Assertions.check(fields.contains(field), "no FieldViolation for " + field + " in "
          + fields);
    }
    Assertions.check(participants(asOperator()).listParticipants(ListParticipantsRequest
            .newBuilder().setCreditCode(code).build()).getParticipantsCount() == 0,
        "a rejected registration left a participant with credit code " + code);
  }

  @Check(requirements = {"SVC-003", "GEN-009"}, title = "RegisterParticipant creates a PENDING "
      + "participant of kind P under the node's code; a retry returns it; the same credit code "
      + "again is ALREADY_EXISTS until the first is REJECTED")
  void registrationCreatesOnePendingParticipant() {
    setUp();
    RegisterParticipantRequest request = organization(
        ParticipationKind.PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER).build();
    Participant first = participants(asOperator()).registerParticipant(request).getParticipant();
    Identifier id = Identifier.parse(first.getParticipantId());
    Assertions.equal("participant_id kind", IdentifierKind.PARTICIPANT, id.kind());
    Assertions.equal("participant_id node code", target().nodeCode(), id.nodeCode());
    Assertions.equal("node_code", target().nodeCode().toString(), first.getNodeCode());
    Assertions.equal("status", ParticipantStatus.PARTICIPANT_STATUS_PENDING, first.getStatus());
    Assertions.equal("version", 1L, first.getVersion());
    Assertions.equal("retry with the same request_id", first,
        participants(asOperator()).registerParticipant(request).getParticipant());
    RegisterParticipantRequest again = request.toBuilder().setRequestId(freshRequestId()).build();
    expectError("second registration of credit code "
        + request.getOrganization().getCreditCode(), Status.Code.ALREADY_EXISTS,
        "ALREADY_EXISTS", () -> participants(asOperator()).registerParticipant(again));
    participants(asOperator()).rejectParticipant(RejectParticipantRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id.toString())
        .setReason("documents incomplete").build());
    Participant second = participants(asOperator()).registerParticipant(again).getParticipant();
    Assertions.check(!second.getParticipantId().equals(first.getParticipantId()),
        "a registration after rejection must get a new participant_id");
  }

  @Check(requirements = "SVC-004", title = "Participant status changes only along the "
      + "standard's transitions; every change increments version")
  void participantTransitions() {
    setUp();
    String id = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    approve(id);
    expectError("approve an APPROVED participant", Status.Code.FAILED_PRECONDITION,
        "FAILED_PRECONDITION", () -> approve(id));
    expectError("reject an APPROVED participant", Status.Code.FAILED_PRECONDITION,
        "FAILED_PRECONDITION", () -> participants(asOperator()).rejectParticipant(
            RejectParticipantRequest.newBuilder().setRequestId(freshRequestId())
                .setParticipantId(id).setReason("late").build()));
    expectError("reinstate an APPROVED participant", Status.Code.FAILED_PRECONDITION,
        "FAILED_PRECONDITION", () -> reinstate(id));
    Participant suspended = suspend(id);
    Assertions.equal("status after suspension", ParticipantStatus.PARTICIPANT_STATUS_SUSPENDED,
        suspended.getStatus());
    Assertions.equal("status_reason", "conformance suspension", suspended.getStatusReason());
    Assertions.equal("version after approve and suspend", 3L, suspended.getVersion());
    Participant reinstated = participants(asOperator()).reinstateParticipant(
        ReinstateParticipantRequest.newBuilder().setRequestId(freshRequestId()).setParticipantId(id)
            .setReason("licence renewed").build()).getParticipant();
    Assertions.equal("status after reinstatement", ParticipantStatus.PARTICIPANT_STATUS_APPROVED,
        reinstated.getStatus());
    Assertions.equal("version after reinstatement", 4L, reinstated.getVersion());
    expectError("suspend without a reason", Status.Code.INVALID_ARGUMENT, null,
        () -> participants(asOperator()).suspendParticipant(SuspendParticipantRequest.newBuilder()
            .setRequestId(freshRequestId()).setParticipantId(id).build()));
  }

  @Check(requirements = "SVC-005", title = "Approval returns a single-use enrollment token of at "
      + "least 128 bits, the same on retry, that yields one participant certificate")
  void enrollmentTokenIsSingleUse() {
    setUp();
    String id = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    ApproveParticipantRequest request = ApproveParticipantRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id).build();
    ApproveParticipantResponse approved = participants(asOperator()).approveParticipant(request);
    String token = approved.getCertificateEnrollmentToken();
    Assertions.check(token.length() >= 22, "token of " + token.length()
        + " characters cannot hold 128 bits");
    long days = Durations.toDays(Timestamps.between(Timestamps.fromMillis(
        System.currentTimeMillis()), approved.getCertificateEnrollmentTokenExpiresAt()));
    Assertions.check(days <= MAX_TOKEN_DAYS, "token valid for " + days + " days (at most 30)");
    Assertions.equal("token on retry of the approval", token,
        participants(asOperator()).approveParticipant(request).getCertificateEnrollmentToken());
    ManagedChannel anonymous = target().channelWith(null);
    IssueParticipantCertificateRequest enroll = IssueParticipantCertificateRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id).setEnrollmentToken(token)
        .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(KeyMaterial.generateKeyPair(),
            id))).build();
    var chain = ParticipantCertificateServiceGrpc.newBlockingStub(anonymous)
        .withDeadlineAfter(deadlineMillis(), MILLIS).issueParticipantCertificate(enroll)
        .getCertificateChain();
    Assertions.check(chain.getCertificatesDerCount() >= 2, "chain without its issuing CA");
    expectError("the token used again by another request", Status.Code.ALREADY_EXISTS, null,
        () -> ParticipantCertificateServiceGrpc.newBlockingStub(anonymous)
            .withDeadlineAfter(deadlineMillis(), MILLIS).issueParticipantCertificate(
                enroll.toBuilder().setRequestId(freshRequestId()).build()));
    expectError("an unknown token", Status.Code.UNAUTHENTICATED, null,
        () -> ParticipantCertificateServiceGrpc.newBlockingStub(anonymous)
            .withDeadlineAfter(deadlineMillis(), MILLIS).issueParticipantCertificate(
                enroll.toBuilder().setRequestId(freshRequestId())
                    .setEnrollmentToken(token.substring(1) + "A").build()));
  }

  @Check(requirements = "SVC-006", title = "A participant that is not APPROVED cannot act as "
      + "one: FAILED_PRECONDITION")
  void onlyApprovedParticipantsAct() {
    setUp();
    String reseller = newRegistration(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    expectError("a PENDING reseller applies for a qualification",
        Status.Code.FAILED_PRECONDITION, "FAILED_PRECONDITION",
        () -> qualifications(asParticipant(reseller)).applyQualification(apply(reseller)));
    String user = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    approve(user);
    suspend(user);
    expectError("a SUSPENDED user submits a demand", Status.Code.FAILED_PRECONDITION,
        "FAILED_PRECONDITION", () -> demands(asParticipant(user)).submitDemand(demand(user).build()));
  }

  @Check(requirements = "SVC-007", title = "Every change appends an audit event with ascending "
      + "number, action, actor, statuses and request_id")
  void auditTrail() {
    setUp();
    String id = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    String approval = freshRequestId();
    participants(asOperator()).approveParticipant(ApproveParticipantRequest.newBuilder()
        .setRequestId(approval).setParticipantId(id).build());
    suspend(id);
    List<AuditEvent> events = participants(asOperator()).listAuditEvents(
        ListAuditEventsRequest.newBuilder().setParticipantId(id).build()).getEventsList();
    Assertions.equal("actions", List.of(AuditAction.AUDIT_ACTION_REGISTERED,
        AuditAction.AUDIT_ACTION_APPROVED, AuditAction.AUDIT_ACTION_SUSPENDED),
        events.stream().map(AuditEvent::getAction).toList());
    for (int i = 1; i < events.size(); i++) {
      Assertions.check(events.get(i).getEventNumber() > events.get(i - 1).getEventNumber(),
          "event numbers do not increase: " + events);
    }
    AuditEvent approved = events.get(1);
    Assertions.equal("actor", CpinIdentity.operator(target().nodeCode()).uri(),
        approved.getActor());
    Assertions.equal("request_id", approval, approved.getRequestId());
    Assertions.equal("previous_status", ParticipantStatus.PARTICIPANT_STATUS_PENDING,
        approved.getPreviousStatus());
    Assertions.equal("new_status", ParticipantStatus.PARTICIPANT_STATUS_APPROVED,
        approved.getNewStatus());
    Assertions.check(approved.hasOccurredAt(), "audit event without occurred_at");
  }

  @Check(requirements = "SVC-008", title = "An individual's document number is hidden from "
      + "everyone but the operator; a participant cannot read another's record")
  void participantPrivacy() {
    setUp();
    RegisterParticipantRequest person = RegisterParticipantRequest.newBuilder()
        .setRequestId(freshRequestId())
        .setIndividual(Individual.newBuilder().setFullName("Conformance Person")
            .setDocumentType(IdentityDocumentType.IDENTITY_DOCUMENT_TYPE_PASSPORT)
            .setDocumentNumber("CT" + (10_000_000 + RANDOM.nextInt(89_999_999))))
        .setDisplayName("Conformance Person").addKinds(ParticipationKind.PARTICIPATION_KIND_USER)
        .addContacts(Contact.newBuilder().setName("Conformance Person")).build();
    Participant registered = participants(asOperator()).registerParticipant(person)
        .getParticipant();
    String id = registered.getParticipantId();
    Assertions.equal("document_number for the operator",
        person.getIndividual().getDocumentNumber(),
        registered.getIndividual().getDocumentNumber());
    approve(id);
    Participant self = participants(asParticipant(id)).getParticipant(GetParticipantRequest.newBuilder()
        .setParticipantId(id).build()).getParticipant();
    Assertions.equal("document_number for the participant itself", "",
        self.getIndividual().getDocumentNumber());
    String other = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    expectError("a participant reads another's record", Status.Code.PERMISSION_DENIED,
        "NOT_OWNER", () -> participants(asParticipant(id)).getParticipant(GetParticipantRequest
            .newBuilder().setParticipantId(other).build()));
  }

  // ---------------------------------------------------------------- qualification

  @Check(requirements = {"SVC-009", "SVC-011"}, title = "Qualifications follow the standard's "
      + "transitions; one open application per type; any caller may read one")
  void qualificationTransitions() {
    setUp();
    String reseller = newRegistration(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    approve(reseller);
    Qualification pending = qualifications(asParticipant(reseller)).applyQualification(apply(reseller))
        .getQualification();
    Assertions.equal("status after applying", QualificationStatus.QUALIFICATION_STATUS_PENDING,
        pending.getStatus());
    expectError("a second application", Status.Code.ALREADY_EXISTS, "ALREADY_EXISTS",
        () -> qualifications(asParticipant(reseller)).applyQualification(apply(reseller)));
    expectError("suspend a PENDING qualification", Status.Code.FAILED_PRECONDITION,
        "FAILED_PRECONDITION", () -> qualifications(asOperator()).suspendQualification(
            cn.cpin.servicecenter.v1.SuspendQualificationRequest.newBuilder()
                .setRequestId(freshRequestId()).setParticipantId(reseller)
                .setType(QualificationType.QUALIFICATION_TYPE_RESALE).setReason("x").build()));
    Qualification granted = grant(reseller, null);
    Assertions.equal("status after granting", QualificationStatus.QUALIFICATION_STATUS_GRANTED,
        granted.getStatus());
    Assertions.check(granted.hasGrantedAt(), "granted_at not set");
    Qualification read = qualifications(as(otherNodeIdentity())).getQualification(
        GetQualificationRequest.newBuilder().setParticipantId(reseller)
            .setType(QualificationType.QUALIFICATION_TYPE_RESALE).build()).getQualification();
    Assertions.equal("status read by another node", QualificationStatus
        .QUALIFICATION_STATUS_GRANTED, read.getStatus());
    String user = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    approve(user);
    expectError("a participant without RESALE_SCHEDULING applies",
        Status.Code.PERMISSION_DENIED, null,
        () -> qualifications(asParticipant(user)).applyQualification(apply(user)));
  }

  @Check(requirements = "SVC-010", title = "A granted qualification reads EXPIRED once its "
      + "valid_until has passed, without any request touching it")
  void qualificationExpires() throws InterruptedException {
    setUp();
    String reseller = newRegistration(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    approve(reseller);
    qualifications(asParticipant(reseller)).applyQualification(apply(reseller));
    long until = System.currentTimeMillis() + 2_000;
    grant(reseller, until);
    Thread.sleep(Math.max(0, until - System.currentTimeMillis()) + 500);
    Qualification read = qualifications(asOperator()).getQualification(GetQualificationRequest
        .newBuilder().setParticipantId(reseller)
        .setType(QualificationType.QUALIFICATION_TYPE_RESALE).build()).getQualification();
    Assertions.equal("status after valid_until", QualificationStatus.QUALIFICATION_STATUS_EXPIRED,
        read.getStatus());
  }

  // ---------------------------------------------------------------- demands (flow 3)

  @Check(requirements = {"SVC-012", "SEL-002"}, title = "SubmitDemand rejects contradictory or "
      + "impossible constraints naming every field")
  void demandValidation() {
    setUp();
    String user = approvedUser();
    SubmitDemandRequest bad = demand(user)
        .setConstraints(DemandConstraints.newBuilder()
            .addAllowedProvinceCodes("99")
            .setMinInt8Peak(cn.cpin.common.v1.Throughput.newBuilder().setValue(10)
                .setUnit(cn.cpin.common.v1.ThroughputUnit.THROUGHPUT_UNIT_TFLOPS))
            .setMaxLatency(Durations.fromMillis(-5)))
        .setPreferences(SelectionPreferences.newBuilder().setPriceWeight(-1))
        .setExpiresAt(Timestamps.fromMillis(System.currentTimeMillis() - 60_000)).build();
    StatusRuntimeException e = expectError("demand with five faults",
        Status.Code.INVALID_ARGUMENT, null, () -> demands(asParticipant(user)).submitDemand(bad));
    Set<String> fields = violations(e).stream().map(BadRequest.FieldViolation::getField)
        .collect(Collectors.toSet());
    for (String field : List.of("constraints.allowed_province_codes[0]",
        "constraints.min_int8_peak.unit", "constraints.max_latency", "preferences.price_weight",
        "expires_at")) {
      Assertions.check(fields.contains(field), "no FieldViolation for " + field + " in "
          + fields);
    }
  }

  @Check(requirements = {"SVC-012", "SVC-013", "SVC-015"}, title = "A demand gets a D "
      + "identifier and SUBMITTED (or MATCHED with candidates); cancelling is final and "
      + "repeatable")
  void demandLifecycle() {
    setUp();
    String user = approvedUser();
    Demand submitted = demands(asParticipant(user)).submitDemand(demand(user).build()).getDemand();
    Identifier id = Identifier.parse(submitted.getDemandId());
    Assertions.equal("demand_id kind", IdentifierKind.DEMAND, id.kind());
    Assertions.check(submitted.getStatus() == DemandStatus.DEMAND_STATUS_SUBMITTED
        || submitted.getStatus() == DemandStatus.DEMAND_STATUS_MATCHED
        && submitted.getCandidatesCount() > 0, "status " + submitted.getStatus() + " with "
        + submitted.getCandidatesCount() + " candidates");
    Assertions.check(submitted.getCandidatesCount() <= 10, "more than 10 candidates");
    Assertions.check(Timestamps.toMillis(submitted.getExpiresAt()) > System.currentTimeMillis(),
        "expires_at is not in the future");
    CancelDemandRequest cancel = CancelDemandRequest.newBuilder().setRequestId(freshRequestId())
        .setDemandId(submitted.getDemandId()).setReason("conformance").build();
    Demand cancelled = demands(asParticipant(user)).cancelDemand(cancel).getDemand();
    Assertions.equal("status", DemandStatus.DEMAND_STATUS_CANCELLED, cancelled.getStatus());
    Assertions.equal("cancel_reason", "conformance", cancelled.getCancelReason());
    Demand again = demands(asParticipant(user)).cancelDemand(cancel.toBuilder().setRequestId(freshRequestId())
        .build()).getDemand();
    Assertions.equal("a cancelled demand cancelled again", cancelled, again);
  }

  @Check(requirements = "SVC-016", title = "A user sees only its own demands")
  void demandsArePrivate() {
    setUp();
    String user = approvedUser();
    String other = approvedUser();
    Demand mine = demands(asParticipant(user)).submitDemand(demand(user).build()).getDemand();
    expectError("another user reads the demand", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> demands(asParticipant(other)).getDemand(GetDemandRequest.newBuilder()
            .setDemandId(mine.getDemandId()).build()));
    expectError("another user lists the demands", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> demands(asParticipant(other)).listDemands(ListDemandsRequest.newBuilder()
            .setUserId(user).build()));
    expectError("a user submits for another", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> demands(asParticipant(other)).submitDemand(demand(user).build()));
    Assertions.check(demands(asParticipant(other)).listDemands(ListDemandsRequest.getDefaultInstance())
        .getDemandsList().stream().noneMatch(d -> d.getUserId().equals(user)),
        "a user's own listing shows another user's demand");
  }

  // ---------------------------------------------------------------- helpers

  private void setUp() {
    requireService(ParticipantServiceGrpc.SERVICE_NAME);
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the check needs "
          + "operator and participant identities");
    }
  }

  private CpinIdentity otherNodeIdentity() {
    return CpinIdentity.node(Callers.otherNode(target().nodeCode()));
  }

  private ManagedChannel as(CpinIdentity identity) {
    return target().channelAs(identity);
  }

  private String approvedUser() {
    String user = newRegistration(ParticipationKind.PARTICIPATION_KIND_USER);
    approve(user);
    return user;
  }

  private ApproveParticipantResponse approve(String id) {
    return participants(asOperator()).approveParticipant(ApproveParticipantRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id).setReason("conformance").build());
  }

  private Participant suspend(String id) {
    return participants(asOperator()).suspendParticipant(SuspendParticipantRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id).setReason("conformance suspension")
        .build()).getParticipant();
  }

  private Participant reinstate(String id) {
    return participants(asOperator()).reinstateParticipant(ReinstateParticipantRequest
        .newBuilder().setRequestId(freshRequestId()).setParticipantId(id).setReason("conformance")
        .build()).getParticipant();
  }

  private Qualification grant(String id, Long validUntilMillis) {
    GrantQualificationRequest.Builder grant = GrantQualificationRequest.newBuilder()
        .setRequestId(freshRequestId()).setParticipantId(id)
        .setType(QualificationType.QUALIFICATION_TYPE_RESALE).setReason("conformance");
    if (validUntilMillis != null) {
      grant.setValidUntil(Timestamps.fromMillis(validUntilMillis));
    }
    return qualifications(asOperator()).grantQualification(grant.build()).getQualification();
  }

  private static ApplyQualificationRequest apply(String id) {
    return ApplyQualificationRequest.newBuilder().setRequestId(freshRequestId()).setParticipantId(id)
        .setType(QualificationType.QUALIFICATION_TYPE_RESALE)
        .setEvidenceReference("conformance evidence").build();
  }

  private static SubmitDemandRequest.Builder demand(String user) {
    return SubmitDemandRequest.newBuilder().setRequestId(freshRequestId()).setUserId(user)
        .setTitle("conformance demand")
        .setConstraints(DemandConstraints.newBuilder().setMinAcceleratorCount(1));
  }

  private ParticipantServiceGrpc.ParticipantServiceBlockingStub participants(
      ManagedChannel channel) {
    return ParticipantServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  private QualificationServiceGrpc.QualificationServiceBlockingStub qualifications(
      ManagedChannel channel) {
    return QualificationServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  private DemandServiceGrpc.DemandServiceBlockingStub demands(ManagedChannel channel) {
    return DemandServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMillis(), MILLIS);
  }
}
