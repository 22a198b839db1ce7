package cn.cpin.node.servicecenter;

import cn.cpin.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.CallerRole;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.CancelDemandRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.QualificationStatus;
import cn.cpin.servicecenter.v1.QualificationType;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import com.google.protobuf.util.Timestamps;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service center's domain rules on a real embedded store, with a clock the test moves and an
 * identifier issuer that can be made to fail: what the running nodes cannot easily show
 * (expiry, matching, ordering, failures half-way).
 */
class ServiceCenterTest {
  private static final NodeCode NODE = NodeCode.industry("44", 'C');
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(NODE);

  @TempDir
  Path dir;

  private KeyValueStore store;
  private final MutableClock clock = new MutableClock(Instant.parse("2026-11-26T08:00:00Z"));
  private final AtomicLong serials = new AtomicLong();
  private final Map<String, Identifier> issued = new ConcurrentHashMap<>();
  private final AtomicBoolean issuerDown = new AtomicBoolean();
  private final List<Candidate> candidates = new ArrayList<>();
  private ServiceCenter center;

  @BeforeEach
  void open() {
    store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
    IdentifierIssuer issuer = (requestId, kind, owner, attributes) -> {
      if (issuerDown.get()) {
        throw new CpinException(CpinException.Kind.UNAVAILABLE,
            ErrorReason.ERROR_REASON_UPSTREAM_UNAVAILABLE, "regional node down", Map.of());
      }
      return issued.computeIfAbsent(requestId, r -> Identifier.of(NODE, kind,
          serials.incrementAndGet()));
    };
    cn.cpin.node.NodeContext context = new cn.cpin.node.NodeContext(NODE, dir, null, store,
        null, clock, null);
    center = new ServiceCenter(context, issuer, (demand, max) -> List.copyOf(candidates),
        () -> { });
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void failedIssuanceLeavesNothingAndTheRetrySucceeds() {
    RegisterParticipantRequest request = organization("r-1", "91440300MA5FXT4K37",
        ParticipationKind.PARTICIPATION_KIND_USER);
    issuerDown.set(true);
    assertThatThrownBy(() -> center.participants().register(OPERATOR, request))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.UNAVAILABLE));
    assertThat(center.participants().list(p -> true, "", 10)).isEmpty();

    issuerDown.set(false);
    Participant created = center.participants().register(OPERATOR, request);
    assertThat(center.participants().register(OPERATOR, request)).isEqualTo(created);
    assertThat(center.participants().list(p -> true, "", 10)).containsExactly(created);
  }

  @Test
  void reusedRequestIdWithAnotherRequestIsRefused() {
    center.participants().register(OPERATOR, organization("r-2", "91440300MA5FXT4K37",
        ParticipationKind.PARTICIPATION_KIND_USER));
    assertThatThrownBy(() -> center.participants().register(OPERATOR, organization("r-2",
        "91110108MA01AB2C3T", ParticipationKind.PARTICIPATION_KIND_USER)))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.reason())
            .isEqualTo(ErrorReason.ERROR_REASON_REQUEST_ID_REUSED));
  }

  @Test
  void everyContentViolationIsReportedAtOnce() {
    RegisterParticipantRequest bad = RegisterParticipantRequest.newBuilder().setRequestId("r-3")
        .addKinds(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE).build();
    assertThatThrownBy(() -> center.participants().register(OPERATOR, bad))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(
            e.violations().stream().map(FieldViolation::field)).containsExactlyInAnyOrder(
            "organization", "display_name", "contacts", "telecom_licence_number"));
  }

  @Test
  void enrollmentTokensExpireAndAreBoundToTheirParticipant() {
    Identifier first = approved("r-4", "91440300MA5FXT4K37", ParticipationKind.PARTICIPATION_KIND_USER);
    ParticipantRegistry.Change change = center.participants().change(OPERATOR,
        ParticipantRegistry.Transition.SUSPEND, first, "test", "r-4-s", request("r-4-s"));
    assertThat(change.participant().getStatus())
        .isEqualTo(ParticipantStatus.PARTICIPANT_STATUS_SUSPENDED);
    ParticipantRegistry.Change reinstated = center.participants().change(OPERATOR,
        ParticipantRegistry.Transition.REINSTATE, first, "test", "r-4-r", request("r-4-r"));
    String token = reinstated.token();
    Identifier other = approved("r-5", "91110108MA01AB2C3T",
        ParticipationKind.PARTICIPATION_KIND_USER);

    assertThatThrownBy(() -> center.participants().admitToken(other, token, "enroll-1"))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.reason())
            .isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    assertThat(center.participants().admitToken(first, token, "enroll-1")).isEmpty();
    clock.advance(ParticipantRegistry.TOKEN_VALIDITY.plusSeconds(1));
    assertThatThrownBy(() -> center.participants().admitToken(first, token, "enroll-1"))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.kind())
            .isEqualTo(CpinException.Kind.UNAUTHENTICATED));
  }

  @Test
  void qualificationExpiresAtValidUntilAndWithItTheUserRole() {
    Identifier reseller = approved("r-6", "91440300MA5FXT4K37",
        ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    assertThat(center.rolesOf(reseller)).containsExactly(CallerRole.CALLER_ROLE_RESELLER);
    assertThatThrownBy(() -> center.qualifications().requireQualifiedReseller(reseller))
        .isInstanceOf(CpinException.class);
    qualify(reseller, QualificationBook.Step.APPLY, Optional.empty(), "q-1");
    qualify(reseller, QualificationBook.Step.GRANT, Optional.of(Timestamps.fromMillis(
        clock.millis() + Duration.ofDays(30).toMillis())), "q-2");
    center.qualifications().requireQualifiedReseller(reseller);
    assertThat(center.rolesOf(reseller)).contains(CallerRole.CALLER_ROLE_USER);

    clock.advance(Duration.ofDays(30));
    assertThat(center.qualifications().get(reseller, QualificationType.QUALIFICATION_TYPE_RESALE)
        .orElseThrow().getStatus()).isEqualTo(QualificationStatus.QUALIFICATION_STATUS_EXPIRED);
    assertThat(center.rolesOf(reseller)).doesNotContain(CallerRole.CALLER_ROLE_USER);
    // An expired qualification may be applied for again.
    assertThat(qualify(reseller, QualificationBook.Step.APPLY, Optional.empty(), "q-3")
        .getStatus()).isEqualTo(QualificationStatus.QUALIFICATION_STATUS_PENDING);
  }

  @Test
  void demandIsMatchedOrderedAndThenFinal() {
    Identifier user = approved("r-7", "91440300MA5FXT4K37",
        ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    for (int i = 0; i < 12; i++) {
      candidates.add(Candidate.newBuilder().setResourceId(Identifier.of(NODE,
          cn.cpin.protocol.identifier.IdentifierKind.RESOURCE, 100 + i).toString()).build());
    }
    Demand matched = center.demands().submit(asUser, SubmitDemandRequest.newBuilder()
        .setRequestId("d-1").setUserId(user.toString())
        .setConstraints(DemandConstraints.newBuilder().setMinAcceleratorCount(8)).build());
    assertThat(matched.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_MATCHED);
    assertThat(matched.getCandidatesList()).hasSize(DemandBook.MAX_CANDIDATES)
        .isEqualTo(candidates.subList(0, DemandBook.MAX_CANDIDATES));
    assertThat(Timestamps.toMillis(matched.getExpiresAt()) - clock.millis())
        .isEqualTo(DemandBook.DEFAULT_LIFETIME.toMillis());

    Identifier order = Identifier.of(NODE, cn.cpin.protocol.identifier.IdentifierKind.ORDER, 9);
    Identifier demandId = Identifier.parse(matched.getDemandId());
    Demand ordered = center.demands().markOrdered(demandId, order);
    assertThat(ordered.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_ORDERED);
    assertThat(ordered.getOrderId()).isEqualTo(order.toString());
    assertThatThrownBy(() -> center.demands().cancel(asUser, CancelDemandRequest.newBuilder()
        .setRequestId("c-1").setDemandId(demandId.toString()).build()))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.kind())
            .isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
  }

  @Test
  void openDemandExpiresWithoutBeingTouched() {
    Identifier user = approved("r-8", "91440300MA5FXT4K37",
        ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Demand submitted = center.demands().submit(asUser, SubmitDemandRequest.newBuilder()
        .setRequestId("d-2").setUserId(user.toString())
        .setConstraints(DemandConstraints.getDefaultInstance())
        .setExpiresAt(Timestamps.fromMillis(clock.millis() + 60_000)).build());
    assertThat(submitted.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_SUBMITTED);
    clock.advance(Duration.ofMinutes(1));
    Identifier id = Identifier.parse(submitted.getDemandId());
    assertThat(center.demands().get(asUser, id).getStatus())
        .isEqualTo(DemandStatus.DEMAND_STATUS_EXPIRED);
    assertThatThrownBy(() -> center.demands().markOrdered(id,
        Identifier.of(NODE, cn.cpin.protocol.identifier.IdentifierKind.ORDER, 1)))
        .isInstanceOf(CpinException.class);
  }

  private Identifier approved(String requestId, String creditCode, ParticipationKind kind) {
    Identifier id = Identifier.parse(center.participants().register(OPERATOR,
        organization(requestId, creditCode, kind)).getParticipantId());
    center.participants().change(OPERATOR, ParticipantRegistry.Transition.APPROVE, id, "",
        requestId + "-a", request(requestId + "-a"));
    return id;
  }

  private cn.cpin.servicecenter.v1.Qualification qualify(Identifier reseller,
      QualificationBook.Step step, Optional<com.google.protobuf.Timestamp> until, String id) {
    return center.qualifications().change(step == QualificationBook.Step.APPLY
            ? CpinIdentity.participant(NODE, reseller) : OPERATOR, step, reseller,
        QualificationType.QUALIFICATION_TYPE_RESALE,
        new QualificationBook.Details("", "evidence", until), id,
        ApproveParticipantRequest.newBuilder().setRequestId(id).build());
  }

  private static ApproveParticipantRequest request(String requestId) {
    return ApproveParticipantRequest.newBuilder().setRequestId(requestId).build();
  }

  private static RegisterParticipantRequest organization(String requestId, String creditCode,
      ParticipationKind kind) {
    return RegisterParticipantRequest.newBuilder().setRequestId(requestId)
        .setOrganization(Organization.newBuilder().setCreditCode(creditCode))
        .setDisplayName("Example " + requestId).addKinds(kind)
        .addContacts(Contact.newBuilder().setName("Li Na"))
        .setTelecomLicenceNumber("B1-20260001").build();
  }
}
