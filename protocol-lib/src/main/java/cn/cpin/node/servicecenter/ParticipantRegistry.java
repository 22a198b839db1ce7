package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.RequestLedger;
import cn.cpin.node.trust.ParticipantCertificateIssuer;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.servicecenter.v1.AuditAction;
import cn.cpin.servicecenter.v1.AuditEvent;
import cn.cpin.servicecenter.v1.Individual;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Registration, approval and suspension of the participants of one node (flow 1, SVC-002 to
 * SVC-008), the one-time tokens for their first certificates, and the records an industry node's
 * participants leave at their regional node (SVC-017). Knows nothing of gRPC. Thread-safe: every
 * change is one conditional store write, retried if another change won the race.
 */
public final class ParticipantRegistry implements ParticipantCertificateIssuer.Registrations {
  static final Duration TOKEN_VALIDITY = Duration.ofHours(72);
  static final int MAX_TEXT = 256;

  private static final String PARTICIPANTS = "svc/participant/";
  private static final String SUBJECTS = "svc/subject/";
  private static final String TOKENS = "svc/token/";
  private static final String TOKEN_SECRET = "svc/token-secret";
  /** Participant changes waiting to be reported to the regional node (industry nodes only). */
  public static final String REPORTS = "svc/report-outbox/";
  /** Participant certificates waiting to be revoked at the national node (SEC-013). */
  public static final String REVOCATIONS = "svc/revoke-outbox/";
  private static final String CERTIFICATES = "svc/certificate/";

  private final NodeCode self;
  private final KeyValueStore store;
  private final Clock clock;
  private final IdentifierIssuer issuer;
  private final AuditTrail audit;
  private final RequestLedger ledger;
  private final Runnable onChange;
  private final List<SecurityEvents> securityListeners = new CopyOnWriteArrayList<>();

  /** Told of the registry's security-relevant changes, once each is committed (MON-010). */
  public interface SecurityEvents {
    /** {@code type} is the MON-010 event type, e.g. {@code security.participant_suspended}. */
    void happened(String type, Map<String, String> attributes);
  }

  /**
   * @param onChange runs after every committed change (e.g. to wake the outboxes)
   */
  public ParticipantRegistry(NodeCode self, KeyValueStore store, Clock clock,
      IdentifierIssuer issuer, Runnable onChange) {
    this.self = self;
    this.store = store;
    this.clock = clock;
    this.issuer = issuer;
    this.audit = new AuditTrail(store);
    this.ledger = new RequestLedger(store, "svc/request/");
    this.onChange = onChange;
  }

  /** Adds a listener of suspensions and issued certificates. */
  public void onSecurityEvent(SecurityEvents listener) {
    securityListeners.add(listener);
  }

  private void securityEvent(String type, Map<String, String> attributes) {
    for (SecurityEvents listener : securityListeners) {
      listener.happened(type, attributes);
    }
  }

  AuditTrail audit() {
    return audit;
  }

  RequestLedger ledger() {
    return ledger;
  }

  /** Registers a participant in status PENDING with a new identifier (SVC-002, SVC-003). */
  public Participant register(CpinIdentity caller, RegisterParticipantRequest request) {
    checkRegistration(request);
    RequestLedger.Entry entry = ledger.entry(caller, "RegisterParticipant",
        request.getRequestId(), request);
    Optional<byte[]> earlier = entry.replay();
    if (earlier.isPresent()) {
      return parse(earlier.get());
    }
    String subjectKey = subjectKey(request);
    refuseDuplicate(subjectKey);
    // Derived from the request, so that a retry after a failure gets the same identifier.
    String issueRequestId = "svc-p-" + Sha256.hex(caller.uri() + "\n" + request.getRequestId())
        .substring(0, 40);
    Identifier id = issuer.issue(issueRequestId, IdentifierKind.PARTICIPANT, "",
        Map.of("display_name", request.getDisplayName()));
    Timestamp now = now();
    Participant.Builder participant = Participant.newBuilder()
        .setParticipantId(id.toString())
        .setNodeCode(self.toString())
        .setDisplayName(request.getDisplayName())
        .addAllKinds(request.getKindsList())
        .addAllContacts(request.getContactsList())
        .setTelecomLicenceNumber(request.getTelecomLicenceNumber())
        .setStatus(ParticipantStatus.PARTICIPANT_STATUS_PENDING)
        .setRegisteredAt(now)
        .setUpdatedAt(now)
        .setVersion(1);
    if (request.hasOrganization()) {
      participant.setOrganization(request.getOrganization());
    } else {
      participant.setIndividual(request.getIndividual());
    }
    Participant created = participant.build();
    Map<String, byte[]> puts = new HashMap<>();
    puts.put(PARTICIPANTS + id, created.toByteArray());
    puts.put(subjectKey, id.toString().getBytes(StandardCharsets.UTF_8));
    putAudit(puts, AuditEvent.newBuilder().setParticipantId(id.toString())
        .setAction(AuditAction.AUDIT_ACTION_REGISTERED).setActor(caller.uri())
        .setOccurredAt(now).setNewStatus(created.getStatus())
        .setRequestId(request.getRequestId()));
    putReport(puts, created);
    Map<String, Optional<byte[]>> expected = entry.absent(Map.of(subjectKey, Optional.empty()));
    if (!store.write(entry.record(created.toByteArray(), puts), List.of(), expected)) {
      Optional<byte[]> raced = entry.replay();
      if (raced.isPresent()) {
        return parse(raced.get());
      }
      refuseDuplicate(subjectKey);
      throw new IllegalStateException("registration lost a race it should have won");
    }
    onChange.run();
    return created;
  }

  /** A participant registered here (or reported by one of this node's industry nodes). */
  public Optional<Participant> find(Identifier id) {
    return store.get(PARTICIPANTS + id).map(ParticipantRegistry::parse);
  }

  /** {@link #find} or NOT_FOUND. */
  public Participant require(Identifier id) {
    return find(id).orElseThrow(() -> notRegistered(id));
  }

  /** A participant registered at this node itself (not one reported by an industry node). */
  public Participant requireLocal(Identifier id) {
    if (!id.nodeCode().equals(self)) {
      throw notRegistered(id);
    }
    return require(id);
  }

  private CpinException notRegistered(Identifier id) {
    return CpinException.notFound("participant " + id + " is not registered at node " + self,
        Map.of("participant_id", id.toString()));
  }

  /**
   * SVC-006: a participant acting as such must be APPROVED, even if its certificate has not yet
   * been revoked everywhere.
   */
  public Participant requireApproved(Identifier id) {
    Participant participant = requireLocal(id);
    if (participant.getStatus() != ParticipantStatus.PARTICIPANT_STATUS_APPROVED) {
      throw CpinException.failedPrecondition("participant " + id + " is "
          + participant.getStatus() + ", not APPROVED");
    }
    return participant;
  }

  @Override
  public void checkApproved(Identifier participant) {
    requireApproved(participant);
  }

  /** Participants in identifier order after {@code pageToken} that pass {@code filter}. */
  public List<Participant> list(Predicate<Participant> filter, String pageToken, int max) {
    List<Participant> page = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : store.scan(PARTICIPANTS).entrySet()) {
      if (page.size() >= max) {
        break;
      }
      if (!pageToken.isEmpty()
          && e.getKey().substring(PARTICIPANTS.length()).compareTo(pageToken) <= 0) {
        continue;
      }
      Participant participant = parse(e.getValue());
      if (filter.test(participant)) {
        page.add(participant);
      }
    }
    return page;
  }

  /** The outcome of a status change: the record and, on approval, the enrollment token. */
  public record Change(Participant participant, String token, Instant tokenExpiresAt) {}

  /** One of the transitions of SVC-004. */
  public enum Transition {
    APPROVE(ParticipantStatus.PARTICIPANT_STATUS_PENDING,
        ParticipantStatus.PARTICIPANT_STATUS_APPROVED, AuditAction.AUDIT_ACTION_APPROVED),
    REJECT(ParticipantStatus.PARTICIPANT_STATUS_PENDING,
        ParticipantStatus.PARTICIPANT_STATUS_REJECTED, AuditAction.AUDIT_ACTION_REJECTED),
    SUSPEND(ParticipantStatus.PARTICIPANT_STATUS_APPROVED,
        ParticipantStatus.PARTICIPANT_STATUS_SUSPENDED, AuditAction.AUDIT_ACTION_SUSPENDED),
    REINSTATE(ParticipantStatus.PARTICIPANT_STATUS_SUSPENDED,
        ParticipantStatus.PARTICIPANT_STATUS_APPROVED, AuditAction.AUDIT_ACTION_REINSTATED);

    final ParticipantStatus from;
    final ParticipantStatus to;
    final AuditAction action;

    Transition(ParticipantStatus from, ParticipantStatus to, AuditAction action) {
      this.from = from;
      this.to = to;
      this.action = action;
    }

    boolean issuesToken() {
      return to == ParticipantStatus.PARTICIPANT_STATUS_APPROVED;
    }
  }

  /** Applies {@code transition} to {@code id} for {@code request} (SVC-004, SVC-005). */
  public Change change(CpinIdentity caller, Transition transition, Identifier id, String reason,
      String requestId, Message request) {
    RequestLedger.Entry entry = ledger.entry(caller, transition.name(), requestId, request);
    while (true) {
      Optional<byte[]> earlier = entry.replay();
      if (earlier.isPresent()) {
        return replayed(parse(earlier.get()), transition, id, entry);
      }
      if (!id.nodeCode().equals(self)) {
        throw notRegistered(id); // industry nodes' participants are theirs to change
      }
      byte[] current = store.get(PARTICIPANTS + id).orElseThrow(() -> notRegistered(id));
      Participant before = parse(current);
      if (before.getStatus() != transition.from) {
        throw CpinException.failedPrecondition("participant " + id + " is " + before.getStatus()
            + "; " + transition.name().toLowerCase() + " needs " + transition.from);
      }
      Timestamp now = now();
      Participant after = before.toBuilder().setStatus(transition.to).setStatusReason(reason)
          .setUpdatedAt(now).setVersion(before.getVersion() + 1).build();
      Map<String, byte[]> puts = new HashMap<>();
      List<String> deletes = new ArrayList<>();
      puts.put(PARTICIPANTS + id, after.toByteArray());
      putAudit(puts, AuditEvent.newBuilder().setParticipantId(id.toString())
          .setAction(transition.action).setActor(caller.uri()).setOccurredAt(now)
          .setReason(reason).setPreviousStatus(before.getStatus()).setNewStatus(after.getStatus())
          .setRequestId(requestId));
      putReport(puts, after);
      String token = null;
      Instant expires = null;
      if (transition.issuesToken()) {
        token = token(id, entry);
        expires = clock.instant().plus(TOKEN_VALIDITY);
        puts.put(TOKENS + Sha256.hex(token), (id + "\n" + expires.toEpochMilli() + "\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      if (transition == Transition.REJECT) {
        deletes.add(subjectKey(before)); // SVC-003: a rejected subject may register again
      }
      if (transition == Transition.SUSPEND) {
        // SEC-013: its certificates go into the revocation feed, delivered by an outbox.
        store.scan(CERTIFICATES + id + "/").forEach((key, der) ->
            puts.put(REVOCATIONS + key.substring(CERTIFICATES.length()), der));
      }
      Map<String, Optional<byte[]>> expected = entry.absent(
          Map.of(PARTICIPANTS + id, Optional.of(current)));
      if (store.write(entry.record(after.toByteArray(), puts), deletes, expected)) {
        onChange.run();
        if (transition == Transition.SUSPEND) {
          securityEvent("security.participant_suspended", Map.of("participant_id",
              id.toString(), "reason", reason));
        }
        return new Change(after, token, expires);
      }
    }
  }

  // A retry returns the first answer, with the same token while it is unused (SVC-005).
  private Change replayed(Participant first, Transition transition, Identifier id,
      RequestLedger.Entry entry) {
    if (!transition.issuesToken()) {
      return new Change(first, null, null);
    }
    String token = token(id, entry);
    return store.get(TOKENS + Sha256.hex(token))
        .map(value -> new Change(first, token, Instant.ofEpochMilli(Long.parseLong(
            new String(value, StandardCharsets.UTF_8).split("\n")[1]))))
        .orElse(new Change(first, null, null));
  }

  /**
   * Checks a first-certificate request against its one-time token (SEC, SVC-005); returns the
   * DER chain already issued for the same request, if this is a retry.
   */
  @Override
  public Optional<byte[]> admitToken(Identifier participant, String token, String requestId) {
    String key = TOKENS + Sha256.hex(token);
    String[] fields = store.get(key).map(v -> new String(v, StandardCharsets.UTF_8).split("\n", -1))
        .orElseThrow(() -> unauthenticated("enrollment token unknown or used"));
    if (!fields[0].equals(participant.toString())) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "the enrollment token belongs to another participant");
    }
    if (fields.length > 3 && !fields[2].isEmpty()) {
      if (fields[2].equals(requestId)) {
        return store.get(CERTIFICATES + participant + "/" + fields[3]);
      }
      throw CpinException.alreadyExists("the enrollment token was used by another request",
          Map.of("participant_id", participant.toString()));
    }
    if (clock.millis() > Long.parseLong(fields[1])) {
      throw unauthenticated("enrollment token expired");
    }
    requireApproved(participant);
    return Optional.empty();
  }

  /**
   * Records a certificate issued to {@code participant} (for revocation on suspension and for
   * audit, SVC-007); a token it was issued against is used up.
   */
  @Override
  public void certificateIssued(CpinIdentity caller, Identifier participant, String token,
      String requestId, String serialHex, byte[] leafDer) {
    Map<String, byte[]> puts = new HashMap<>();
    Map<String, Optional<byte[]>> expected = new HashMap<>();
    puts.put(CERTIFICATES + participant + "/" + serialHex, leafDer);
    if (!token.isEmpty()) {
      String key = TOKENS + Sha256.hex(token);
      byte[] before = store.get(key).orElseThrow(() -> unauthenticated("enrollment token used"));
      String[] fields = new String(before, StandardCharsets.UTF_8).split("\n", -1);
      puts.put(key, (fields[0] + "\n" + fields[1] + "\n" + requestId + "\n" + serialHex)
          .getBytes(StandardCharsets.UTF_8));
      expected.put(key, Optional.of(before));
    }
    putAudit(puts, AuditEvent.newBuilder().setParticipantId(participant.toString())
        .setAction(AuditAction.AUDIT_ACTION_CERTIFICATE_ISSUED)
        .setActor(caller == null ? "enrollment-token" : caller.uri()).setOccurredAt(now())
        .setReason("certificate serial " + serialHex).setRequestId(requestId));
    if (!store.write(puts, List.of(), expected)) {
      throw CpinException.alreadyExists("the enrollment token was used by another request",
          Map.of("participant_id", participant.toString()));
    }
    securityEvent("security.certificate_issued", Map.of("participant_id",
        participant.toString(), "serial", serialHex));
  }

  /**
   * Keeps the record an industry node reports of one of its participants (SVC-017) unless a
   * newer version is held; returns the version held.
   */
  public long acceptReport(CpinIdentity reporter, Participant reported) {
    Identifier id = Identifier.parse(reported.getParticipantId());
    if (!id.nodeCode().equals(reporter.nodeCode())
        || !reported.getNodeCode().equals(reporter.nodeCode().toString())) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, reporter.uri()
          + " may report only participants registered under its own code");
    }
    while (true) {
      Optional<byte[]> current = store.get(PARTICIPANTS + id);
      long held = current.map(v -> parse(v).getVersion()).orElse(0L);
      if (held >= reported.getVersion()) {
        return held;
      }
      Participant kept = withoutDocumentNumber(reported);
      if (store.write(Map.of(PARTICIPANTS + id, kept.toByteArray()), List.of(),
          Map.of(PARTICIPANTS + id, current))) {
        return kept.getVersion();
      }
    }
  }

  /** SVC-008: an individual's document number only for the node's operator. */
  public Participant visibleTo(CpinIdentity caller, Participant participant) {
    boolean operator = caller.kind() == CpinIdentity.Kind.OPERATOR
        && caller.nodeCode().equals(self);
    return operator ? participant : withoutDocumentNumber(participant);
  }

  private static Participant withoutDocumentNumber(Participant participant) {
    return !participant.hasIndividual() ? participant : participant.toBuilder()
        .setIndividual(participant.getIndividual().toBuilder().clearDocumentNumber()).build();
  }

  void putAudit(Map<String, byte[]> puts, AuditEvent.Builder event) {
    Map.Entry<String, byte[]> recorded = audit.record(event);
    puts.put(recorded.getKey(), recorded.getValue());
  }

  // An industry node keeps its regional node's copy current (SVC-017).
  private void putReport(Map<String, byte[]> puts, Participant participant) {
    if (self.isIndustry()) {
      puts.put(REPORTS + participant.getParticipantId(),
          withoutDocumentNumber(participant).toByteArray());
    }
  }

  private void refuseDuplicate(String subjectKey) {
    store.get(subjectKey).ifPresent(existing -> {
      throw CpinException.alreadyExists("already registered at node " + self + " as "
          + new String(existing, StandardCharsets.UTF_8), Map.of("participant_id",
          new String(existing, StandardCharsets.UTF_8)));
    });
  }

  private static String subjectKey(RegisterParticipantRequest request) {
    return request.hasOrganization() ? organizationKey(request.getOrganization())
        : individualKey(request.getIndividual());
  }

  private static String subjectKey(Participant participant) {
    return participant.hasOrganization() ? organizationKey(participant.getOrganization())
        : individualKey(participant.getIndividual());
  }

  private static String organizationKey(Organization organization) {
    return SUBJECTS + "org/" + organization.getCreditCode();
  }

  // Hashed: the document number is personal data the key would otherwise expose in listings.
  private static String individualKey(Individual individual) {
    return SUBJECTS + "person/" + Sha256.hex(individual.getDocumentTypeValue() + "\n"
        + individual.getDocumentNumber());
  }

  /**
   * The token of an approval: derived from a node secret and the approving request, so a retry
   * returns the same token while only its hash is stored (SVC-005).
   */
  private String token(Identifier id, RequestLedger.Entry entry) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret(), "HmacSHA256"));
      byte[] tag = mac.doFinal((id + "\n" + entry.key()).getBytes(StandardCharsets.UTF_8));
      return Base64.getUrlEncoder().withoutPadding().encodeToString(tag);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private byte[] secret() {
    Optional<byte[]> secret = store.get(TOKEN_SECRET);
    if (secret.isPresent()) {
      return secret.get();
    }
    byte[] fresh = new byte[32];
    new SecureRandom().nextBytes(fresh);
    store.write(Map.of(TOKEN_SECRET, fresh), List.of(), Map.of(TOKEN_SECRET, Optional.empty()));
    return store.get(TOKEN_SECRET).orElseThrow();
  }

  private Timestamp now() {
    return Timestamps.fromMillis(clock.millis());
  }

  private static CpinException unauthenticated(String message) {
    return new CpinException(CpinException.Kind.UNAUTHENTICATED,
        ErrorReason.ERROR_REASON_UNAUTHENTICATED, message, Map.of());
  }

  static Participant parse(byte[] bytes) {
    try {
      return Participant.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt participant record", e);
    }
  }

  // SVC-002: every content rule at once, beyond the field rules checked at the edge.
  private static void checkRegistration(RegisterParticipantRequest request) {
    List<FieldViolation> violations = new ArrayList<>();
    if (request.hasOrganization()) {
      Organization org = request.getOrganization();
      checkProvince(violations, "organization.province_code", org.getProvinceCode());
      if (!org.getIndustrySection().isEmpty() && (org.getIndustrySection().length() != 1
          || !NodeCode.isKnownSection(org.getIndustrySection().charAt(0)))) {
        violations.add(invalid("organization.industry_section",
            "must be a GB/T 4754-2017 section letter A to T"));
      }
      checkText(violations, "organization.legal_name", org.getLegalName());
      checkText(violations, "organization.legal_representative", org.getLegalRepresentative());
      checkText(violations, "organization.registered_address", org.getRegisteredAddress());
    } else if (request.hasIndividual()) {
      Individual person = request.getIndividual();
      requireText(violations, "individual.full_name", person.getFullName());
      if (person.getDocumentTypeValue() == 0 || person.getDocumentType()
          == cn.cpin.servicecenter.v1.IdentityDocumentType.UNRECOGNIZED) {
        violations.add(required("individual.document_type"));
      }
      requireText(violations, "individual.document_number", person.getDocumentNumber());
      checkProvince(violations, "individual.province_code", person.getProvinceCode());
    } else {
      violations.add(new FieldViolation("organization", "organization or individual is required",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    }
    requireText(violations, "display_name", request.getDisplayName());
    if (request.getKindsCount() == 0) {
      violations.add(required("kinds"));
    }
    for (int i = 0; i < request.getKindsCount(); i++) {
      ParticipationKind kind = request.getKinds(i);
      if (kind == ParticipationKind.PARTICIPATION_KIND_UNSPECIFIED
          || kind == ParticipationKind.UNRECOGNIZED) {
        violations.add(invalid("kinds[" + i + "]", "must be a PARTICIPATION_KIND_* value"));
      }
    }
    if (request.getContactsCount() == 0) {
      violations.add(required("contacts"));
    }
    for (int i = 0; i < request.getContactsCount(); i++) {
      var contact = request.getContacts(i);
      requireText(violations, "contacts[" + i + "].name", contact.getName());
      checkText(violations, "contacts[" + i + "].role", contact.getRole());
      checkText(violations, "contacts[" + i + "].email", contact.getEmail());
      checkText(violations, "contacts[" + i + "].phone", contact.getPhone());
    }
    boolean needsLicence = request.getKindsList().contains(
        ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING)
        || request.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    if (needsLicence && request.getTelecomLicenceNumber().isEmpty()) {
      violations.add(new FieldViolation("telecom_licence_number", "is required for resale & "
          + "scheduling and dedicated line providers (运营主体应持有相关电信业务经营许可)",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    }
    checkText(violations, "telecom_licence_number", request.getTelecomLicenceNumber());
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
  }

  private static void checkProvince(List<FieldViolation> violations, String field, String code) {
    if (!code.isEmpty() && !NodeCode.isKnownProvince(code)) {
      violations.add(invalid(field, "must be a GB/T 2260 province code"));
    }
  }

  private static void requireText(List<FieldViolation> violations, String field, String value) {
    if (value.isBlank()) {
      violations.add(required(field));
    } else {
      checkText(violations, field, value);
    }
  }

  private static void checkText(List<FieldViolation> violations, String field, String value) {
    if (value.length() > MAX_TEXT) {
      violations.add(new FieldViolation(field, "must have at most " + MAX_TEXT + " characters",
          ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
    }
  }

  private static FieldViolation required(String field) {
    return new FieldViolation(field, "is required", ErrorReason.ERROR_REASON_FIELD_REQUIRED);
  }

  static FieldViolation invalid(String field, String description) {
    return new FieldViolation(field, description, ErrorReason.ERROR_REASON_INVALID_FIELDS);
  }
}
