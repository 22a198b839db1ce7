package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.RequestLedger;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.protocol.validation.DemandRules;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.servicecenter.v1.CancelDemandRequest;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Users' resource-use demands (flow 3, SVC-012 to SVC-016): recorded with an identifier, matched
 * through the node's selection (flows 5 and 6, by a {@link DemandMatcher}), then ordered,
 * cancelled or expired. A demand past {@code expires_at} reads as EXPIRED without anyone
 * touching it. Thread-safe.
 */
public final class DemandBook {
  static final Duration DEFAULT_LIFETIME = Duration.ofDays(7);
  static final int MAX_CANDIDATES = 10;
  private static final String DEMANDS = "svc/demand/";
  private static final EnumSet<DemandStatus> OPEN = EnumSet.of(
      DemandStatus.DEMAND_STATUS_SUBMITTED, DemandStatus.DEMAND_STATUS_MATCHED);

  /**
   * Selection for a demand (flow 6) over the node's aggregated inventory (flow 5): at most
   * {@code max} candidates, best first, empty when nothing fits.
   */
  @FunctionalInterface
  public interface DemandMatcher {
    /** Until this node's selection system runs: no candidates, so demands stay SUBMITTED. */
    DemandMatcher NONE = (demand, max) -> List.of();

    List<Candidate> match(Demand demand, int max);
  }

  private final KeyValueStore store;
  private final Clock clock;
  private final ParticipantRegistry participants;
  private final IdentifierIssuer issuer;
  private final DemandMatcher matcher;
  private volatile Runnable onSubmitted = () -> { };

  public DemandBook(KeyValueStore store, Clock clock, ParticipantRegistry participants,
      IdentifierIssuer issuer, DemandMatcher matcher) {
    this.store = store;
    this.clock = clock;
    this.participants = participants;
    this.issuer = issuer;
    this.matcher = matcher;
  }

  /** Runs {@code listener} once for every new demand (monitoring, MON-002). */
  public void onSubmitted(Runnable listener) {
    this.onSubmitted = listener;
  }

  /** Records a demand and matches it (SVC-012, SVC-013). */
  public Demand submit(CpinIdentity caller, SubmitDemandRequest request) {
    List<FieldViolation> violations = new ArrayList<>();
    DemandRules.check("constraints", request.getConstraints(), violations);
    DemandRules.check("preferences", request.getPreferences(), violations);
    if (request.hasExpiresAt() && (!Timestamps.isValid(request.getExpiresAt())
        || Timestamps.toMillis(request.getExpiresAt()) <= clock.millis())) {
      violations.add(ParticipantRegistry.invalid("expires_at", "must be in the future"));
    }
    if (!request.hasExpiresAt() && request.getConstraints().getTimeWindow().hasEndTime()
        && Timestamps.toMillis(request.getConstraints().getTimeWindow().getEndTime())
            <= clock.millis()) {
      violations.add(ParticipantRegistry.invalid("constraints.time_window",
          "must end in the future (it is the demand's default expiry)"));
    }
    if (request.getTitle().length() > ParticipantRegistry.MAX_TEXT) {
      violations.add(new FieldViolation("title", "must have at most "
          + ParticipantRegistry.MAX_TEXT + " characters", ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    Identifier user = Identifier.parse(request.getUserId());
    requireOwnerOrOperator(caller, user);
    RequestLedger.Entry entry = participants.ledger().entry(caller, "SubmitDemand",
        request.getRequestId(), request);
    Optional<byte[]> earlier = entry.replay();
    if (earlier.isPresent()) {
      return current(parse(earlier.get()));
    }
    participants.requireApproved(user);
    Identifier id = issuer.issue("svc-d-" + Sha256.hex(entry.key()).substring(0, 40),
        IdentifierKind.DEMAND, user.toString(), Map.of());
    Timestamp now = Timestamps.fromMillis(clock.millis());
    Timestamp expires = request.hasExpiresAt() ? request.getExpiresAt()
        : request.getConstraints().hasTimeWindow()
            ? request.getConstraints().getTimeWindow().getEndTime()
            : Timestamps.add(now, com.google.protobuf.util.Durations.fromMillis(
                DEFAULT_LIFETIME.toMillis()));
    Demand submitted = Demand.newBuilder()
        .setDemandId(id.toString())
        .setUserId(user.toString())
        .setTitle(request.getTitle())
        .setConstraints(request.getConstraints())
        .setPreferences(request.getPreferences())
        .setStatus(DemandStatus.DEMAND_STATUS_SUBMITTED)
        .setSubmittedAt(now)
        .setExpiresAt(expires)
        .setUpdatedAt(now)
        .setVersion(1)
        .build();
    Demand recorded = matched(submitted);
    if (!store.write(entry.record(recorded.toByteArray(), Map.of(DEMANDS + id,
        recorded.toByteArray())), List.of(), entry.absent(Map.of()))) {
      return current(parse(entry.replay().orElseThrow()));
    }
    onSubmitted.run();
    return recorded;
  }

  // SVC-013: candidates from selection, best first; MATCHED if there is one.
  private Demand matched(Demand demand) {
    List<Candidate> candidates = matcher.match(demand, MAX_CANDIDATES);
    if (candidates.isEmpty()) {
      return demand;
    }
    return demand.toBuilder().clearCandidates()
        .addAllCandidates(candidates.subList(0, Math.min(MAX_CANDIDATES, candidates.size())))
        .setMatchedAt(Timestamps.fromMillis(clock.millis()))
        .setStatus(DemandStatus.DEMAND_STATUS_MATCHED)
        .build();
  }

  /** The demand, for its user, a node or the operator (SVC-016). */
  public Demand get(CpinIdentity caller, Identifier id) {
    Demand demand = find(id);
    requireOwnerOrOperator(caller, Identifier.parse(demand.getUserId()));
    return demand;
  }

  /**
   * Demands newest first after the demand {@code pageToken}; a user sees only its own
   * (SVC-016).
   */
  public List<Demand> list(CpinIdentity caller, String userId, Predicate<Demand> filter,
      String pageToken, int max) {
    String user = userId;
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT) {
      String self = caller.participantId().orElseThrow().toString();
      if (!user.isEmpty() && !user.equals(self)) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            caller.uri() + " may list only its own demands");
      }
      user = self;
    }
    List<Demand> all = new ArrayList<>();
    for (byte[] value : store.scan(DEMANDS).values()) {
      Demand demand = current(parse(value));
      if ((user.isEmpty() || demand.getUserId().equals(user)) && filter.test(demand)) {
        all.add(demand);
      }
    }
    all.sort(Comparator.comparing((Demand d) -> Timestamps.toNanos(d.getSubmittedAt()))
        .thenComparing(Demand::getDemandId).reversed());
    int from = 0;
    if (!pageToken.isEmpty()) {
      from = all.size();
      for (int i = 0; i < all.size(); i++) {
        if (all.get(i).getDemandId().equals(pageToken)) {
          from = i + 1;
          break;
        }
      }
    }
    return all.subList(Math.min(from, all.size()), Math.min(all.size(), from + max));
  }

  /** Cancels an open demand; a cancelled one is returned unchanged (SVC-015). */
  public Demand cancel(CpinIdentity caller, CancelDemandRequest request) {
    Identifier id = Identifier.parse(request.getDemandId());
    RequestLedger.Entry entry = participants.ledger().entry(caller, "CancelDemand",
        request.getRequestId(), request);
    while (true) {
      Optional<byte[]> earlier = entry.replay();
      if (earlier.isPresent()) {
        return parse(earlier.get());
      }
      byte[] stored = store.get(DEMANDS + id).orElseThrow(() -> notFound(id));
      Demand demand = current(parse(stored));
      requireOwnerOrOperator(caller, Identifier.parse(demand.getUserId()));
      if (demand.getStatus() == DemandStatus.DEMAND_STATUS_CANCELLED) {
        return demand;
      }
      if (!OPEN.contains(demand.getStatus())) {
        throw CpinException.failedPrecondition("demand " + id + " is " + demand.getStatus());
      }
      Demand cancelled = demand.toBuilder().setStatus(DemandStatus.DEMAND_STATUS_CANCELLED)
          .setCancelReason(request.getReason())
          .setUpdatedAt(Timestamps.fromMillis(clock.millis()))
          .setVersion(demand.getVersion() + 1).build();
      if (store.write(entry.record(cancelled.toByteArray(),
          Map.of(DEMANDS + id, cancelled.toByteArray())), List.of(),
          entry.absent(Map.of(DEMANDS + id, Optional.of(stored))))) {
        return cancelled;
      }
    }
  }

  /**
   * SVC-015: an open demand becomes ORDERED when an order referencing it is confirmed (called by
   * the ordering system, SEL-019). FAILED_PRECONDITION if the demand is no longer open.
   */
  public Demand markOrdered(Identifier id, Identifier order) {
    while (true) {
      OrderedChange change = ordered(id, order);
      if (store.write(change.puts(), List.of(), change.expected())) {
        return change.demand();
      }
    }
  }

  /**
   * The write that makes an open demand ORDERED by {@code order}, for the ordering system to
   * apply together with its own change (SEL-019: in the same atomic step); it holds only while
   * the demand is unchanged. FAILED_PRECONDITION if the demand is no longer open.
   */
  public OrderedChange ordered(Identifier id, Identifier order) {
    byte[] stored = store.get(DEMANDS + id).orElseThrow(() -> notFound(id));
    Demand demand = current(parse(stored));
    if (!OPEN.contains(demand.getStatus())) {
      throw CpinException.failedPrecondition("demand " + id + " is " + demand.getStatus());
    }
    Demand ordered = demand.toBuilder().setStatus(DemandStatus.DEMAND_STATUS_ORDERED)
        .setOrderId(order.toString()).setUpdatedAt(Timestamps.fromMillis(clock.millis()))
        .setVersion(demand.getVersion() + 1).build();
    return new OrderedChange(ordered, Map.of(DEMANDS + id, ordered.toByteArray()),
        Map.of(DEMANDS + id, Optional.of(stored)));
  }

  /** See {@link #ordered}: the demand after the change, the puts and their expectation. */
  public record OrderedChange(Demand demand, Map<String, byte[]> puts,
      Map<String, Optional<byte[]>> expected) {}

  private Demand find(Identifier id) {
    return store.get(DEMANDS + id).map(DemandBook::parse).map(this::current)
        .orElseThrow(() -> notFound(id));
  }

  private Demand current(Demand demand) {
    if (OPEN.contains(demand.getStatus())
        && Timestamps.toMillis(demand.getExpiresAt()) <= clock.millis()) {
      return demand.toBuilder().setStatus(DemandStatus.DEMAND_STATUS_EXPIRED).build();
    }
    return demand;
  }

  // SVC-016: users act on their own demands; nodes and the operator on any.
  private static void requireOwnerOrOperator(CpinIdentity caller, Identifier user) {
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(user)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may act only on its own demands");
    }
  }

  private static CpinException notFound(Identifier id) {
    return CpinException.notFound("demand " + id + " is not known here",
        Map.of("demand_id", id.toString()));
  }

  private static Demand parse(byte[] bytes) {
    try {
      return Demand.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt demand", e);
    }
  }
}
