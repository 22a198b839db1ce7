package cn.cpin.node.selection;

import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.RequestLedger;
import cn.cpin.node.servicecenter.DemandBook;
import cn.cpin.node.servicecenter.ParticipantRegistry;
import cn.cpin.node.servicecenter.QualificationBook;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.selection.v1.ConfirmOrderRequest;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.Order;
import cn.cpin.selection.v1.OrderStatus;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipationKind;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * Orders under one set of rules (SEL-014 to SEL-021): reserve → confirm → release, or expire when
 * the hold passes unconfirmed. Capacity is never double-booked: each resource and each line keeps
 * its live bookings in one store record, and every change to them is a compare-and-set that also
 * writes the order, so concurrent reservations, in this process or in replicas sharing the store,
 * serialise on that record and retry. A reservation past its hold reads EXPIRED, and its booking
 * stops counting, without anyone touching it. Thread-safe.
 */
public final class OrderBook {
  static final Duration DEFAULT_HOLD = Duration.ofMinutes(10);
  static final Duration MAX_HOLD = Duration.ofHours(1);
  private static final String ORDERS = "sel/order/";
  private static final String RESOURCE_BOOKINGS = "sel/booking/resource/";
  private static final String LINE_BOOKINGS = DedicatedLineBook.BOOKINGS;

  /** What happened to an order, for monitoring (MON-002). */
  public enum Event { RESERVED, CONFIRMED, RELEASED, EXPIRED }

  /** Hears every order event once it is durable. */
  @FunctionalInterface
  public interface Listener {
    void on(Event event, Order order, Participant user);
  }

  private final KeyValueStore store;
  private final Clock clock;
  private final ParticipantRegistry participants;
  private final QualificationBook qualifications;
  private final DemandBook demands;
  private final IdentifierIssuer issuer;
  private final DedicatedLineBook lines;
  private final Function<String, Optional<Resource>> resources;
  private final RequestLedger ledger;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();

  /** @param resources this node's inventory: a resource by id */
  /** Told when a resource's bookings change, with whether any are left. */
  @FunctionalInterface
  public interface BookingsListener {
    void changed(String resourceId, boolean anyLive);
  }

  /**
   * Each resource's bookings as of this node's last write or sweep: what selection subtracts
   * for a demand's window (SEL-001). A replica sharing the store is seen within a sweep.
   */
  private final Map<String, Bookings> booked = new ConcurrentHashMap<>();
  private volatile BookingsListener bookingsListener = (id, any) -> {};

  public OrderBook(KeyValueStore store, Clock clock, ParticipantRegistry participants,
      QualificationBook qualifications, DemandBook demands, IdentifierIssuer issuer,
      DedicatedLineBook lines, Function<String, Optional<Resource>> resources) {
    this.store = store;
    this.clock = clock;
    this.participants = participants;
    this.qualifications = qualifications;
    this.demands = demands;
    this.issuer = issuer;
    this.lines = lines;
    this.resources = resources;
    this.ledger = new RequestLedger(store, "sel/request/");
    store.scan(RESOURCE_BOOKINGS).forEach(this::remember);
  }

  /** Follows bookings from now on, after being told of every resource booked so far. */
  public void onBookings(BookingsListener listener) {
    bookingsListener = listener;
    long now = clock.millis();
    booked.forEach((id, b) -> listener.changed(id, !b.live(now).entries().isEmpty()));
  }

  /** The most units of {@code resourceId} booked at any instant of [start, end). */
  public long bookedPeak(String resourceId, long startMillis, long endMillis) {
    Bookings b = booked.get(resourceId);
    return b == null ? 0 : b.live(clock.millis()).peak(startMillis, endMillis);
  }

  // Keeps the view of bookings current after a write of `key` (a resource's record or not).
  private void remember(String key, byte[] value) {
    if (key.startsWith(RESOURCE_BOOKINGS)) {
      String id = key.substring(RESOURCE_BOOKINGS.length());
      Bookings now = Bookings.parse(value);
      booked.put(id, now);
      bookingsListener.changed(id, !now.live(clock.millis()).entries().isEmpty());
    }
  }

  /** Runs {@code listener} on every order event. */
  public void onEvent(Listener listener) {
    listeners.add(listener);
  }

  /** Reserves units (and line bandwidth) for a window, held until reserved_until (SEL-014…019). */
  public Order reserve(CpinIdentity caller, ReserveOrderRequest request) {
    long now = clock.millis();
    checkReservation(request, now);
    Identifier user = Identifier.parse(request.getUserId());
    if (caller.kind() != CpinIdentity.Kind.PARTICIPANT
        || !caller.participantId().orElseThrow().equals(user)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may order only as itself");
    }
    RequestLedger.Entry entry = ledger.entry(caller, "ReserveOrder", request.getRequestId(),
        request);
    Optional<byte[]> earlier = entry.replay();
    if (earlier.isPresent()) {
      return current(parse(earlier.get()));
    }
    Participant participant = requireOrderingUser(user);
    Resource resource = resources.apply(request.getResourceId()).orElseThrow(() ->
        CpinException.notFound("resource " + request.getResourceId() + " is not known here",
            Map.of("resource_id", request.getResourceId())));
    if (resource.getStatus() != ResourceStatus.RESOURCE_STATUS_AVAILABLE) {
      throw CpinException.failedPrecondition("resource " + resource.getResourceId() + " is "
          + resource.getStatus() + ", not AVAILABLE");
    }
    if (!request.getDemandId().isEmpty()) {
      Demand demand = demands.get(caller, Identifier.parse(request.getDemandId()));
      if (demand.getStatus() != DemandStatus.DEMAND_STATUS_SUBMITTED
          && demand.getStatus() != DemandStatus.DEMAND_STATUS_MATCHED) {
        throw CpinException.failedPrecondition("demand " + demand.getDemandId() + " is "
            + demand.getStatus());
      }
    }
    long start = Timestamps.toMillis(request.getTimeWindow().getStartTime());
    long end = Timestamps.toMillis(request.getTimeWindow().getEndTime());
    checkOffer(resource.getOfferConstraints(), participant, request, end - start);
    Optional<DedicatedLine> line = Optional.empty();
    if (!request.getDedicatedLineId().isEmpty()) {
      Identifier lineId = Identifier.parse(request.getDedicatedLineId());
      line = Optional.of(lines.offered(lineId));
      if (line.get().getStatus() != DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN) {
        throw CpinException.failedPrecondition("dedicated line " + lineId + " is closed");
      }
    }
    // SEL-017: the price is the resource's (and line's) now, fixed in the order.
    long hours = Billing.billableHours(Duration.ofMillis(end - start));
    Money unitPrice = resource.getPricePerUnitHour();
    long total = Billing.cost(request.getUnitCount(), hours, unitPrice.getMinorUnits(),
        "unit_count");
    if (line.isPresent()) {
      Money linePrice = line.get().getPricePerMbpsHour();
      if (!linePrice.getCurrencyCode().equals(unitPrice.getCurrencyCode())) {
        throw CpinException.failedPrecondition("line " + line.get().getLineId() + " is priced in "
            + linePrice.getCurrencyCode() + ", the resource in " + unitPrice.getCurrencyCode());
      }
      try {
        total = Math.addExact(total, Billing.cost(request.getLineBandwidthMbps(), hours,
            linePrice.getMinorUnits(), "line_bandwidth_mbps"));
      } catch (ArithmeticException e) {
        throw InvalidArgumentException.of("line_bandwidth_mbps",
            "makes the price overflow 64-bit minor units", ErrorReason.ERROR_REASON_INVALID_FIELDS);
      }
    }
    long hold = request.hasHold() ? Durations.toMillis(request.getHold())
        : DEFAULT_HOLD.toMillis();
    // Checked before an identifier is spent on it; checked again in the write below.
    Bookings resourceBooked = bookings(RESOURCE_BOOKINGS + resource.getResourceId()).live(now);
    requireRoom(resourceBooked, start, end, request.getUnitCount(),
        resource.getCapacity().getTotalUnits(), "resource " + resource.getResourceId(), "units");
    Identifier id = issuer.issue("sel-o-" + Sha256.hex(entry.key()).substring(0, 40),
        IdentifierKind.ORDER, user.toString(), Map.of());
    for (int attempt = 0; ; attempt++) {
      now = clock.millis();
      Map<String, byte[]> puts = new HashMap<>();
      Map<String, Optional<byte[]>> expected = new HashMap<>();
      List<Bookings.Entry> expired = new ArrayList<>();
      Order order = Order.newBuilder()
          .setOrderId(id.toString())
          .setUserId(user.toString())
          .setDemandId(request.getDemandId())
          .setResourceId(resource.getResourceId())
          .setProviderId(resource.getProviderId())
          .setUnitCount(request.getUnitCount())
          .setTimeWindow(request.getTimeWindow())
          .setDedicatedLineId(request.getDedicatedLineId())
          .setLineBandwidthMbps(request.getLineBandwidthMbps())
          .setStatus(OrderStatus.ORDER_STATUS_RESERVED)
          .setPricePerUnitHour(unitPrice)
          .setTotalPrice(Money.newBuilder().setCurrencyCode(unitPrice.getCurrencyCode())
              .setMinorUnits(total))
          .setReservedUntil(Timestamps.fromMillis(now + hold))
          .setCreatedAt(Timestamps.fromMillis(now))
          .setVersion(1)
          .build();
      book(RESOURCE_BOOKINGS + resource.getResourceId(), order, request.getUnitCount(),
          resource.getCapacity().getTotalUnits(), "resource " + resource.getResourceId(),
          "units", now, puts, expected, expired);
      if (line.isPresent()) {
        book(LINE_BOOKINGS + line.get().getLineId(), order, request.getLineBandwidthMbps(),
            line.get().getAvailableBandwidthMbps(), "dedicated line " + line.get().getLineId(),
            "Mbit/s", now, puts, expected, expired);
      }
      puts.put(ORDERS + id, order.toByteArray());
      expected.put(ORDERS + id, Optional.empty());
      if (store.write(entry.record(order.toByteArray(), puts), List.of(),
          entry.absent(expected))) {
        puts.forEach(this::remember);
        announceExpired(expired);
        if (line.isPresent()) {
          lines.bookingsChanged();
        }
        announce(Event.RESERVED, order, participant);
        return order;
      }
      Optional<byte[]> raced = entry.replay();
      if (raced.isPresent()) {
        return current(parse(raced.get()));
      }
      backOff(attempt);
    }
  }

  // Adds the order's entry to a booking record, or FAILED_PRECONDITION if it would over-commit.
  private void book(String key, Order order, long amount, long capacity, String what,
      String unit, long now, Map<String, byte[]> puts, Map<String, Optional<byte[]>> expected,
      List<Bookings.Entry> expired) {
    Optional<byte[]> stored = store.get(key);
    Bookings all = stored.map(Bookings::parse).orElse(Bookings.NONE);
    Bookings live = all.live(now);
    long start = Timestamps.toMillis(order.getTimeWindow().getStartTime());
    long end = Timestamps.toMillis(order.getTimeWindow().getEndTime());
    requireRoom(live, start, end, amount, capacity, what, unit);
    puts.put(key, live.with(new Bookings.Entry(order.getOrderId(), amount, start, end,
        Timestamps.toMillis(order.getReservedUntil()))).encode());
    expected.put(key, stored);
    if (key.startsWith(RESOURCE_BOOKINGS)) { // every order has one: its expiry is announced once
      expired.addAll(all.expired(now));
    }
  }

  private static void requireRoom(Bookings live, long start, long end, long amount,
      long capacity, String what, String unit) {
    long peak = live.peak(start, end);
    if (peak + amount > capacity) {
      throw CpinException.failedPrecondition(what + " has " + Math.max(0, capacity - peak) + " "
          + unit + " free for the window, " + amount + " requested");
    }
  }

  /** Confirms a reserved order; a confirmed one is returned unchanged (SEL-016, SEL-019). */
  public Order confirm(CpinIdentity caller, ConfirmOrderRequest request) {
    Identifier id = Identifier.parse(request.getOrderId());
    RequestLedger.Entry entry = ledger.entry(caller, "ConfirmOrder", request.getRequestId(),
        request);
    for (int attempt = 0; ; attempt++) {
      Optional<byte[]> earlier = entry.replay();
      if (earlier.isPresent()) {
        return parse(earlier.get());
      }
      byte[] stored = store.get(ORDERS + id).orElseThrow(() -> notFound(id));
      Order order = current(parse(stored));
      if (caller.kind() != CpinIdentity.Kind.PARTICIPANT
          || !caller.participantId().orElseThrow().toString().equals(order.getUserId())) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            caller.uri() + " did not place order " + id);
      }
      if (order.getStatus() == OrderStatus.ORDER_STATUS_CONFIRMED) {
        return order;
      }
      if (order.getStatus() != OrderStatus.ORDER_STATUS_RESERVED) {
        throw CpinException.failedPrecondition("order " + id + " is " + order.getStatus());
      }
      long now = clock.millis();
      Order confirmed = order.toBuilder().setStatus(OrderStatus.ORDER_STATUS_CONFIRMED)
          .setConfirmedAt(Timestamps.fromMillis(now)).setVersion(order.getVersion() + 1).build();
      Map<String, byte[]> puts = new HashMap<>();
      Map<String, Optional<byte[]>> expected = new HashMap<>();
      if (!rebook(RESOURCE_BOOKINGS + order.getResourceId(), order, true, now, puts, expected)
          || !order.getDedicatedLineId().isEmpty() && !rebook(LINE_BOOKINGS
              + order.getDedicatedLineId(), order, true, now, puts, expected)) {
        // The hold passed between our read of the order and of its booking.
        backOff(attempt);
        continue;
      }
      if (!order.getDemandId().isEmpty()) {
        DemandBook.OrderedChange demand = demands.ordered(Identifier.parse(order.getDemandId()),
            id);
        puts.putAll(demand.puts());
        expected.putAll(demand.expected());
      }
      puts.put(ORDERS + id, confirmed.toByteArray());
      expected.put(ORDERS + id, Optional.of(stored));
      if (store.write(entry.record(confirmed.toByteArray(), puts), List.of(),
          entry.absent(expected))) {
        puts.forEach(this::remember);
        announce(Event.CONFIRMED, confirmed, null);
        return confirmed;
      }
      backOff(attempt);
    }
  }

  /** Releases a reserved or confirmed order; a released one is returned unchanged (SEL-020). */
  public Order release(CpinIdentity caller, ReleaseOrderRequest request) {
    Identifier id = Identifier.parse(request.getOrderId());
    RequestLedger.Entry entry = ledger.entry(caller, "ReleaseOrder", request.getRequestId(),
        request);
    for (int attempt = 0; ; attempt++) {
      Optional<byte[]> earlier = entry.replay();
      if (earlier.isPresent()) {
        return parse(earlier.get());
      }
      byte[] stored = store.get(ORDERS + id).orElseThrow(() -> notFound(id));
      Order order = current(parse(stored));
      if (caller.kind() == CpinIdentity.Kind.NODE || caller.kind() == CpinIdentity.Kind.PARTICIPANT
          && !caller.participantId().orElseThrow().toString().equals(order.getUserId())) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            caller.uri() + " neither placed order " + id + " nor operates this node");
      }
      if (order.getStatus() == OrderStatus.ORDER_STATUS_RELEASED) {
        return order;
      }
      long now = clock.millis();
      if (order.getStatus() == OrderStatus.ORDER_STATUS_EXPIRED) {
        throw CpinException.failedPrecondition("order " + id + " expired");
      }
      if (Timestamps.toMillis(order.getTimeWindow().getEndTime()) <= now) {
        throw CpinException.failedPrecondition("the window of order " + id + " has ended");
      }
      Order released = order.toBuilder().setStatus(OrderStatus.ORDER_STATUS_RELEASED)
          .setEndedAt(Timestamps.fromMillis(now)).setReleaseReason(request.getReason())
          .setVersion(order.getVersion() + 1).build();
      Map<String, byte[]> puts = new HashMap<>();
      Map<String, Optional<byte[]>> expected = new HashMap<>();
      rebook(RESOURCE_BOOKINGS + order.getResourceId(), order, false, now, puts, expected);
      if (!order.getDedicatedLineId().isEmpty()) {
        rebook(LINE_BOOKINGS + order.getDedicatedLineId(), order, false, now, puts, expected);
      }
      puts.put(ORDERS + id, released.toByteArray());
      expected.put(ORDERS + id, Optional.of(stored));
      if (store.write(entry.record(released.toByteArray(), puts), List.of(),
          entry.absent(expected))) {
        puts.forEach(this::remember);
        if (!order.getDedicatedLineId().isEmpty()) {
          lines.bookingsChanged();
        }
        announce(Event.RELEASED, released, null);
        return released;
      }
      backOff(attempt);
    }
  }

  // Confirms (keep) or drops the order's booking entry; false if a kept entry is gone (expired).
  private boolean rebook(String key, Order order, boolean keep, long now,
      Map<String, byte[]> puts, Map<String, Optional<byte[]>> expected) {
    Optional<byte[]> stored = store.get(key);
    Bookings all = stored.map(Bookings::parse).orElse(Bookings.NONE);
    Optional<Bookings.Entry> mine = all.live(now).find(order.getOrderId());
    if (keep && mine.isEmpty()) {
      return false;
    }
    // Other orders' expired entries stay: whoever drops them announces the expiry.
    Bookings next = keep ? all.with(new Bookings.Entry(mine.get().orderId(),
        mine.get().amount(), mine.get().startMillis(), mine.get().endMillis(), 0))
        : all.without(order.getOrderId());
    puts.put(key, next.encode());
    expected.put(key, stored);
    return true;
  }

  /** The order, for its user, its resource's provider, nodes and the operator (SEL-021). */
  public Order get(CpinIdentity caller, Identifier id) {
    Order order = find(id).orElseThrow(() -> notFound(id));
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT) {
      String self = caller.participantId().orElseThrow().toString();
      if (!self.equals(order.getUserId()) && !self.equals(order.getProviderId())) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
            caller.uri() + " neither placed order " + id + " nor provides its resource");
      }
    }
    return order;
  }

  /** The order as of now, if known here. */
  public Optional<Order> find(Identifier id) {
    return store.get(ORDERS + id).map(OrderBook::parse).map(this::current);
  }

  /** SEL-016: a reservation past reserved_until reads EXPIRED, ended at reserved_until. */
  private Order current(Order order) {
    if (order.getStatus() == OrderStatus.ORDER_STATUS_RESERVED
        && Timestamps.toMillis(order.getReservedUntil()) <= clock.millis()) {
      return order.toBuilder().setStatus(OrderStatus.ORDER_STATUS_EXPIRED)
          .setEndedAt(order.getReservedUntil()).build();
    }
    return order;
  }

  // SEL-014: a user, or a reseller holding a granted qualification (SVC-010), and APPROVED.
  private Participant requireOrderingUser(Identifier user) {
    Participant participant = participants.requireApproved(user);
    if (participant.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_USER)) {
      return participant;
    }
    if (participant.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING)
        && qualifications.isQualifiedReseller(user)) {
      return participant;
    }
    throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
        "participant " + user + " is neither a user nor a qualified reseller (a reseller may "
            + "order only once its resale or scheduling qualification is granted)");
  }

  // SEL-018: the offer's own constraints.
  private void checkOffer(OfferConstraints offer, Participant user, ReserveOrderRequest request,
      long leaseMillis) {
    List<String> rejected = new ArrayList<>();
    if (offer.hasMinLease() && leaseMillis < Durations.toMillis(offer.getMinLease())) {
      rejected.add("the window is shorter than the offer's min_lease");
    }
    if (offer.hasMaxLease() && Durations.toMillis(offer.getMaxLease()) > 0
        && leaseMillis > Durations.toMillis(offer.getMaxLease())) {
      rejected.add("the window is longer than the offer's max_lease");
    }
    if (request.getUnitCount() < offer.getMinUnits()) {
      rejected.add("unit_count is below the offer's min_units " + offer.getMinUnits());
    }
    if (offer.getAllowedUserProvinceCodesCount() > 0
        && !offer.getAllowedUserProvinceCodesList().contains(provinceOf(user))) {
      rejected.add("the user's province is not among the offer's allowed_user_province_codes");
    }
    if (offer.getRequiresQualifiedReseller()
        && !qualifications.isQualifiedReseller(Identifier.parse(user.getParticipantId()))) {
      rejected.add("the offer requires a qualified reseller");
    }
    if (!rejected.isEmpty()) {
      throw CpinException.failedPrecondition("the offer's constraints reject the order: "
          + String.join("; ", rejected));
    }
  }

  private static String provinceOf(Participant p) {
    return p.hasOrganization() ? p.getOrganization().getProvinceCode()
        : p.getIndividual().getProvinceCode();
  }

  // SEL-014: every bad field at once.
  private static void checkReservation(ReserveOrderRequest request, long now) {
    List<FieldViolation> violations = new ArrayList<>();
    if (request.getUnitCount() == 0) {
      violations.add(DedicatedLineBook.invalid("unit_count", "must be at least 1"));
    }
    if (!request.hasTimeWindow()) {
      violations.add(new FieldViolation("time_window", "is required",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    } else {
      var window = request.getTimeWindow();
      if (!window.hasStartTime() || !window.hasEndTime()
          || !Timestamps.isValid(window.getStartTime()) || !Timestamps.isValid(window.getEndTime())
          || Timestamps.compare(window.getEndTime(), window.getStartTime()) <= 0) {
        violations.add(DedicatedLineBook.invalid("time_window",
            "must have a start and an end after it"));
      } else if (Timestamps.toMillis(window.getStartTime()) < now) {
        violations.add(DedicatedLineBook.invalid("time_window.start_time",
            "must not be in the past"));
      }
    }
    if (request.hasHold() && (!Durations.isValid(request.getHold())
        || Durations.toNanos(request.getHold()) <= 0
        || Durations.toMillis(request.getHold()) > MAX_HOLD.toMillis())) {
      // A hold of zero would expire the reservation as it is made.
      violations.add(DedicatedLineBook.invalid("hold", "must be more than 0 and at most 1 hour"));
    }
    if (!request.getDedicatedLineId().isEmpty() && request.getLineBandwidthMbps() == 0) {
      violations.add(DedicatedLineBook.invalid("line_bandwidth_mbps",
          "must be at least 1 with dedicated_line_id"));
    }
    if (request.getDedicatedLineId().isEmpty() && request.getLineBandwidthMbps() != 0) {
      violations.add(DedicatedLineBook.invalid("line_bandwidth_mbps",
          "needs a dedicated_line_id"));
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
  }

  private void announce(Event event, Order order, Participant user) {
    if (listeners.isEmpty()) {
      return;
    }
    Participant who = user != null ? user
        : participants.find(Identifier.parse(order.getUserId())).orElse(null);
    listeners.forEach(l -> l.on(event, order, who));
  }

  /**
   * Drops the bookings of reservations whose hold has passed and announces each expiry once
   * (SEL-016; category 9 of MON-002), so that an expiry is counted when it happens, not when a
   * later order on the same resource rewrites its bookings. Run periodically by the node; a
   * record rewritten meanwhile (here or by a replica sharing the store) is left to that writer,
   * which announces what it dropped. Returns how many expiries this sweep announced.
   */
  public int sweepExpired() {
    long now = clock.millis();
    int announced = 0;
    for (String prefix : List.of(RESOURCE_BOOKINGS, LINE_BOOKINGS)) {
      for (Map.Entry<String, byte[]> record : store.scan(prefix).entrySet()) {
        Bookings all = Bookings.parse(record.getValue());
        List<Bookings.Entry> expired = all.expired(now);
        if (expired.isEmpty()) {
          remember(record.getKey(), record.getValue()); // also a replica's bookings
          continue;
        }
        byte[] live = all.live(now).encode();
        if (!store.write(Map.of(record.getKey(), live), List.of(),
            Map.of(record.getKey(), Optional.of(record.getValue())))) {
          continue; // rewritten meanwhile: its writer remembers and announces
        }
        remember(record.getKey(), live);
        if (prefix.equals(RESOURCE_BOOKINGS)) {
          announceExpired(expired);
          announced += expired.size();
        }
      }
    }
    return announced;
  }

  // Expiries are noticed when a write drops their bookings: each is announced once.
  private void announceExpired(List<Bookings.Entry> expired) {
    for (Bookings.Entry e : expired) {
      find(Identifier.parse(e.orderId())).ifPresent(o -> announce(Event.EXPIRED, o, null));
    }
  }

  private Bookings bookings(String key) {
    return store.get(key).map(Bookings::parse).orElse(Bookings.NONE);
  }

  // Someone else won the compare-and-set; back off a little, with jitter, so contenders spread.
  private static void backOff(int attempt) {
    long maxMicros = 1L << Math.min(attempt, 10);
    LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(maxMicros + 1) * 1_000L);
  }

  private static CpinException notFound(Identifier id) {
    return CpinException.notFound("order " + id + " is not known here",
        Map.of("order_id", id.toString()));
  }

  static Order parse(byte[] bytes) {
    try {
      return Order.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt order", e);
    }
  }
}
