package cn.cpin.node.selection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.node.servicecenter.ParticipantRegistry;
import cn.cpin.node.servicecenter.QualificationBook;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.selection.v1.CloseDedicatedLineRequest;
import cn.cpin.selection.v1.ConfirmOrderRequest;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.ListDedicatedLinesRequest;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.selection.v1.Order;
import cn.cpin.selection.v1.OrderStatus;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.QualificationType;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import cn.cpin.testing.MutableClock;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dedicated lines and orders on a real embedded store with a clock the test moves: the rules of
 * SEL-012 to SEL-021, expiry without anyone touching an order, and no double booking under
 * concurrent reservations, also through two books (replicas) sharing one store.
 */
class OrderBookTest {
  private static final NodeCode NODE = NodeCode.regional("44");
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(NODE);
  private static final Instant START = Instant.parse("2026-11-26T08:00:00Z");

  @TempDir
  Path dir;

  private KeyValueStore store;
  private final MutableClock clock = new MutableClock(START);
  private final AtomicLong serials = new AtomicLong();
  private final Map<String, Identifier> issued = new ConcurrentHashMap<>();
  private final Map<String, Resource> inventory = new ConcurrentHashMap<>();
  private final AtomicInteger changes = new AtomicInteger();
  private final AtomicInteger companies = new AtomicInteger();
  private IdentifierIssuer issuer;
  private ServiceCenter center;
  private DedicatedLineBook lines;
  private OrderBook orders;

  @BeforeEach
  void open() {
    store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
    issuer = (requestId, kind, owner, attributes) -> issued.computeIfAbsent(requestId,
        r -> Identifier.of(NODE, kind, serials.incrementAndGet()));
    center = new ServiceCenter(new NodeContext(NODE, dir, null, store, null, clock, null),
        issuer, (demand, max) -> List.of(), () -> { });
    lines = new DedicatedLineBook(store, clock, center.participants(), issuer,
        inventory::containsKey);
    lines.onChange(changes::incrementAndGet);
    orders = replica();
  }

  private OrderBook replica() {
    return new OrderBook(store, clock, center.participants(), center.qualifications(),
        center.demands(), issuer, lines, id -> Optional.ofNullable(inventory.get(id)));
  }

  @AfterEach
  void close() {
    store.close();
  }

  // --- dedicated lines -------------------------------------------------------------------------

  @Test
  void lineIsValidatedOpenedUsableAtOnceAndClosed() {
    Identifier provider = approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    CpinIdentity asProvider = CpinIdentity.participant(NODE, provider);
    assertThatThrownBy(() -> lines.open(asProvider, OpenDedicatedLineRequest.newBuilder()
        .setRequestId("l-bad").setProviderId(provider.toString())
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("99"))
        .setBandwidthMbps(0).setLatency(Durations.fromMillis(-1))
        .setPricePerMbpsHour(Money.newBuilder().setCurrencyCode("cny")).build()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactlyInAnyOrder("endpoint_a",
            "endpoint_z.province_code", "bandwidth_mbps", "latency",
            "price_per_mbps_hour.currency_code"));
    assertThatThrownBy(() -> lines.open(asProvider, line("l-avail", provider, 100).toBuilder()
        .setAvailableBandwidthMbps(101).build()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactly("available_bandwidth_mbps"));

    int before = changes.get();
    DedicatedLine opened = lines.open(asProvider, line("l-1", provider, 1000));
    assertThat(Identifier.parse(opened.getLineId()).kind()).isEqualTo(IdentifierKind.DEDICATED_LINE);
    assertThat(opened.getStatus()).isEqualTo(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN);
    assertThat(opened.getVersion()).isEqualTo(1);
    assertThat(opened.getAvailableBandwidthMbps()).isEqualTo(1000); // 0 means all
    assertThat(Timestamps.toMillis(opened.getOpenedAt())).isEqualTo(clock.millis());
    assertThat(lines.openLines()).containsExactly(opened); // at once, no refresh delay
    assertThat(changes.get()).isEqualTo(before + 1);
    assertThat(lines.open(asProvider, line("l-1", provider, 1000))).isEqualTo(opened);
    DedicatedLine second = lines.open(asProvider, line("l-2", provider, 500));
    assertThat(second.getLineId()).isNotEqualTo(opened.getLineId());

    // Only the owner or the operator closes; closing twice returns the closed line.
    Identifier other = approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    assertThatThrownBy(() -> lines.close(CpinIdentity.participant(NODE, other), close("c-0",
        opened))).isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.reason())
        .isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    DedicatedLine closed = lines.close(asProvider, close("c-1", opened));
    assertThat(closed.getStatus()).isEqualTo(DedicatedLineStatus.DEDICATED_LINE_STATUS_CLOSED);
    assertThat(closed.hasClosedAt()).isTrue();
    assertThat(closed.getVersion()).isEqualTo(2);
    assertThat(lines.close(OPERATOR, close("c-2", opened))).isEqualTo(closed);
    assertThat(lines.openLines()).containsExactly(second);

    // List: filters and a page token bound to its filter.
    DedicatedLineBook.Page first = lines.list(ListDedicatedLinesRequest.getDefaultInstance(), 1);
    assertThat(first.lines()).containsExactly(closed);
    assertThat(lines.list(ListDedicatedLinesRequest.newBuilder()
        .setPageToken(first.nextPageToken()).build(), 1).lines()).containsExactly(second);
    assertThat(lines.list(ListDedicatedLinesRequest.newBuilder()
        .setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN).build(), 10).lines())
        .containsExactly(second);
    assertThatThrownBy(() -> lines.list(ListDedicatedLinesRequest.newBuilder()
        .setProvinceCode("99").setPageToken(first.nextPageToken()).build(), 1))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactlyInAnyOrder("province_code",
            "page_token"));
  }

  @Test
  void onlyApprovedLineProvidersOpenLinesForThemselves() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    assertThatThrownBy(() -> lines.open(CpinIdentity.participant(NODE, user),
        line("l-u", user, 10))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED));
    Identifier provider = approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    assertThatThrownBy(() -> lines.open(CpinIdentity.participant(NODE, user),
        line("l-x", provider, 10))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    Identifier pending = registered(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    assertThatThrownBy(() -> lines.open(OPERATOR, line("l-p", pending, 10)))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    OpenDedicatedLineRequest toUnknown = line("l-r", provider, 10).toBuilder()
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("44")
            .setResourceId(Identifier.of(NODE, IdentifierKind.RESOURCE, 999).toString())).build();
    assertThatThrownBy(() -> lines.open(OPERATOR, toUnknown))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.NOT_FOUND));
    assertThat(lines.open(OPERATOR, line("l-o", provider, 10)).getProviderId())
        .isEqualTo(provider.toString());
  }

  // --- orders ----------------------------------------------------------------------------------

  @Test
  void everyBadFieldOfAReservationIsNamedAtOnce() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    ReserveOrderRequest bad = ReserveOrderRequest.newBuilder().setRequestId("o-bad")
        .setUserId(user.toString()).setResourceId(resource(4, 1000).getResourceId())
        .setUnitCount(0).setTimeWindow(window(-2, 1))
        .setHold(Durations.fromMinutes(61))
        .setDedicatedLineId(Identifier.of(NODE, IdentifierKind.DEDICATED_LINE, 5).toString())
        .build();
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, user), bad))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactlyInAnyOrder("unit_count",
            "time_window.start_time", "hold", "line_bandwidth_mbps"));
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, user),
        bad.toBuilder().setUnitCount(1).setTimeWindow(window(3, 2)).clearHold()
            .setLineBandwidthMbps(1).build()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactly("time_window"));
  }

  @Test
  void reserveConfirmReleaseWithThePriceFixedAtReservation() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(4, 1250);
    Identifier lineProvider = approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    DedicatedLine line = lines.open(OPERATOR, line("l-1", lineProvider, 100));
    // 2 h 30 min bills 3 hours: 3 units × 3 h × 12.50 + 10 Mbit/s × 3 h × 0.30.
    ReserveOrderRequest request = reserve("o-1", user, resource, 3, window(1, 3.5))
        .toBuilder().setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(10).build();
    Order reserved = orders.reserve(asUser, request);
    assertThat(Identifier.parse(reserved.getOrderId()).kind()).isEqualTo(IdentifierKind.ORDER);
    assertThat(reserved.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
    assertThat(reserved.getTotalPrice().getMinorUnits()).isEqualTo(3 * 3 * 1250 + 10 * 3 * 30);
    assertThat(reserved.getProviderId()).isEqualTo(resource.getProviderId());
    assertThat(Timestamps.toMillis(reserved.getReservedUntil()) - clock.millis())
        .isEqualTo(OrderBook.DEFAULT_HOLD.toMillis());
    assertThat(orders.reserve(asUser, request)).isEqualTo(reserved); // a retry books nothing more

    inventory.put(resource.getResourceId(), resource.toBuilder().setPricePerUnitHour(
        cny(99_999)).build()); // SEL-017: later price changes do not touch the order
    Order confirmed = orders.confirm(asUser, confirm("k-1", reserved));
    assertThat(confirmed.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_CONFIRMED);
    assertThat(confirmed.getTotalPrice()).isEqualTo(reserved.getTotalPrice());
    assertThat(confirmed.getVersion()).isEqualTo(2);
    assertThat(orders.confirm(asUser, confirm("k-2", reserved))).isEqualTo(confirmed);

    // A closed line keeps its reservations but takes no new ones.
    lines.close(OPERATOR, close("c-1", line));
    assertThat(orders.get(OPERATOR, Identifier.parse(confirmed.getOrderId()))).isEqualTo(confirmed);
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-2", user, resource, 1,
        window(1, 2)).toBuilder().setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(1)
        .build())).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));

    // The provider of the resource may read it; another participant may not.
    CpinIdentity asResourceProvider = CpinIdentity.participant(NODE,
        Identifier.parse(resource.getProviderId()));
    assertThat(orders.get(asResourceProvider, Identifier.parse(confirmed.getOrderId())))
        .isEqualTo(confirmed);
    CpinIdentity stranger = CpinIdentity.participant(NODE,
        approved(ParticipationKind.PARTICIPATION_KIND_USER));
    assertThatThrownBy(() -> orders.get(stranger, Identifier.parse(confirmed.getOrderId())))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.reason())
            .isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    assertThatThrownBy(() -> orders.release(stranger, release("r-0", confirmed)))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.reason())
            .isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));

    // Full (4 units) until the release returns the 3 held ones.
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-3", user, resource, 2,
        window(2, 3)))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    Order released = orders.release(OPERATOR, release("r-1", confirmed));
    assertThat(released.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RELEASED);
    assertThat(released.getReleaseReason()).isEqualTo("no longer needed");
    assertThat(released.hasEndedAt()).isTrue();
    assertThat(orders.release(asUser, release("r-2", confirmed))).isEqualTo(released);
    assertThat(orders.reserve(asUser, reserve("o-4", user, resource, 4, window(2, 3)))
        .getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
    assertThatThrownBy(() -> orders.confirm(asUser, confirm("k-3", released)))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
  }

  @Test
  void capacityIsPerInstantOfTheWindowAndLineBandwidthToo() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(4, 100);
    orders.reserve(asUser, reserve("o-1", user, resource, 3, window(1, 3)));
    orders.reserve(asUser, reserve("o-2", user, resource, 1, window(2, 4)));
    // Hours 1-2 hold 3, 2-3 hold 4, 3-4 hold 1: one more unit fits only from hour 3.
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-3", user, resource, 1,
        window(2.5, 5)))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    assertThat(orders.reserve(asUser, reserve("o-4", user, resource, 3, window(3, 5)))
        .getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);

    DedicatedLine line = lines.open(OPERATOR, line("l-1",
        approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE), 100).toBuilder()
        .setAvailableBandwidthMbps(50).build());
    Resource big = resource(100, 100);
    Order onLine = orders.reserve(asUser, reserve("o-5", user, big, 1, window(1, 2)).toBuilder()
        .setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(40).build());
    // What the line states as available (and selection sees) is what is left of the 50 offered.
    assertThat(lines.get(Identifier.parse(line.getLineId())).getAvailableBandwidthMbps())
        .isEqualTo(10);
    assertThat(lines.openLines()).singleElement()
        .satisfies(l -> assertThat(l.getAvailableBandwidthMbps()).isEqualTo(10));
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-6", user, big, 1, window(1, 2))
        .toBuilder().setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(11).build()))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    // The refused reservation booked no units either.
    assertThat(orders.reserve(asUser, reserve("o-7", user, big, 99, window(1, 2)))
        .getUnitCount()).isEqualTo(99);
    orders.release(asUser, release("r-5", onLine));
    assertThat(lines.openLines()).singleElement()
        .satisfies(l -> assertThat(l.getAvailableBandwidthMbps()).isEqualTo(50));

    inventory.put(resource.getResourceId(), resource.toBuilder()
        .setStatus(ResourceStatus.RESOURCE_STATUS_MAINTENANCE).build());
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-8", user, resource, 1,
        window(6, 7)))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
  }

  @Test
  void anUnconfirmedReservationExpiresUntouchedAndItsCapacityReturns() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(2, 100);
    List<OrderBook.Event> events = new ArrayList<>();
    orders.onEvent((event, order, who) -> events.add(event));
    Order held = orders.reserve(asUser, reserve("o-1", user, resource, 2, window(1, 2))
        .toBuilder().setHold(Durations.fromMinutes(5)).build());
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-2", user, resource, 1,
        window(1, 2)))).isInstanceOf(CpinException.class);

    clock.advance(Duration.ofMinutes(5));
    Order expired = orders.get(asUser, Identifier.parse(held.getOrderId()));
    assertThat(expired.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_EXPIRED);
    assertThat(expired.getEndedAt()).isEqualTo(held.getReservedUntil());
    assertThatThrownBy(() -> orders.confirm(asUser, confirm("k-1", held)))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    assertThatThrownBy(() -> orders.release(asUser, release("r-1", held)))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    assertThat(orders.reserve(asUser, reserve("o-3", user, resource, 2, window(1, 2)))
        .getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
    assertThat(events).containsExactly(OrderBook.Event.RESERVED, OrderBook.Event.EXPIRED,
        OrderBook.Event.RESERVED);
  }

  @Test
  void everyExpiryIsAnnouncedOnceWhenTheSweepFindsItWhateverRewroteTheBookingsBefore() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(4, 100);
    DedicatedLine line = lines.open(OPERATOR, line("l-1",
        approved(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE), 100));
    List<String> expiries = new ArrayList<>();
    orders.onEvent((event, order, who) -> {
      if (event == OrderBook.Event.EXPIRED) {
        expiries.add(order.getOrderId());
      }
    });
    Order withLine = orders.reserve(asUser, reserve("o-a", user, resource, 1, window(1, 2))
        .toBuilder().setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(10)
        .setHold(Durations.fromMinutes(5)).build());
    Order other = orders.reserve(asUser, reserve("o-b", user, resource, 1, window(1, 2))
        .toBuilder().setHold(Durations.fromMinutes(30)).build());
    assertThat(orders.sweepExpired()).isZero();

    clock.advance(Duration.ofMinutes(6));
    // Confirming and releasing rewrite the resource's bookings; the expiry is not lost there.
    orders.confirm(asUser, confirm("k-b", other));
    orders.release(asUser, release("r-b", other));
    assertThat(expiries).isEmpty();
    assertThat(orders.sweepExpired()).isEqualTo(1);
    assertThat(expiries).containsExactly(withLine.getOrderId());
    assertThat(orders.sweepExpired()).isZero();
    orders.reserve(asUser, reserve("o-c", user, resource, 4, window(1, 2)).toBuilder()
        .setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(100).build());
    assertThat(expiries).containsExactly(withLine.getOrderId()); // once, not per booking record
  }

  @Test
  void selectionOffersForAWindowOnlyTheUnitsItsBookingsLeave() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(4, 100);
    orders.reserve(asUser, reserve("o-before", user, resource, 1, window(1, 2)));
    Selector selector = new Selector(NetworkModel.defaults(),
        id -> Optional.ofNullable(inventory.get(id)), List::of, clock, NODE.toString());
    selector.update(resource);
    selector.followBookings(orders); // knows the booking made before it started following
    Order three = orders.reserve(asUser, reserve("o-1", user, resource, 2, window(1, 2)));
    java.util.function.BiFunction<Integer, TimeWindow, List<String>> select = (units, w) ->
        selector.select(SelectResourcesRequest.newBuilder().setConstraints(
            DemandConstraints.newBuilder().setUnitCount(units).setTimeWindow(w)).build(), false)
            .getCandidatesList().stream().map(c -> c.getConstraintChecksList().stream()
                .filter(k -> k.getConstraint().equals("unit_count")).findFirst().orElseThrow()
                .getActualValue()).toList();

    assertThat(select.apply(2, window(1, 2))).isEmpty(); // 3 of 4 booked
    assertThat(select.apply(1, window(1.5, 3))).containsExactly("1");
    assertThat(select.apply(4, window(2, 3))).containsExactly("4"); // after the bookings
    orders.release(asUser, release("r-1", three));
    assertThat(select.apply(3, window(1, 2))).containsExactly("3");
    // Without a window, what the provider states as free now.
    inventory.put(resource.getResourceId(), resource.toBuilder().setCapacity(Capacity
        .newBuilder().setTotalUnits(4).setFreeUnits(0)).build());
    selector.update(inventory.get(resource.getResourceId()));
    assertThat(selector.select(SelectResourcesRequest.newBuilder().setConstraints(
        DemandConstraints.newBuilder().setUnitCount(1)).build(), false).getCandidatesList())
        .isEmpty();
    assertThat(select.apply(3, window(1, 2))).containsExactly("3");
  }

  @Test
  void aHoldOfZeroIsRefused() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, user),
        reserve("o-0", user, resource(1, 100), 1, window(1, 2)).toBuilder()
            .setHold(Durations.fromSeconds(0)).build()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations()
            .stream().map(FieldViolation::field)).containsExactly("hold"));
  }

  @Test
  void onlyUsersAndQualifiedResellersOrderAsThemselves() {
    Resource resource = resource(10, 100);
    Identifier reseller = approved(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    CpinIdentity asReseller = CpinIdentity.participant(NODE, reseller);
    assertThatThrownBy(() -> orders.reserve(asReseller, reserve("o-1", reseller, resource, 1,
        window(1, 2)))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED));
    qualify(reseller);
    assertThat(orders.reserve(asReseller, reserve("o-2", reseller, resource, 1, window(1, 2)))
        .getUserId()).isEqualTo(reseller.toString());

    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, user),
        reserve("o-3", reseller, resource, 1, window(1, 2))))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    Identifier pending = registered(ParticipationKind.PARTICIPATION_KIND_USER);
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, pending),
        reserve("o-4", pending, resource, 1, window(1, 2))))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    Identifier provider = approved(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, provider),
        reserve("o-5", provider, resource, 1, window(1, 2))))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED));
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, user),
        reserve("o-6", user, Resource.newBuilder().setResourceId(Identifier.of(NODE,
            IdentifierKind.RESOURCE, 4242).toString()).build(), 1, window(1, 2))))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.NOT_FOUND));
  }

  @Test
  void theOffersConstraintsApply() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER); // province 44
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(10, 100);
    inventory.put(resource.getResourceId(), resource.toBuilder().setOfferConstraints(
        OfferConstraints.newBuilder().setMinLease(Durations.fromHours(2))
            .setMaxLease(Durations.fromHours(4)).setMinUnits(2)).build());
    for (var rejected : List.of(reserve("o-1", user, resource, 2, window(1, 2)),
        reserve("o-2", user, resource, 2, window(1, 6)),
        reserve("o-3", user, resource, 1, window(1, 3)))) {
      assertThatThrownBy(() -> orders.reserve(asUser, rejected))
          .isInstanceOfSatisfying(CpinException.class,
              e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    }
    assertThat(orders.reserve(asUser, reserve("o-4", user, resource, 2, window(1, 3)))
        .getUnitCount()).isEqualTo(2);

    inventory.put(resource.getResourceId(), resource.toBuilder().setOfferConstraints(
        OfferConstraints.newBuilder().addAllowedUserProvinceCodes("11")).build());
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-5", user, resource, 1,
        window(1, 2)))).isInstanceOf(CpinException.class);
    inventory.put(resource.getResourceId(), resource.toBuilder().setOfferConstraints(
        OfferConstraints.newBuilder().addAllowedUserProvinceCodes("44")
            .setRequiresQualifiedReseller(true)).build());
    assertThatThrownBy(() -> orders.reserve(asUser, reserve("o-6", user, resource, 1,
        window(1, 2)))).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    Identifier reseller = approved(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    qualify(reseller);
    assertThat(orders.reserve(CpinIdentity.participant(NODE, reseller), reserve("o-7", reseller,
        resource, 1, window(1, 2))).getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
  }

  @Test
  void confirmingOrdersTheDemandInTheSameStepAndOnlyOnce() {
    Identifier user = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    CpinIdentity asUser = CpinIdentity.participant(NODE, user);
    Resource resource = resource(10, 100);
    Demand demand = center.demands().submit(asUser, SubmitDemandRequest.newBuilder()
        .setRequestId("d-1").setUserId(user.toString())
        .setConstraints(DemandConstraints.newBuilder().setMinAcceleratorCount(1)).build());
    ReserveOrderRequest forDemand = reserve("o-1", user, resource, 1, window(1, 2)).toBuilder()
        .setDemandId(demand.getDemandId()).build();
    Order first = orders.reserve(asUser, forDemand);
    Order second = orders.reserve(asUser, forDemand.toBuilder().setRequestId("o-2").build());
    Identifier other = approved(ParticipationKind.PARTICIPATION_KIND_USER);
    assertThatThrownBy(() -> orders.reserve(CpinIdentity.participant(NODE, other),
        forDemand.toBuilder().setRequestId("o-3").setUserId(other.toString()).build()))
        .isInstanceOfSatisfying(CpinException.class, e -> assertThat(e.reason())
            .isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));

    Order confirmed = orders.confirm(asUser, confirm("k-1", first));
    Demand ordered = center.demands().get(asUser, Identifier.parse(demand.getDemandId()));
    assertThat(ordered.getStatus()).isEqualTo(DemandStatus.DEMAND_STATUS_ORDERED);
    assertThat(ordered.getOrderId()).isEqualTo(confirmed.getOrderId());
    // A demand has at most one confirmed order; the second stays RESERVED, untouched.
    assertThatThrownBy(() -> orders.confirm(asUser, confirm("k-2", second)))
        .isInstanceOfSatisfying(CpinException.class,
            e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
    assertThat(orders.get(asUser, Identifier.parse(second.getOrderId())).getStatus())
        .isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
    assertThatThrownBy(() -> orders.reserve(asUser, forDemand.toBuilder().setRequestId("o-4")
        .build())).isInstanceOfSatisfying(CpinException.class,
        e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION));
  }

  @Test
  void everyOrderEventGoesToMonitoring() {
    cn.cpin.node.EventLog events = new cn.cpin.node.EventLog(NODE.toString(),
        new java.io.PrintStream(new java.io.ByteArrayOutputStream(), true,
            java.nio.charset.StandardCharsets.UTF_8));
    try (cn.cpin.node.monitoring.MonitoringSpool spool = cn.cpin.node.monitoring.MonitoringSpool
        .open(EmbeddedKeyValueStore.open(dir.resolve("spool.mv")), NODE.toString(), 1 << 20,
            events, clock)) {
      cn.cpin.node.monitoring.MonitoringCollector collector =
          new cn.cpin.node.monitoring.MonitoringCollector(
              cn.cpin.node.monitoring.Indicators.Source.of(NODE), spool, events, clock,
              Duration.ofSeconds(15));
      NodeOrders node = new NodeOrders(new NodeContext(NODE, dir, null, store, null, clock, null),
          issuer, center, lines, id -> Optional.ofNullable(inventory.get(id)));
      node.reportTo(collector);
      Identifier buyer = approved(ParticipationKind.PARTICIPATION_KIND_USER);
      CpinIdentity asBuyer = CpinIdentity.participant(NODE, buyer);
      Resource resource = resource(4, 500);
      Order first = node.orders().reserve(asBuyer, reserve("o-1", buyer, resource, 2,
          window(1, 3)));
      node.orders().confirm(asBuyer, confirm("k-1", first));
      Order second = node.orders().reserve(asBuyer, reserve("o-2", buyer, resource, 1,
          window(1, 2)));
      node.orders().release(asBuyer, release("r-1", second));
      // An industry node's resource in this (regional) node's view is booked at its own node.
      Resource remote = resource(4, 500).toBuilder().setProvenance(
          cn.cpin.aggregation.v1.Provenance.newBuilder().setOriginNodeCode("86.44.C")).build();
      inventory.put(remote.getResourceId(), remote);
      assertThatThrownBy(() -> node.orders().reserve(asBuyer, reserve("o-3", buyer, remote, 1,
          window(1, 2)))).isInstanceOfSatisfying(CpinException.class,
          e -> assertThat(e.kind()).isEqualTo(CpinException.Kind.NOT_FOUND));
      collector.flush();

      Map<String, Double> counted = new java.util.TreeMap<>();
      for (long s = spool.acknowledgedSequence() + 1; s <= spool.lastSequence(); s++) {
        for (var p : spool.batch(s).orElseThrow().getDataPointsList()) {
          if (p.hasCounter()) {
            if (p.getIndicator().equals(cn.cpin.node.monitoring.Indicators.ORDER_EVENTS)) {
              assertThat(p.getCategory()).isEqualTo(
                  cn.cpin.monitoring.v1.MonitoringCategory.MONITORING_CATEGORY_SCHEDULING_BUSINESS);
            }
            counted.merge(p.getIndicator() + p.getAttributesMap(), p.getCounter().getValue(),
                Double::sum);
          }
        }
      }
      assertThat(counted).containsEntry("scheduling.orders{event=RESERVED}", 2.0)
          .containsEntry("scheduling.orders{event=CONFIRMED}", 1.0)
          .containsEntry("scheduling.orders{event=RELEASED}", 1.0)
          .containsEntry("platform.orders.confirmed{}", 1.0)
          .containsEntry("platform.orders.value_minor_units{}", 2.0 * 2 * 500)
          .doesNotContainKey("application.orders.confirmed{}"); // a user, not an application
    }
  }

  /**
   * SEL-015 under contention: many threads, through two books sharing one store (as replicas
   * do), reserve, confirm and release random windows of few resources. Afterwards no instant of
   * any resource holds more than its total units in RESERVED (unexpired) and CONFIRMED orders,
   * and every reservation that was refused really lacked room when it was checked (some are).
   */
  @Test
  void concurrentReservationsOnReplicasNeverOverCommit() throws Exception {
    List<Identifier> users = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      users.add(approved(ParticipationKind.PARTICIPATION_KIND_USER));
    }
    List<Resource> resources = List.of(resource(5, 100), resource(8, 100));
    OrderBook[] replicas = {orders, replica()};
    int threads = 8;
    int perThread = 40;
    ConcurrentLinkedQueue<Order> placed = new ConcurrentLinkedQueue<>();
    AtomicInteger refused = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      done.add(pool.submit(() -> {
        Random random = new Random(7919L * thread + 1);
        OrderBook book = replicas[thread % 2];
        go.await();
        for (int i = 0; i < perThread; i++) {
          Identifier user = users.get(random.nextInt(users.size()));
          CpinIdentity as = CpinIdentity.participant(NODE, user);
          Resource r = resources.get(random.nextInt(resources.size()));
          double from = 1 + random.nextInt(6);
          try {
            Order o = book.reserve(as, reserve("t" + thread + "-" + i, user, r,
                1 + random.nextInt(3), window(from, from + 1 + random.nextInt(3))));
            placed.add(o);
            int action = random.nextInt(3);
            if (action == 0) {
              book.confirm(as, confirm("k" + thread + "-" + i, o));
            } else if (action == 1) {
              book.release(as, release("r" + thread + "-" + i, o));
            }
          } catch (CpinException e) {
            assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION);
            refused.incrementAndGet();
          }
        }
        return null;
      }));
    }
    // While they run, the booking records as readers see them never hold more than capacity.
    java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
    AtomicLong samples = new AtomicLong();
    Future<?> sampler = Executors.newSingleThreadExecutor().submit(() -> {
      while (running.get()) {
        for (Resource r : resources) {
          Bookings live = store.get("sel/booking/resource/" + r.getResourceId())
              .map(Bookings::parse).orElse(Bookings.NONE).live(clock.millis());
          assertThat(live.peak(Long.MIN_VALUE, Long.MAX_VALUE))
              .isLessThanOrEqualTo(r.getCapacity().getTotalUnits());
          samples.incrementAndGet();
        }
      }
      return null;
    });
    go.countDown();
    for (Future<?> f : done) {
      f.get(2, TimeUnit.MINUTES);
    }
    pool.shutdown();
    running.set(false);
    sampler.get(1, TimeUnit.MINUTES);
    assertThat(samples.get()).isPositive();
    assertThat(refused.get()).isPositive(); // contention did hit the capacity
    assertThat(placed).isNotEmpty();
    for (Resource r : resources) {
      TreeMap<Long, Long> level = new TreeMap<>();
      for (Order placedOrder : placed) {
        Order o = orders.get(OPERATOR, Identifier.parse(placedOrder.getOrderId()));
        if (!o.getResourceId().equals(r.getResourceId())
            || o.getStatus() != OrderStatus.ORDER_STATUS_RESERVED
            && o.getStatus() != OrderStatus.ORDER_STATUS_CONFIRMED) {
          continue;
        }
        level.merge(Timestamps.toMillis(o.getTimeWindow().getStartTime()),
            (long) o.getUnitCount(), Long::sum);
        level.merge(Timestamps.toMillis(o.getTimeWindow().getEndTime()),
            (long) -o.getUnitCount(), Long::sum);
      }
      long held = 0;
      long peak = 0;
      for (long delta : level.values()) {
        held += delta;
        peak = Math.max(peak, held);
      }
      assertThat(peak).as("peak units held on %s", r.getResourceId())
          .isLessThanOrEqualTo(r.getCapacity().getTotalUnits()).isPositive();
    }
  }

  // --- helpers ---------------------------------------------------------------------------------

  private Resource resource(int units, long pricePerUnitHour) {
    Identifier provider = approved(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    Resource r = Resource.newBuilder()
        .setResourceId(Identifier.of(NODE, IdentifierKind.RESOURCE,
            serials.incrementAndGet()).toString())
        .setProviderId(provider.toString())
        .setSite(Site.newBuilder().setProvinceCode("44"))
        .setPricePerUnitHour(cny(pricePerUnitHour))
        .setCapacity(Capacity.newBuilder().setTotalUnits(units).setFreeUnits(units))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build();
    inventory.put(r.getResourceId(), r);
    return r;
  }

  private static Money cny(long fen) {
    return Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(fen).build();
  }

  // A window from `from` to `to` hours after the test's start.
  private static TimeWindow window(double from, double to) {
    return TimeWindow.newBuilder()
        .setStartTime(Timestamps.fromMillis(START.toEpochMilli() + (long) (from * 3_600_000)))
        .setEndTime(Timestamps.fromMillis(START.toEpochMilli() + (long) (to * 3_600_000)))
        .build();
  }

  private static ReserveOrderRequest reserve(String requestId, Identifier user, Resource r,
      int units, TimeWindow window) {
    return ReserveOrderRequest.newBuilder().setRequestId(requestId).setUserId(user.toString())
        .setResourceId(r.getResourceId()).setUnitCount(units).setTimeWindow(window).build();
  }

  private static ConfirmOrderRequest confirm(String requestId, Order o) {
    return ConfirmOrderRequest.newBuilder().setRequestId(requestId).setOrderId(o.getOrderId())
        .build();
  }

  private static ReleaseOrderRequest release(String requestId, Order o) {
    return ReleaseOrderRequest.newBuilder().setRequestId(requestId).setOrderId(o.getOrderId())
        .setReason("no longer needed").build();
  }

  private static OpenDedicatedLineRequest line(String requestId, Identifier provider,
      int mbps) {
    return OpenDedicatedLineRequest.newBuilder().setRequestId(requestId)
        .setProviderId(provider.toString())
        .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("11").setSiteName("Beijing PoP"))
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("44").setSiteName("Shaoguan"))
        .setBandwidthMbps(mbps).setLatency(Durations.fromMillis(12))
        .setPricePerMbpsHour(cny(30)).build();
  }

  private static CloseDedicatedLineRequest close(String requestId, DedicatedLine line) {
    return CloseDedicatedLineRequest.newBuilder().setRequestId(requestId)
        .setLineId(line.getLineId()).setReason("test").build();
  }

  private Identifier registered(ParticipationKind kind) {
    String first17 = String.format("91440300MA%07d", companies.incrementAndGet());
    String requestId = "p-" + first17;
    return Identifier.parse(center.participants().register(OPERATOR,
        RegisterParticipantRequest.newBuilder().setRequestId(requestId)
            .setOrganization(Organization.newBuilder()
                .setCreditCode(first17 + CreditCode.checkCharacter(first17))
                .setProvinceCode("44"))
            .setDisplayName("Example " + requestId).addKinds(kind)
            .addContacts(Contact.newBuilder().setName("Li Na"))
            .setTelecomLicenceNumber("B1-20260001").build()).getParticipantId());
  }

  private Identifier approved(ParticipationKind kind) {
    Identifier id = registered(kind);
    center.participants().change(OPERATOR, ParticipantRegistry.Transition.APPROVE, id, "",
        "a-" + id, ApproveParticipantRequest.newBuilder().setRequestId("a-" + id).build());
    return id;
  }

  private void qualify(Identifier reseller) {
    for (QualificationBook.Step step : List.of(QualificationBook.Step.APPLY,
        QualificationBook.Step.GRANT)) {
      String id = "q-" + step + "-" + reseller;
      center.qualifications().change(step == QualificationBook.Step.APPLY
              ? CpinIdentity.participant(NODE, reseller) : OPERATOR, step, reseller,
          QualificationType.QUALIFICATION_TYPE_RESALE,
          new QualificationBook.Details("", "evidence", Optional.empty()), id,
          ApproveParticipantRequest.newBuilder().setRequestId(id).build());
    }
  }
}
