package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.RequestLedger;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.servicecenter.v1.AuditAction;
import cn.cpin.servicecenter.v1.AuditEvent;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.Qualification;
import cn.cpin.servicecenter.v1.QualificationStatus;
import cn.cpin.servicecenter.v1.QualificationType;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The resale and scheduling qualifications (资格获取, SVC-009 to SVC-011): one record per
 * participant and type, changed only along the transitions of SVC-009, expiring at
 * {@code valid_until} without anyone touching it. Thread-safe.
 */
public final class QualificationBook {
  private static final String QUALIFICATIONS = "svc/qualification/";

  private final KeyValueStore store;
  private final Clock clock;
  private final ParticipantRegistry participants;

  public QualificationBook(KeyValueStore store, Clock clock, ParticipantRegistry participants) {
    this.store = store;
    this.clock = clock;
    this.participants = participants;
  }

  /** An operation on a qualification and the states it may start from (SVC-009). */
  public enum Step {
    APPLY(EnumSet.of(QualificationStatus.QUALIFICATION_STATUS_UNSPECIFIED,
        QualificationStatus.QUALIFICATION_STATUS_REVOKED,
        QualificationStatus.QUALIFICATION_STATUS_EXPIRED),
        QualificationStatus.QUALIFICATION_STATUS_PENDING,
        AuditAction.AUDIT_ACTION_QUALIFICATION_APPLIED),
    GRANT(EnumSet.of(QualificationStatus.QUALIFICATION_STATUS_PENDING,
        QualificationStatus.QUALIFICATION_STATUS_SUSPENDED),
        QualificationStatus.QUALIFICATION_STATUS_GRANTED,
        AuditAction.AUDIT_ACTION_QUALIFICATION_GRANTED),
    SUSPEND(EnumSet.of(QualificationStatus.QUALIFICATION_STATUS_GRANTED),
        QualificationStatus.QUALIFICATION_STATUS_SUSPENDED,
        AuditAction.AUDIT_ACTION_QUALIFICATION_SUSPENDED),
    REVOKE(EnumSet.of(QualificationStatus.QUALIFICATION_STATUS_PENDING,
        QualificationStatus.QUALIFICATION_STATUS_GRANTED,
        QualificationStatus.QUALIFICATION_STATUS_SUSPENDED),
        QualificationStatus.QUALIFICATION_STATUS_REVOKED,
        AuditAction.AUDIT_ACTION_QUALIFICATION_REVOKED);

    final Set<QualificationStatus> from;
    final QualificationStatus to;
    final AuditAction action;

    Step(Set<QualificationStatus> from, QualificationStatus to, AuditAction action) {
      this.from = from;
      this.to = to;
      this.action = action;
    }
  }

  /** What a step asks for, besides the participant and type. */
  public record Details(String reason, String evidenceReference, Optional<Timestamp> validUntil) {}

  /** Applies {@code step} to the qualification ({@code participant}, {@code type}). */
  public Qualification change(CpinIdentity caller, Step step, Identifier participant,
      QualificationType type, Details details, String requestId, Message request) {
    checkType(type);
    details.validUntil().ifPresent(until -> {
      if (Timestamps.toMillis(until) <= clock.millis()) {
        throw InvalidArgumentException.of("valid_until", "must be in the future",
            ErrorReason.ERROR_REASON_INVALID_FIELDS);
      }
    });
    if (step == Step.APPLY && caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(participant)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may apply only for itself");
    }
    RequestLedger.Entry entry = participants.ledger().entry(caller, "Qualification" + step,
        requestId, request);
    while (true) {
      Optional<byte[]> earlier = entry.replay();
      if (earlier.isPresent()) {
        return parse(earlier.get());
      }
      var holder = participants.requireLocal(participant);
      String key = key(participant, type);
      Optional<byte[]> stored = store.get(key);
      Optional<Qualification> before = stored.map(QualificationBook::parse).map(this::current);
      QualificationStatus status = before.map(Qualification::getStatus)
          .orElse(QualificationStatus.QUALIFICATION_STATUS_UNSPECIFIED);
      if (step == Step.APPLY) {
        participants.requireApproved(participant);
        if (!holder.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING)) {
          throw CpinException.failedPrecondition("participant " + participant
              + " is not registered as a resale & scheduling provider");
        }
        if (before.isPresent() && EnumSet.of(QualificationStatus.QUALIFICATION_STATUS_PENDING,
            QualificationStatus.QUALIFICATION_STATUS_GRANTED,
            QualificationStatus.QUALIFICATION_STATUS_SUSPENDED).contains(status)) {
          throw CpinException.alreadyExists("a " + status + " " + type + " qualification of "
              + participant + " exists", Map.of("participant_id", participant.toString()));
        }
      } else {
        if (before.isEmpty()) {
          throw CpinException.notFound("participant " + participant + " has no " + type
              + " qualification", Map.of("participant_id", participant.toString()));
        }
        if (!step.from.contains(status)) {
          throw CpinException.failedPrecondition("the " + type + " qualification of "
              + participant + " is " + status + "; " + step.name().toLowerCase() + " needs one of "
              + step.from);
        }
        if (step == Step.GRANT) {
          participants.requireApproved(participant);
        }
      }
      Timestamp now = Timestamps.fromMillis(clock.millis());
      Qualification.Builder after = (step == Step.APPLY ? Qualification.newBuilder()
          .setParticipantId(participant.toString()).setType(type).setAppliedAt(now)
          .setEvidenceReference(details.evidenceReference())
          .setVersion(before.map(q -> q.getVersion() + 1).orElse(1L))
          : before.get().toBuilder().setVersion(before.get().getVersion() + 1))
          .setStatus(step.to).setStatusReason(details.reason()).setUpdatedAt(now);
      if (step == Step.GRANT) {
        after.setGrantedAt(now);
      }
      if (step == Step.APPLY || step == Step.GRANT) {
        details.validUntil().ifPresentOrElse(after::setValidUntil, () -> {
          if (step == Step.GRANT) {
            after.clearValidUntil();
          }
        });
      }
      Qualification result = after.build();
      Map<String, byte[]> puts = new HashMap<>();
      puts.put(key, result.toByteArray());
      participants.putAudit(puts, AuditEvent.newBuilder().setParticipantId(participant.toString())
          .setAction(step.action).setActor(caller.uri()).setOccurredAt(now)
          .setReason(details.reason()).setRequestId(requestId).setQualificationType(type));
      if (store.write(entry.record(result.toByteArray(), puts), List.of(),
          entry.absent(Map.of(key, stored)))) {
        return result;
      }
    }
  }

  /** The qualification as of now: GRANTED past its {@code valid_until} reads EXPIRED (SVC-010). */
  public Optional<Qualification> get(Identifier participant, QualificationType type) {
    checkType(type);
    return store.get(key(participant, type)).map(QualificationBook::parse).map(this::current);
  }

  /** SVC-010: a qualified reseller holds a GRANTED qualification that has not expired. */
  public boolean isQualifiedReseller(Identifier participant) {
    for (QualificationType type : List.of(QualificationType.QUALIFICATION_TYPE_RESALE,
        QualificationType.QUALIFICATION_TYPE_SCHEDULING)) {
      if (get(participant, type).map(q -> q.getStatus()
          == QualificationStatus.QUALIFICATION_STATUS_GRANTED).orElse(false)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The gate of ordering on behalf of others (SVC-010): FAILED_PRECONDITION unless
   * {@code participant} is an approved, qualified reseller.
   */
  public void requireQualifiedReseller(Identifier participant) {
    participants.requireApproved(participant);
    if (!isQualifiedReseller(participant)) {
      throw CpinException.failedPrecondition("participant " + participant + " holds no granted "
          + "resale or scheduling qualification");
    }
  }

  /** Qualifications in key order after {@code pageToken} that pass {@code filter}. */
  public List<Qualification> list(Predicate<Qualification> filter, String pageToken, int max) {
    List<Qualification> page = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : store.scan(QUALIFICATIONS).entrySet()) {
      if (page.size() >= max) {
        break;
      }
      String token = e.getKey().substring(QUALIFICATIONS.length());
      if (!pageToken.isEmpty() && token.compareTo(pageToken) <= 0) {
        continue;
      }
      Qualification q = current(parse(e.getValue()));
      if (filter.test(q)) {
        page.add(q);
      }
    }
    return page;
  }

  /** The page token that continues after {@code q}. */
  public static String pageToken(Qualification q) {
    return q.getParticipantId() + "/" + q.getTypeValue();
  }

  private Qualification current(Qualification q) {
    if (q.getStatus() == QualificationStatus.QUALIFICATION_STATUS_GRANTED && q.hasValidUntil()
        && Timestamps.toMillis(q.getValidUntil()) <= clock.millis()) {
      return q.toBuilder().setStatus(QualificationStatus.QUALIFICATION_STATUS_EXPIRED)
          .setStatusReason("valid_until passed").build();
    }
    return q;
  }

  private static void checkType(QualificationType type) {
    if (type == QualificationType.QUALIFICATION_TYPE_UNSPECIFIED
        || type == QualificationType.UNRECOGNIZED) {
      throw InvalidArgumentException.of("type", "must be a QUALIFICATION_TYPE_* value",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
  }

  private static String key(Identifier participant, QualificationType type) {
    return QUALIFICATIONS + participant + "/" + type.getNumber();
  }

  private static Qualification parse(byte[] bytes) {
    try {
      return Qualification.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt qualification", e);
    }
  }
}
