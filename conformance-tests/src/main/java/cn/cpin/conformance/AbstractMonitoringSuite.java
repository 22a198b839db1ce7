package cn.cpin.conformance;

import cn.cpin.common.v1.TimeWindow;
import cn.cpin.monitoring.v1.Counter;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.monitoring.v1.GetMarketSummaryRequest;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.monitoring.v1.MonitoringQueryServiceGrpc;
import cn.cpin.monitoring.v1.MonitoringUplinkServiceGrpc;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.monitoring.v1.QueryMonitoringDataResponse;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import com.google.protobuf.util.Timestamps;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * System E seen from outside (MON): the uplink's sequence numbers, acknowledgements, duplicates,
 * gaps, partial success and bad input at a node that receives monitoring data (the national node,
 * a regional node), and the national node's queries.
 *
 * <p>The suite sends as a child node of the target certified by its own test CA (86.11 to the
 * national node, 86.PP.T to regional node 86.PP), on a fresh stream id per check, with points of
 * an indicator unique to the run ({@code platform.conformance.r<random>}). Those points stay in the
 * target's data (and a regional node forwards them to the national node): run the suite against
 * test deployments only.
 */
public abstract class AbstractMonitoringSuite extends ConformanceSuite {
  private final String indicator = "platform.conformance.r"
      + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

  @Check(requirements = {"MON-003", "MON-004"}, title = "ExportMonitoringData acknowledges "
      + "batches 1, 2, 3 of a stream in order, each once stored, none a duplicate")
  void acknowledgesInOrder() throws Exception {
    Uplink uplink = open();
    String stream = newStream();
    for (long seq = 1; seq <= 3; seq++) {
      uplink.send(batch(stream, seq, 2));
    }
    for (long seq = 1; seq <= 3; seq++) {
      ExportMonitoringDataResponse ack = uplink.ack();
      Assertions.equal("acknowledged_sequence_number", seq, ack.getAcknowledgedSequenceNumber());
      Assertions.equal("stream_id", stream, ack.getStreamId());
      Assertions.check(!ack.getDuplicate(), "batch " + seq + " acknowledged as a duplicate");
      Assertions.check(!ack.hasPartialSuccess()
          || ack.getPartialSuccess().getRejectedDataPoints() == 0,
          "valid points rejected: " + ack.getPartialSuccess().getErrorMessage());
    }
    uplink.close();
  }

  @Check(requirements = {"MON-004", "MON-008"}, title = "A batch resent on a new stream is "
      + "acknowledged as duplicate and counted once; the next number is stored")
  void duplicatesCountOnce() throws Exception {
    String stream = newStream();
    Uplink first = open();
    first.send(batch(stream, 1, 3));
    first.send(batch(stream, 2, 3));
    first.ack();
    first.ack();
    first.close();
    Uplink again = open(); // a reconnect: the sender resends what it did not see acknowledged
    again.send(batch(stream, 1, 3));
    again.send(batch(stream, 2, 3));
    again.send(batch(stream, 3, 3));
    ExportMonitoringDataResponse one = again.ack();
    ExportMonitoringDataResponse two = again.ack();
    ExportMonitoringDataResponse three = again.ack();
    Assertions.check(one.getDuplicate() && one.getAcknowledgedSequenceNumber() == 1,
        "batch 1 resent: expected duplicate ack of 1, got " + one);
    Assertions.check(two.getDuplicate() && two.getAcknowledgedSequenceNumber() == 2,
        "batch 2 resent: expected duplicate ack of 2, got " + two);
    Assertions.check(!three.getDuplicate() && three.getAcknowledgedSequenceNumber() == 3,
        "batch 3: expected a new ack of 3, got " + three);
    again.close();
    if (hasService(MonitoringQueryServiceGrpc.SERVICE_NAME)) {
      // At the national node the points are there once: 3 batches of 3.
      QueryMonitoringDataResponse stored = query(QueryMonitoringDataRequest.newBuilder()
          .addSourceNodeCodes(child().toString()).addIndicators(indicator)
          .setTimeWindow(lastHour()).setPageSize(10_000).build());
      long ofStream = stored.getDataPointsList().stream()
          .filter(p -> stream.equals(p.getAttributesMap().get("stream"))).count();
      Assertions.equal("points of the stream stored at the national node", 9L, ofStream);
    }
  }

  @Check(requirements = "MON-004", title = "A sequence number that skips ahead fails the stream "
      + "with FAILED_PRECONDITION naming expected_sequence_number")
  void gapFailsTheStream() throws Exception {
    Uplink uplink = open();
    String stream = newStream();
    uplink.send(batch(stream, 1, 1));
    uplink.ack();
    uplink.send(batch(stream, 3, 1));
    StatusRuntimeException e = uplink.error();
    Assertions.equal("status", Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    Assertions.equal("ErrorInfo metadata expected_sequence_number", "2",
        errorInfo(e).getMetadataMap().get("expected_sequence_number"));
  }

  @Check(requirements = "MON-006", title = "Unacceptable points (no category, counter without "
      + "temporality, negative counter, time 2 h ahead) are counted in partial_success, the rest "
      + "stored, the stream kept")
  void partialSuccess() throws Exception {
    Uplink uplink = open();
    String stream = newStream();
    List<DataPoint> points = new ArrayList<>(batch(stream, 1, 1).getDataPointsList());
    DataPoint good = points.get(0);
    points.add(good.toBuilder().setCategory(MonitoringCategory.MONITORING_CATEGORY_UNSPECIFIED)
        .build());
    points.add(good.toBuilder().setCounter(Counter.newBuilder().setValue(1)).build());
    points.add(good.toBuilder().setCounter(Counter.newBuilder().setValue(-1)
        .setTemporality(CounterTemporality.COUNTER_TEMPORALITY_DELTA)).build());
    points.add(good.toBuilder().setTime(Timestamps.fromMillis(System.currentTimeMillis()
        + TimeUnit.HOURS.toMillis(2))).build());
    uplink.send(batch(stream, 1, 0).toBuilder().addAllDataPoints(points).build());
    ExportMonitoringDataResponse ack = uplink.ack();
    Assertions.equal("acknowledged_sequence_number", 1L, ack.getAcknowledgedSequenceNumber());
    Assertions.equal("partial_success.rejected_data_points", 4L,
        ack.getPartialSuccess().getRejectedDataPoints());
    Assertions.check(ack.getPartialSuccess().getErrorMessage().contains("data_points[1]"),
        "error_message should name the first rejected point, data_points[1]: "
            + ack.getPartialSuccess().getErrorMessage());
    uplink.send(batch(stream, 2, 1));
    Assertions.equal("the stream goes on: ack of batch 2", 2L,
        uplink.ack().getAcknowledgedSequenceNumber());
    uplink.close();
  }

  @Check(requirements = "MON-005", title = "Empty stream_id, sequence_number 0 and a malformed "
      + "source_node_code fail the stream with INVALID_ARGUMENT naming each field")
  void badInput() throws Exception {
    Uplink uplink = open();
    uplink.send(batch("", 0, 1));
    StatusRuntimeException e = uplink.error();
    Assertions.equal("status", Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    List<String> fields = violations(e).stream().map(v -> v.getField()).toList();
    Assertions.check(fields.contains("stream_id") && fields.contains("sequence_number"),
        "BadRequest should name stream_id and sequence_number, got " + fields);

    Uplink second = open();
    ExportMonitoringDataRequest bad = batch(newStream(), 1, 2);
    bad = bad.toBuilder().setDataPoints(1, bad.getDataPoints(1).toBuilder()
        .setSourceNodeCode("86.4X")).build();
    second.send(bad);
    StatusRuntimeException malformed = second.error();
    Assertions.equal("status", Status.Code.INVALID_ARGUMENT, malformed.getStatus().getCode());
    Assertions.check(violations(malformed).stream()
        .anyMatch(v -> v.getField().equals("data_points[1].source_node_code")),
        "BadRequest should name data_points[1].source_node_code, got " + violations(malformed));
  }

  @Check(requirements = "MON-005", title = "A sender other than the caller, a foreign source and "
      + "a caller that is not a child node fail the stream with PERMISSION_DENIED")
  void onlyChildrenForThemselves() throws Exception {
    Uplink uplink = open();
    uplink.send(batch(newStream(), 1, 1).toBuilder()
        .setSenderNodeCode(sibling().toString()).build());
    expectStreamError("sender_node_code not the caller", uplink, Status.Code.PERMISSION_DENIED,
        "NOT_OWNER");

    Uplink foreign = open();
    ExportMonitoringDataRequest batch = batch(newStream(), 1, 1);
    foreign.send(batch.toBuilder().setDataPoints(0, batch.getDataPoints(0).toBuilder()
        .setSourceNodeCode(sibling().toString())).build());
    expectStreamError("a point of another node", foreign, Status.Code.PERMISSION_DENIED,
        "NOT_OWNER");

    Uplink stranger = new Uplink(target().channelAs(CpinIdentity.node(notAChild())));
    stranger.send(batch(newStream(), 1, 1).toBuilder().setSenderNodeCode(notAChild().toString())
        .build());
    expectStreamError("a node that is not a child", stranger, Status.Code.PERMISSION_DENIED,
        "ROLE_NOT_ALLOWED");
  }

  @Check(requirements = {"MON-013", "MON-014"}, title = "The national queries refuse a bad time "
      + "window, a node asking for another node's points and an unknown province")
  void queryRules() {
    requireMutualTls();
    requireService(MonitoringQueryServiceGrpc.SERVICE_NAME);
    long now = System.currentTimeMillis();
    TimeWindow reversed = TimeWindow.newBuilder().setStartTime(Timestamps.fromMillis(now))
        .setEndTime(Timestamps.fromMillis(now - 1000)).build();
    StatusRuntimeException e = expectError("end before start", Status.Code.INVALID_ARGUMENT,
        null, () -> query(QueryMonitoringDataRequest.newBuilder().setTimeWindow(reversed)
            .build()));
    Assertions.check(violations(e).stream().anyMatch(v -> v.getField().startsWith(
        "time_window")), "BadRequest should name time_window, got " + violations(e));
    expectError("a node asks for another node", Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> query(QueryMonitoringDataRequest.newBuilder().addSourceNodeCodes(
            sibling().toString()).setTimeWindow(lastHour()).build()));
    StatusRuntimeException province = expectError("unknown province",
        Status.Code.INVALID_ARGUMENT, null, () -> MonitoringQueryServiceGrpc.newBlockingStub(
            target().channelAs(CpinIdentity.node(child())))
            .withDeadlineAfter(deadlineMillis(), MILLIS).getMarketSummary(
                GetMarketSummaryRequest.newBuilder().setTimeWindow(lastHour())
                    .addProvinceCodes("99").build()));
    Assertions.check(violations(province).stream().anyMatch(v -> v.getField().equals(
        "province_codes[0]")), "BadRequest should name province_codes[0], got "
        + violations(province));
  }

  // ---------------------------------------------------------------- helpers

  /** A child node of the target: 86.11 below the national node, 86.PP.T below 86.PP. */
  private NodeCode child() {
    NodeCode self = target().nodeCode();
    return self.isNational() ? NodeCode.regional("11") : NodeCode.industry(province(self), 'T');
  }

  /** Another child of the target. */
  private NodeCode sibling() {
    NodeCode self = target().nodeCode();
    return self.isNational() ? NodeCode.regional("12") : NodeCode.industry(province(self), 'S');
  }

  /** A node whose parent is not the target. */
  private NodeCode notAChild() {
    NodeCode self = target().nodeCode();
    return self.isNational() ? NodeCode.industry("11", 'T')
        : NodeCode.regional(province(self).equals("11") ? "12" : "11");
  }

  private static String province(NodeCode code) {
    return code.toString().split("\\.")[1];
  }

  private void requireMutualTls() {
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the checks need "
          + "child node identities");
    }
  }

  private Uplink open() {
    requireMutualTls();
    requireService(MonitoringUplinkServiceGrpc.SERVICE_NAME);
    return new Uplink(target().channelAs(CpinIdentity.node(child())));
  }

  private static String newStream() {
    return "conformance-" + UUID.randomUUID();
  }

  private ExportMonitoringDataRequest batch(String stream, long seq, int points) {
    ExportMonitoringDataRequest.Builder b = ExportMonitoringDataRequest.newBuilder()
        .setSenderNodeCode(child().toString()).setStreamId(stream).setSequenceNumber(seq)
        .setCreatedAt(Timestamps.fromMillis(System.currentTimeMillis()));
    NodeCode child = child();
    for (int i = 0; i < points; i++) {
      b.addDataPoints(DataPoint.newBuilder()
          .setIndicator(indicator)
          .setCategory(MonitoringCategory.MONITORING_CATEGORY_PLATFORM_BUSINESS)
          .setSourceNodeCode(child.toString())
          .setTime(Timestamps.fromMillis(System.currentTimeMillis()))
          .setCounter(Counter.newBuilder().setValue(1)
              .setTemporality(CounterTemporality.COUNTER_TEMPORALITY_DELTA))
          .setUnit("1")
          .setProvinceCode(province(child))
          .putAttributes("stream", stream));
    }
    return b.build();
  }

  private QueryMonitoringDataResponse query(QueryMonitoringDataRequest request) {
    return MonitoringQueryServiceGrpc.newBlockingStub(
        target().channelAs(CpinIdentity.node(child())))
        .withDeadlineAfter(deadlineMillis(), MILLIS).queryMonitoringData(request);
  }

  private static TimeWindow lastHour() {
    long now = System.currentTimeMillis();
    return TimeWindow.newBuilder().setStartTime(Timestamps.fromMillis(now - 3_600_000))
        .setEndTime(Timestamps.fromMillis(now + 60_000)).build();
  }

  private static ErrorInfo errorInfo(StatusRuntimeException e) {
    com.google.rpc.Status status = StatusProto.fromThrowable(e);
    if (status != null) {
      for (com.google.protobuf.Any any : status.getDetailsList()) {
        if (any.is(ErrorInfo.class)) {
          try {
            return any.unpack(ErrorInfo.class);
          } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
            break;
          }
        }
      }
    }
    throw new AssertionError("no ErrorInfo in " + describe(e));
  }

  private void expectStreamError(String what, Uplink uplink, Status.Code code, String reason)
      throws InterruptedException {
    StatusRuntimeException e = uplink.error();
    Assertions.check(e.getStatus().getCode() == code && reason.equals(reasonOf(e)),
        what + ": expected " + code + " (" + reason + "), got " + describe(e));
  }

  /** One ExportMonitoringData stream, read synchronously. */
  private final class Uplink {
    private final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    private final StreamObserver<ExportMonitoringDataRequest> out;

    Uplink(ManagedChannel channel) {
      out = MonitoringUplinkServiceGrpc.newStub(channel)
          .withDeadlineAfter(deadlineMillis() * 4, MILLIS)
          .exportMonitoringData(new StreamObserver<>() {
            @Override
            public void onNext(ExportMonitoringDataResponse ack) {
              received.add(ack);
            }

            @Override
            public void onError(Throwable t) {
              received.add(t);
            }

            @Override
            public void onCompleted() {
              received.add("completed");
            }
          });
    }

    void send(ExportMonitoringDataRequest batch) {
      out.onNext(batch);
    }

    ExportMonitoringDataResponse ack() throws InterruptedException {
      Object next = received.poll(deadlineMillis(), MILLIS);
      if (next instanceof ExportMonitoringDataResponse ack) {
        return ack;
      }
      if (next instanceof StatusRuntimeException e) {
        throw new AssertionError("expected an acknowledgement, the stream failed: "
            + describe(e));
      }
      throw new AssertionError("expected an acknowledgement within " + deadlineMillis()
          + " ms, got " + (next == null ? "nothing" : next));
    }

    StatusRuntimeException error() throws InterruptedException {
      Object next = received.poll(deadlineMillis(), MILLIS);
      if (next instanceof Throwable t) {
        return t instanceof StatusRuntimeException e ? e
            : Status.fromThrowable(t).asRuntimeException();
      }
      throw new AssertionError("expected the stream to fail within " + deadlineMillis()
          + " ms, got " + (next == null ? "nothing" : next));
    }

    void close() {
      out.onCompleted();
    }
  }
}
