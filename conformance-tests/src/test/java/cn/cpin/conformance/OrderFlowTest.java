package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.conformance.federation.FederationParticipants;
import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.provider.ProviderClient;
import cn.cpin.selection.v1.ConfirmOrderRequest;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineServiceGrpc;
import cn.cpin.selection.v1.GetOrderRequest;
import cn.cpin.selection.v1.LineEndpoint;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.selection.v1.Order;
import cn.cpin.selection.v1.OrderServiceGrpc;
import cn.cpin.selection.v1.OrderStatus;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.servicecenter.v1.ApplyQualificationRequest;
import cn.cpin.servicecenter.v1.GrantQualificationRequest;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationType;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dedicated lines and orders at the running industry node 86.44.C over mutual TLS: a provider
 * publishes a resource through the standard interface, a line provider opens a line to it, users
 * reserve, confirm and release, concurrent reservations never take more units than exist, and a
 * reseller cannot order ("dispatch") until its qualification is granted (issue 5's gate).
 */
class OrderFlowTest {
  private static final String INDUSTRY = "86.44.C";
  private static final int UNITS = 4;

  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static FederationParticipants participants;
  private static ManagedChannel operator;
  private static String resourceId;
  private static FederationParticipants.Enrolled provider;
  private static ProviderClient publisher;

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
    participants = new FederationParticipants(federation, "RD");
    operator = participants.operator(INDUSTRY);
    provider = participants.enroll(INDUSTRY,
        ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
    publisher = new ProviderClient(provider.channel(), provider.id());
    publisher.connect().get(30, TimeUnit.SECONDS);
    var ack = publisher.snapshot(List.of(Resource.newBuilder()
        .setLocalKey("order-flow-gpu-1")
        .setComputeKind(ComputeKind.COMPUTE_KIND_GENERAL)
        .setDisplayName("Order flow CPU pool")
        .setSite(Site.newBuilder().setSiteName("Shaoguan DC1").setProvinceCode("44"))
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(2500))
        .setCapacity(Capacity.newBuilder().setTotalUnits(UNITS).setFreeUnits(UNITS))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build())).get(30, TimeUnit.SECONDS);
    assertThat(ack.getStatus()).isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    resourceId = publisher.resourceId("order-flow-gpu-1");
    assertThat(resourceId).startsWith(INDUSTRY + "/R-");
  }

  @AfterAll
  static void stop() {
    if (publisher != null) {
      publisher.close();
    }
    if (participants != null) {
      participants.close();
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void lineAndOrderLifecycleWithoutOverCommit() throws Exception {
    var lineProvider = participants.enroll(INDUSTRY,
        ParticipationKind.PARTICIPATION_KIND_DEDICATED_LINE);
    DedicatedLine line = DedicatedLineServiceGrpc.newBlockingStub(lineProvider.channel())
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .openDedicatedLine(OpenDedicatedLineRequest.newBuilder().setRequestId("flow-line-1")
            .setProviderId(lineProvider.id())
            .setEndpointA(LineEndpoint.newBuilder().setProvinceCode("11").setSiteName("Beijing"))
            .setEndpointZ(LineEndpoint.newBuilder().setProvinceCode("44")
                .setResourceId(resourceId))
            .setBandwidthMbps(1000).setLatency(Durations.fromMillis(15))
            .setPricePerMbpsHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(2))
            .build()).getLine();
    assertThat(line.getLineId()).startsWith(INDUSTRY + "/L-");

    var asUser = participants.enroll(INDUSTRY, ParticipationKind.PARTICIPATION_KIND_USER);
    String userId = asUser.id();
    ManagedChannel user = asUser.channel();
    TimeWindow window = window(1, 3);
    // Bad input names every bad field (SEL-014).
    assertThatThrownBy(() -> orders(user).reserveOrder(reserve("flow-bad", userId, 0,
        TimeWindow.newBuilder().setStartTime(Timestamps.fromMillis(System.currentTimeMillis()
            - 3_600_000)).setEndTime(window.getEndTime()).build()).toBuilder()
        .setHold(Durations.fromHours(2)).build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
          assertThat(e.getStatus().getDescription()).contains("unit_count", "hold",
              "time_window.start_time");
        });

    Order reserved = orders(user).reserveOrder(reserve("flow-o-1", userId, 3, window)
        .toBuilder().setDedicatedLineId(line.getLineId()).setLineBandwidthMbps(100).build())
        .getOrder();
    assertThat(reserved.getOrderId()).startsWith(INDUSTRY + "/O-");
    assertThat(reserved.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
    // 2 h × 3 units × 25.00 + 100 Mbit/s × 2 h × 0.02
    assertThat(reserved.getTotalPrice().getMinorUnits()).isEqualTo(2 * 3 * 2500 + 100 * 2 * 2);

    // A second user cannot take what is held: one unit is left.
    var asOther = participants.enroll(INDUSTRY, ParticipationKind.PARTICIPATION_KIND_USER);
    String otherId = asOther.id();
    ManagedChannel other = asOther.channel();
    assertCode(() -> orders(other).reserveOrder(reserve("flow-o-2", otherId, 2, window)),
        Status.Code.FAILED_PRECONDITION);
    assertCode(() -> orders(other).getOrder(GetOrderRequest.newBuilder()
        .setOrderId(reserved.getOrderId()).build()), Status.Code.PERMISSION_DENIED);
    assertThat(orders(provider.channel()).getOrder(GetOrderRequest.newBuilder()
        .setOrderId(reserved.getOrderId()).build()).getOrder().getUserId()).isEqualTo(userId);

    Order confirmed = orders(user).confirmOrder(ConfirmOrderRequest.newBuilder()
        .setRequestId("flow-k-1").setOrderId(reserved.getOrderId()).build()).getOrder();
    assertThat(confirmed.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_CONFIRMED);
    Order released = OrderServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .releaseOrder(ReleaseOrderRequest.newBuilder().setRequestId("flow-r-1")
            .setOrderId(reserved.getOrderId()).setReason("operator test").build()).getOrder();
    assertThat(released.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RELEASED);

    // SEL-015 over the wire: 12 concurrent one-unit reservations of the same window, 4 units.
    TimeWindow contested = window(5, 6);
    ExecutorService pool = Executors.newFixedThreadPool(6);
    ConcurrentLinkedQueue<Status.Code> outcomes = new ConcurrentLinkedQueue<>();
    CountDownLatch go = new CountDownLatch(1);
    List<Future<?>> done = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      int n = i;
      done.add(pool.submit(() -> {
        go.await();
        try {
          orders(n % 2 == 0 ? user : other).reserveOrder(reserve("flow-c-" + n,
              n % 2 == 0 ? userId : otherId, 1, contested));
          outcomes.add(Status.Code.OK);
        } catch (StatusRuntimeException e) {
          outcomes.add(e.getStatus().getCode());
        }
        return null;
      }));
    }
    go.countDown();
    for (Future<?> f : done) {
      f.get(60, TimeUnit.SECONDS);
    }
    pool.shutdown();
    assertThat(outcomes.stream().filter(c -> c == Status.Code.OK).count()).isEqualTo(UNITS);
    assertThat(outcomes.stream().filter(c -> c == Status.Code.FAILED_PRECONDITION).count())
        .isEqualTo(12 - UNITS);
  }

  @Test
  void aResellerCannotDispatchUntilQualified() throws Exception {
    var asReseller = participants.enroll(INDUSTRY,
        ParticipationKind.PARTICIPATION_KIND_RESALE_SCHEDULING);
    String resellerId = asReseller.id();
    ManagedChannel reseller = asReseller.channel();
    ReserveOrderRequest request = reserve("flow-reseller-o-1", resellerId, 1, window(8, 9));
    assertCode(() -> orders(reseller).reserveOrder(request), Status.Code.PERMISSION_DENIED);
    QualificationServiceGrpc.newBlockingStub(reseller).withDeadlineAfter(20, TimeUnit.SECONDS)
        .applyQualification(ApplyQualificationRequest.newBuilder()
            .setRequestId("flow-reseller-apply").setParticipantId(resellerId)
            .setType(QualificationType.QUALIFICATION_TYPE_RESALE)
            .setEvidenceReference("licence B1-20260001").build());
    assertCode(() -> orders(reseller).reserveOrder(request), Status.Code.PERMISSION_DENIED);
    QualificationServiceGrpc.newBlockingStub(operator).withDeadlineAfter(20, TimeUnit.SECONDS)
        .grantQualification(GrantQualificationRequest.newBuilder()
            .setRequestId("flow-reseller-grant").setParticipantId(resellerId)
            .setType(QualificationType.QUALIFICATION_TYPE_RESALE)
            .setReason("documents checked").build());
    Order order = orders(reseller).reserveOrder(request).getOrder();
    assertThat(order.getUserId()).isEqualTo(resellerId);
    assertThat(order.getStatus()).isEqualTo(OrderStatus.ORDER_STATUS_RESERVED);
  }

  private static ReserveOrderRequest reserve(String requestId, String userId, int units,
      TimeWindow window) {
    return ReserveOrderRequest.newBuilder().setRequestId(requestId).setUserId(userId)
        .setResourceId(resourceId).setUnitCount(units).setTimeWindow(window).build();
  }

  // Hours from now, on whole hours so that both tests' windows are stable.
  private static TimeWindow window(int fromHours, int toHours) {
    long base = (System.currentTimeMillis() / 3_600_000 + 1) * 3_600_000;
    return TimeWindow.newBuilder()
        .setStartTime(Timestamps.fromMillis(base + fromHours * 3_600_000L))
        .setEndTime(Timestamps.fromMillis(base + toHours * 3_600_000L)).build();
  }

  private static OrderServiceGrpc.OrderServiceBlockingStub orders(ManagedChannel channel) {
    return OrderServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static void assertCode(Runnable call, Status.Code code) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(code));
  }
}
