package cn.cpin.conformance;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.provider.ProviderClient;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.CloseDedicatedLineRequest;
import cn.cpin.selection.v1.ConfirmOrderRequest;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineServiceGrpc;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.DemandConstraints;
import cn.cpin.selection.v1.GetDedicatedLineRequest;
import cn.cpin.selection.v1.GetOrderRequest;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.ListDedicatedLinesRequest;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.selection.v1.Order;
import cn.cpin.selection.v1.OrderServiceGrpc;
import cn.cpin.selection.v1.OrderStatus;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import cn.cpin.servicecenter.v1.ApplyQualificationRequest;
import cn.cpin.servicecenter.v1.Demand;
import cn.cpin.servicecenter.v1.DemandServiceGrpc;
import cn.cpin.servicecenter.v1.DemandStatus;
import cn.cpin.servicecenter.v1.GetDemandRequest;
import cn.cpin.servicecenter.v1.GrantQualificationRequest;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationType;
import cn.cpin.servicecenter.v1.SubmitDemandRequest;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import com.google.rpc.BadRequest;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Dedicated lines (flow 11) and orders under unified rules (SEL-012 to SEL-021) seen from
 * outside, at a regional or industry node, as its operator and as participants minted by the
 * suite's test CA. Checks that need a resource publish one as a fresh provider through the
 * provider interface (flow 4) and skip if the node does not serve it. Everything the suite
 * registers stays in the node's records: run it against test deployments only.
 */
public abstract class AbstractOrderSuite extends ConformanceSuite {
  private static final long HOUR = 3_600_000L;

  // ---------------------------------------------------------------- dedicated lines

  @Check(requirements = {"SEL-012", "GEN-002"}, title = "OpenDedicatedLine names every bad "
      + "field at once: endpoint provinces, zero bandwidth, non-positive latency, no currency")
  void lineContentRulesAllAtOnce() {
    setUp();
    String provider = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    OpenDedicatedLineRequest bad = line(provider).toBuilder()
        .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("99"))
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("00"))
        .setBandwidthMbps(0).setLatency(Durations.fromMillis(-5))
        .setPricePerMbpsHour(Money.newBuilder().setMinorUnits(3)).build();
    StatusRuntimeException e = expectError("line with five faults", Status.Code.INVALID_ARGUMENT,
        null, () -> lines(asParticipant(provider)).openDedicatedLine(bad));
    Set<String> fields = violations(e).stream().map(BadRequest.FieldViolation::getField)
        .collect(Collectors.toSet());
    for (String field : List.of("endpoint_a.province_code", "endpoint_z.province_code",
        "bandwidth_mbps", "latency")) {
      Assertions.check(fields.contains(field), "no FieldViolation for " + field + " in "
          + fields);
    }
    Assertions.check(fields.stream().anyMatch(f -> f.startsWith("price_per_mbps_hour")),
        "no FieldViolation for price_per_mbps_hour in " + fields);
    expectError("available_bandwidth_mbps above bandwidth_mbps", Status.Code.INVALID_ARGUMENT,
        null, () -> lines(asParticipant(provider)).openDedicatedLine(line(provider).toBuilder()
            .setAvailableBandwidthMbps(1001).build()));
  }

  @Check(requirements = "SEL-012", title = "An approved line provider opens a line of kind L, "
      + "OPEN, version 1, readable and listed at once; a retry returns it; others may not open "
      + "lines for it, nor may a participant that is not a line provider")
  void lineProviderOpensLines() {
    setUp();
    String provider = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    OpenDedicatedLineRequest request = line(provider);
    DedicatedLine line = lines(asParticipant(provider)).openDedicatedLine(request).getLine();
    Identifier id = Identifier.parse(line.getLineId());
    Assertions.equal("line_id kind", IdentifierKind.DEDICATED_LINE, id.kind());
    Assertions.equal("status", DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN, line.getStatus());
    Assertions.equal("version", 1L, line.getVersion());
    Assertions.equal("available_bandwidth_mbps (0 means all)", 1000,
        line.getAvailableBandwidthMbps());
    Assertions.check(line.hasOpenedAt(), "opened_at is not set");
    Assertions.equal("retry with the same request_id", line,
        lines(asParticipant(provider)).openDedicatedLine(request).getLine());
    Assertions.equal("GetDedicatedLine", line, lines(asOperator()).getDedicatedLine(
        GetDedicatedLineRequest.newBuilder().setLineId(line.getLineId()).build()).getLine());
    Assertions.check(lines(asOperator()).listDedicatedLines(ListDedicatedLinesRequest.newBuilder()
            .setProviderId(provider).setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN)
            .build()).getLinesList().contains(line),
        "ListDedicatedLines(provider, OPEN) does not list the new line");
    String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
    expectError("a user opening a line", Status.Code.PERMISSION_DENIED, null,
        () -> lines(asParticipant(user)).openDedicatedLine(line(user)));
    String other = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    expectError("a line provider opening a line for another", Status.Code.PERMISSION_DENIED,
        null, () -> lines(asParticipant(other)).openDedicatedLine(line(provider)));
  }

  @Check(requirements = "SEL-013", title = "CloseDedicatedLine by its owner sets CLOSED and "
      + "closed_at; closing again returns it unchanged; another participant may not close it")
  void ownerClosesLine() {
    setUp();
    String provider = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    DedicatedLine line = lines(asParticipant(provider)).openDedicatedLine(line(provider)).getLine();
    String other = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    expectError("closing another provider's line", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> lines(asParticipant(other)).closeDedicatedLine(close(line)));
    DedicatedLine closed = lines(asParticipant(provider)).closeDedicatedLine(close(line)).getLine();
    Assertions.equal("status", DedicatedLineStatus.DEDICATED_LINE_STATUS_CLOSED,
        closed.getStatus());
    Assertions.check(closed.hasClosedAt(), "closed_at is not set");
    Assertions.equal("closing again (new request_id)", closed,
        lines(asOperator()).closeDedicatedLine(close(line)).getLine());
    Assertions.check(!lines(asOperator()).listDedicatedLines(ListDedicatedLinesRequest.newBuilder()
            .setProviderId(provider).setStatus(DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN)
            .build()).getLinesList().stream().anyMatch(l -> l.getLineId()
            .equals(line.getLineId())), "a closed line is still listed as OPEN");
  }

  // ---------------------------------------------------------------- orders

  @Check(requirements = {"SEL-014", "GEN-002"}, title = "ReserveOrder names every bad field at "
      + "once: unit_count 0, a window starting in the past, hold over 1 hour (or 0), a line "
      + "without bandwidth")
  void reservationContentRulesAllAtOnce() {
    setUp();
    String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
    long now = System.currentTimeMillis();
    ReserveOrderRequest bad = ReserveOrderRequest.newBuilder().setRequestId(freshRequestId())
        .setUserId(user)
        .setResourceId(Identifier.of(target().nodeCode(), IdentifierKind.RESOURCE, 1).toString())
        .setUnitCount(0)
        .setTimeWindow(TimeWindow.newBuilder().setStartTime(Timestamps.fromMillis(now - HOUR))
            .setEndTime(Timestamps.fromMillis(now + HOUR)))
        .setHold(Durations.fromMinutes(61))
        .setDedicatedLineId(Identifier.of(target().nodeCode(), IdentifierKind.DEDICATED_LINE, 1)
            .toString())
        .build();
    StatusRuntimeException e = expectError("reservation with four faults",
        Status.Code.INVALID_ARGUMENT, null, () -> orders(asParticipant(user)).reserveOrder(bad));
    Set<String> fields = violations(e).stream().map(BadRequest.FieldViolation::getField)
        .collect(Collectors.toSet());
    for (String field : List.of("unit_count", "hold", "line_bandwidth_mbps")) {
      Assertions.check(fields.contains(field), "no FieldViolation for " + field + " in "
          + fields);
    }
    Assertions.check(fields.stream().anyMatch(f -> f.startsWith("time_window")),
        "no FieldViolation for time_window in " + fields);
    expectError("a window that ends before it starts", Status.Code.INVALID_ARGUMENT, null,
        () -> orders(asParticipant(user)).reserveOrder(bad.toBuilder().setUnitCount(1).clearHold()
            .setLineBandwidthMbps(1).setTimeWindow(window(3, 2)).build()));
    StatusRuntimeException zero = expectError("a hold of zero", Status.Code.INVALID_ARGUMENT,
        null, () -> orders(asParticipant(user)).reserveOrder(bad.toBuilder().setUnitCount(1)
            .setHold(Durations.fromSeconds(0)).setLineBandwidthMbps(1)
            .setTimeWindow(window(2, 3)).build()));
    Assertions.check(violations(zero).stream().anyMatch(v -> v.getField().equals("hold")),
        "no FieldViolation for hold 0 in " + violations(zero));
  }

  @Check(requirements = {"SEL-015", "SEL-017", "SEL-020", "SEL-021"}, title = "Reservations "
      + "never over-commit (also concurrent ones); the price is fixed at reservation; a release "
      + "returns the capacity; GetOrder for the user and the resource's provider only")
  void reservationsNeverOverCommit() throws Exception {
    setUp();
    try (Offer offer = publish(3, 1250, OfferConstraints.getDefaultInstance())) {
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      String other = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      TimeWindow window = window(1, 3.5); // bills 3 hours
      Order held = orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 2, window))
          .getOrder();
      Assertions.equal("status", OrderStatus.ORDER_STATUS_RESERVED, held.getStatus());
      Assertions.equal("order_id kind", IdentifierKind.ORDER,
          Identifier.parse(held.getOrderId()).kind());
      Assertions.equal("total_price (2 units × 3 h × 1250)", 2L * 3 * 1250,
          held.getTotalPrice().getMinorUnits());
      expectError("2 more units of 3 while 2 are held", Status.Code.FAILED_PRECONDITION, null,
          () -> orders(asParticipant(other)).reserveOrder(reserve(other, offer.resourceId, 2, window)));
      // Concurrent: 6 one-unit reservations for the remaining unit; exactly one may win.
      ExecutorService pool = Executors.newFixedThreadPool(6);
      List<CompletableFuture<Status.Code>> outcomes = new ArrayList<>();
      try {
        for (int i = 0; i < 6; i++) {
          outcomes.add(CompletableFuture.supplyAsync(() -> {
            try {
              orders(asParticipant(other)).reserveOrder(reserve(other, offer.resourceId, 1, window));
              return Status.Code.OK;
            } catch (StatusRuntimeException e) {
              return e.getStatus().getCode();
            }
          }, pool));
        }
        List<Status.Code> codes = new ArrayList<>();
        for (CompletableFuture<Status.Code> f : outcomes) {
          codes.add(f.get(deadlineMillis() * 2, MILLIS));
        }
        Assertions.equal("concurrent one-unit reservations granted (1 unit left) in " + codes,
            1L, codes.stream().filter(c -> c == Status.Code.OK).count());
        Assertions.check(codes.stream().allMatch(c -> c == Status.Code.OK
            || c == Status.Code.FAILED_PRECONDITION), "refusals other than FAILED_PRECONDITION: "
            + codes);
      } finally {
        pool.shutdownNow();
      }
      String stranger = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      expectError("GetOrder by another participant", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
          () -> orders(asParticipant(stranger)).getOrder(GetOrderRequest.newBuilder()
              .setOrderId(held.getOrderId()).build()));
      Assertions.equal("GetOrder by the resource's provider", held.getOrderId(),
          orders(asParticipant(offer.providerId)).getOrder(GetOrderRequest.newBuilder()
              .setOrderId(held.getOrderId()).build()).getOrder().getOrderId());
      expectError("ReleaseOrder by another participant", Status.Code.PERMISSION_DENIED,
          "NOT_OWNER", () -> orders(asParticipant(stranger)).releaseOrder(release(held)));
      Order released = orders(asParticipant(user)).releaseOrder(release(held)).getOrder();
      Assertions.equal("status", OrderStatus.ORDER_STATUS_RELEASED, released.getStatus());
      Assertions.check(released.hasEndedAt(), "ended_at is not set on release");
      Assertions.equal("release_reason", "conformance", released.getReleaseReason());
      Assertions.equal("releasing again", released,
          orders(asParticipant(user)).releaseOrder(release(held)).getOrder());
      Assertions.equal("status after the release returned 2 units",
          OrderStatus.ORDER_STATUS_RESERVED, orders(asParticipant(other)).reserveOrder(
              reserve(other, offer.resourceId, 2, window)).getOrder().getStatus());
    }
  }

  @Check(requirements = "SEL-016", title = "An unconfirmed reservation expires at reserved_until "
      + "without anyone touching it; it cannot be confirmed and its capacity returns")
  void reservationsExpire() throws Exception {
    setUp();
    try (Offer offer = publish(1, 100, OfferConstraints.getDefaultInstance())) {
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      TimeWindow window = window(2, 3);
      Order held = orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 1, window)
          .toBuilder().setHold(Durations.fromMillis(1500)).build()).getOrder();
      Assertions.equal("reserved_until − created_at", 1500L, Timestamps.toMillis(
          held.getReservedUntil()) - Timestamps.toMillis(held.getCreatedAt()));
      Thread.sleep(2000);
      Order expired = orders(asParticipant(user)).getOrder(GetOrderRequest.newBuilder()
          .setOrderId(held.getOrderId()).build()).getOrder();
      Assertions.equal("status after reserved_until", OrderStatus.ORDER_STATUS_EXPIRED,
          expired.getStatus());
      Assertions.check(expired.hasEndedAt(), "ended_at is not set on an expired order");
      expectError("confirming an expired order", Status.Code.FAILED_PRECONDITION, null,
          () -> orders(asParticipant(user)).confirmOrder(confirm(held)));
      Assertions.equal("the unit is free again", OrderStatus.ORDER_STATUS_RESERVED,
          orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 1, window)).getOrder()
              .getStatus());
    }
  }

  @Check(requirements = {"SEL-001", "SEL-015"}, title = "A demand with a time window is offered "
      + "only the units that the node's reservations leave free in that window")
  void selectionOffersTheUnitsReservationsLeave() throws Exception {
    setUp();
    requireService(SelectionServiceGrpc.SERVICE_NAME);
    try (Offer offer = publish(3, 100, OfferConstraints.getDefaultInstance())) {
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      TimeWindow held = window(1, 3);
      orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 2, held));
      Assertions.equal("candidates for 2 units while 2 of 3 are held in the window", List.of(),
          candidates(offer, 2, held));
      Assertions.equal("candidates for 1 unit in the same window", List.of(offer.resourceId),
          candidates(offer, 1, held));
      Assertions.equal("candidates for 2 units in a window overlapping the held one by an hour",
          List.of(), candidates(offer, 2, window(2, 4)));
      Assertions.equal("candidates for 3 units in a window after the held one",
          List.of(offer.resourceId), candidates(offer, 3, window(3.5, 5)));
    }
  }

  // The resources a demand for `units` of the offer in `window` gets: the offer's accelerator
  // model is its own, so no other resource of the node can match.
  private List<String> candidates(Offer offer, int units, TimeWindow window) {
    return SelectionServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .selectResources(SelectResourcesRequest.newBuilder().setConstraints(
            DemandConstraints.newBuilder().setComputeKind(ComputeKind.COMPUTE_KIND_GENERAL)
                .setAcceleratorModel(offer.model).setUnitCount(units).setTimeWindow(window))
            .build())
        .getCandidatesList().stream().map(Candidate::getResourceId).toList();
  }

  @Check(requirements = "SEL-018", title = "ReserveOrder applies the offer's constraints "
      + "(min_units, lease length) with FAILED_PRECONDITION")
  void offerConstraintsApply() throws Exception {
    setUp();
    try (Offer offer = publish(10, 100, OfferConstraints.newBuilder().setMinUnits(2)
        .setMaxLease(Durations.fromHours(2)).build())) {
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      expectError("1 unit where min_units is 2", Status.Code.FAILED_PRECONDITION, null,
          () -> orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 1, window(1, 2))));
      expectError("a 3-hour window where max_lease is 2 hours", Status.Code.FAILED_PRECONDITION,
          null, () -> orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 2,
              window(1, 4))));
      Assertions.equal("2 units for 2 hours", OrderStatus.ORDER_STATUS_RESERVED,
          orders(asParticipant(user)).reserveOrder(reserve(user, offer.resourceId, 2, window(1, 3)))
              .getOrder().getStatus());
    }
  }

  @Check(requirements = {"SEL-019", "SEL-016"}, title = "Confirming an order for a demand sets "
      + "the demand ORDERED with the order's id; a second order cannot be confirmed for it; "
      + "confirming twice returns the order unchanged")
  void confirmingOrdersTheDemand() throws Exception {
    setUp();
    requireService(DemandServiceGrpc.SERVICE_NAME);
    try (Offer offer = publish(4, 100, OfferConstraints.getDefaultInstance())) {
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      Demand demand = DemandServiceGrpc.newBlockingStub(asParticipant(user))
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .submitDemand(SubmitDemandRequest.newBuilder().setRequestId(freshRequestId())
              .setUserId(user).setTitle("conformance order demand")
              .setConstraints(DemandConstraints.newBuilder().setMinCpuCores(1)).build())
          .getDemand();
      ReserveOrderRequest forDemand = reserve(user, offer.resourceId, 1, window(1, 2))
          .toBuilder().setDemandId(demand.getDemandId()).build();
      Order first = orders(asParticipant(user)).reserveOrder(forDemand).getOrder();
      Order second = orders(asParticipant(user)).reserveOrder(forDemand.toBuilder()
          .setRequestId(freshRequestId()).build()).getOrder();
      Order confirmed = orders(asParticipant(user)).confirmOrder(confirm(first)).getOrder();
      Assertions.equal("status", OrderStatus.ORDER_STATUS_CONFIRMED, confirmed.getStatus());
      Assertions.equal("confirming again", confirmed,
          orders(asParticipant(user)).confirmOrder(confirm(first)).getOrder());
      Demand ordered = DemandServiceGrpc.newBlockingStub(asParticipant(user))
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .getDemand(GetDemandRequest.newBuilder().setDemandId(demand.getDemandId()).build())
          .getDemand();
      Assertions.equal("demand status", DemandStatus.DEMAND_STATUS_ORDERED, ordered.getStatus());
      Assertions.equal("demand order_id", first.getOrderId(), ordered.getOrderId());
      expectError("confirming a second order for an ORDERED demand",
          Status.Code.FAILED_PRECONDITION, null,
          () -> orders(asParticipant(user)).confirmOrder(confirm(second)));
      String other = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      expectError("ordering for another user's demand", Status.Code.PERMISSION_DENIED, null,
          () -> orders(asParticipant(other)).reserveOrder(forDemand.toBuilder().setRequestId(freshRequestId())
              .setUserId(other).build()));
    }
  }

  @Check(requirements = {"SEL-014", "SVC-010"}, title = "A reseller cannot order until its "
      + "qualification is granted; users order only as themselves")
  void resellerGate() throws Exception {
    setUp();
    requireService(QualificationServiceGrpc.SERVICE_NAME);
    try (Offer offer = publish(4, 100, OfferConstraints.getDefaultInstance())) {
      String reseller = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
      ReserveOrderRequest request = reserve(reseller, offer.resourceId, 1, window(1, 2));
      expectError("an unqualified reseller ordering", Status.Code.PERMISSION_DENIED, null,
          () -> orders(asParticipant(reseller)).reserveOrder(request));
      var qualifications = QualificationServiceGrpc.newBlockingStub(asOperator())
          .withDeadlineAfter(deadlineMillis(), MILLIS);
      QualificationServiceGrpc.newBlockingStub(asParticipant(reseller))
          .withDeadlineAfter(deadlineMillis(), MILLIS)
          .applyQualification(ApplyQualificationRequest.newBuilder().setRequestId(freshRequestId())
              .setParticipantId(reseller).setType(QualificationType.QUALIFICATION_TYPE_RESALE)
              .setEvidenceReference("conformance evidence").build());
      expectError("a reseller with a PENDING qualification ordering",
          Status.Code.PERMISSION_DENIED, null, () -> orders(asParticipant(reseller)).reserveOrder(request));
      qualifications.grantQualification(GrantQualificationRequest.newBuilder()
          .setRequestId(freshRequestId()).setParticipantId(reseller)
          .setType(QualificationType.QUALIFICATION_TYPE_RESALE).setReason("conformance")
          .build());
      Assertions.equal("a qualified reseller's order", OrderStatus.ORDER_STATUS_RESERVED,
          orders(asParticipant(reseller)).reserveOrder(request).getOrder().getStatus());
      String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
      expectError("a user ordering as another", Status.Code.PERMISSION_DENIED, null,
          () -> orders(asParticipant(user)).reserveOrder(reserve(reseller, offer.resourceId, 1,
              window(1, 2))));
    }
  }

  // ---------------------------------------------------------------- helpers

  /** A resource published by a fresh provider; closing ends the provider's stream. */
  private final class Offer implements AutoCloseable {
    final String providerId;
    final String resourceId;
    /** An accelerator model name of this offer's own. */
    final String model;
    private final ProviderClient client;

    Offer(String providerId, String resourceId, String model, ProviderClient client) {
      this.providerId = providerId;
      this.resourceId = resourceId;
      this.model = model;
      this.client = client;
    }

    @Override
    public void close() {
      client.close();
    }
  }

  private Offer publish(int units, long pricePerUnitHour, OfferConstraints constraints)
      throws Exception {
    if (!hasService(ProviderInventoryServiceGrpc.SERVICE_NAME)) {
      throw new CheckSkipped("the target does not serve the provider interface, so the suite "
          + "cannot put a resource in its inventory");
    }
    String provider = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER);
    ProviderClient client = new ProviderClient(asParticipant(provider), provider);
    try {
      client.connect().get(deadlineMillis(), MILLIS);
      String localKey = "conformance-" + UUID.randomUUID();
      String model = "conformance-" + UUID.randomUUID().toString().substring(0, 8);
      var ack = client.snapshot(List.of(Resource.newBuilder().setLocalKey(localKey)
          .setComputeKind(ComputeKind.COMPUTE_KIND_GENERAL)
          .setAccelerator(AcceleratorSpec.newBuilder().setModel(model).setCount(1))
          .setDisplayName("Conformance order resource")
          .setSite(Site.newBuilder().setSiteName("Conformance DC").setProvinceCode("11"))
          .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("CNY")
              .setMinorUnits(pricePerUnitHour))
          .setCapacity(Capacity.newBuilder().setTotalUnits(units).setFreeUnits(units))
          .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
          .setOfferConstraints(constraints)
          .build())).get(deadlineMillis(), MILLIS);
      Assertions.equal("publication ack", AckStatus.ACK_STATUS_ACCEPTED, ack.getStatus());
      String id = client.resourceId(localKey);
      Assertions.check(id != null, "the node assigned no resource_id to " + localKey);
      return new Offer(provider, id, model, client);
    } catch (Exception | AssertionError e) {
      client.close();
      throw e;
    }
  }

  private void setUp() {
    requireService(OrderServiceGrpc.SERVICE_NAME);
    requireService(DedicatedLineServiceGrpc.SERVICE_NAME);
    requireService(ParticipantServiceGrpc.SERVICE_NAME);
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the check needs "
          + "operator and participant identities");
    }
  }

  private static OpenDedicatedLineRequest line(String provider) {
    return OpenDedicatedLineRequest.newBuilder().setRequestId(freshRequestId())
        .setProviderId(provider)
        .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("11").setSiteName("Beijing PoP"))
        .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("44").setSiteName("Shaoguan"))
        .setBandwidthMbps(1000).setLatency(Durations.fromMillis(20))
        .setPricePerMbpsHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(3))
        .build();
  }

  private static CloseDedicatedLineRequest close(DedicatedLine line) {
    return CloseDedicatedLineRequest.newBuilder().setRequestId(freshRequestId())
        .setLineId(line.getLineId()).setReason("conformance").build();
  }

  private static ReserveOrderRequest reserve(String user, String resource, int units,
      TimeWindow window) {
    return ReserveOrderRequest.newBuilder().setRequestId(freshRequestId()).setUserId(user)
        .setResourceId(resource).setUnitCount(units).setTimeWindow(window).build();
  }

  private static ConfirmOrderRequest confirm(Order order) {
    return ConfirmOrderRequest.newBuilder().setRequestId(freshRequestId())
        .setOrderId(order.getOrderId()).build();
  }

  private static ReleaseOrderRequest release(Order order) {
    return ReleaseOrderRequest.newBuilder().setRequestId(freshRequestId())
        .setOrderId(order.getOrderId()).setReason("conformance").build();
  }

  // From `from` to `to` hours after the next whole hour.
  private static TimeWindow window(double from, double to) {
    long base = (System.currentTimeMillis() / HOUR + 1) * HOUR;
    return TimeWindow.newBuilder()
        .setStartTime(Timestamps.fromMillis(base + (long) (from * HOUR)))
        .setEndTime(Timestamps.fromMillis(base + (long) (to * HOUR))).build();
  }

  private DedicatedLineServiceGrpc.DedicatedLineServiceBlockingStub lines(
      ManagedChannel channel) {
    return DedicatedLineServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  private OrderServiceGrpc.OrderServiceBlockingStub orders(ManagedChannel channel) {
    return OrderServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMillis(), MILLIS);
  }
}
