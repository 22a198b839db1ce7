package cn.cpin.node.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.monitoring.v1.Counter;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.error.ThrottledException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The uplink between a sender's spool and exporter and a receiver (MON-003 to MON-007, MON-009)
 * over an in-process channel, with a receiver store that fails on purpose: every batch arrives
 * exactly once, in order, whatever fails.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class MonitoringUplinkTest {
  private static final NodeCode REGIONAL = NodeCode.parse("86.44");
  private static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  private static final Indicators.Source SOURCE = Indicators.Source.of(INDUSTRY);
  private static final MonitoringExporter.Settings FAST = new MonitoringExporter.Settings(
      Duration.ofMillis(10), Duration.ofMillis(80), Duration.ofMillis(200), 4,
      Duration.ofSeconds(5));

  private static final Instant T0 = Instant.now();

  @TempDir
  Path dir;

  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final EventLog events = new EventLog("test", new PrintStream(log, true,
      StandardCharsets.UTF_8));
  private MonitoringSpool senderSpool;
  private MonitoringSpool receiverSpool;
  private FaultyStore store;
  private Server server;
  private ManagedChannel channel;
  private MonitoringExporter exporter;

  @BeforeEach
  void start() throws Exception {
    senderSpool = MonitoringSpool.open(EmbeddedKeyValueStore.open(dir.resolve("sender.mv")),
        INDUSTRY.toString(), 64 << 20, events, Clock.systemUTC());
    receiverSpool = MonitoringSpool.open(EmbeddedKeyValueStore.open(dir.resolve("relay.mv")),
        REGIONAL.toString(), 64 << 20, events, Clock.systemUTC());
    store = new FaultyStore(new RelayStore(receiverSpool));
    String name = InProcessServerBuilder.generateName();
    server = InProcessServerBuilder.forName(name)
        .addService(new MonitoringUplinkServiceImpl(
            new MonitoringReceiver(REGIONAL, store, Clock.systemUTC())))
        .build().start();
    channel = InProcessChannelBuilder.forName(name).build();
  }

  @AfterEach
  void stop() {
    if (exporter != null) {
      exporter.close();
    }
    channel.shutdownNow();
    server.shutdownNow();
    senderSpool.close();
    receiverSpool.close();
  }

  @Test
  void everyBatchArrivesExactlyOnceThroughFailuresThrottlingAndLostAcks() throws Exception {
    // Before storing: UNAVAILABLE on the 3rd call, THROTTLED (300 ms) on the 6th; after storing
    // durably, the stream dies on the 9th, so its acknowledgement is lost.
    store.failBefore.put(3, () -> new CpinException(CpinException.Kind.UNAVAILABLE,
        ErrorReason.ERROR_REASON_FAILED_PRECONDITION, "injected", Map.of()));
    store.failBefore.put(6, () -> new ThrottledException("injected", Duration.ofMillis(300)));
    store.failAfter.put(9, () -> new CpinException(CpinException.Kind.UNAVAILABLE,
        ErrorReason.ERROR_REASON_FAILED_PRECONDITION, "injected after storing", Map.of()));
    exporter = new MonitoringExporter(senderSpool, channel, events, FAST);
    exporter.start();
    List<DataPoint> produced = new ArrayList<>();
    for (int b = 0; b < 30; b++) {
      List<DataPoint> batch = points(b * 7L, 7);
      produced.addAll(batch);
      senderSpool.append(batch);
    }
    await(() -> senderSpool.acknowledgedSequence() == 30);

    assertThat(relayed()).as("relayed once each, in order, unchanged").isEqualTo(produced);
    assertThat(exporter.duplicates()).as("the batch whose ack was lost came back as duplicate")
        .isGreaterThanOrEqualTo(1);
    assertThat(senderSpool.bytes()).isZero();
    // RetryInfo honoured: the call after the throttled one came at least 300 ms later.
    long throttledAt = store.callTimes.get(5);
    long next = store.callTimes.get(6);
    assertThat(next - throttledAt).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(290));
  }

  @Test
  void partialSuccessIsReportedAndNotRetried() throws Exception {
    exporter = new MonitoringExporter(senderSpool, channel, events, FAST);
    exporter.start();
    List<DataPoint> batch = new ArrayList<>(points(0, 3));
    batch.add(1, batch.get(0).toBuilder().setCounter(Counter.newBuilder().setValue(1)).build());
    senderSpool.append(batch);
    await(() -> senderSpool.acknowledgedSequence() == 1);
    assertThat(exporter.rejectedPoints()).isEqualTo(1);
    assertThat(relayed()).isEqualTo(points(0, 3));
    assertThat(store.callTimes).hasSize(1);
    assertThat(log.toString(StandardCharsets.UTF_8)).contains("monitoring.uplink.points_rejected")
        .contains("data_points[1]: counter without temporality");
  }

  @Test
  void invalidArgumentDropsTheNamedPointsAndResendsUnderTheSameNumber() throws Exception {
    store.failBefore.put(2, () -> InvalidArgumentException.of("data_points[1].subject_id",
        "injected", ErrorReason.ERROR_REASON_IDENTIFIER_MALFORMED));
    exporter = new MonitoringExporter(senderSpool, channel, events, FAST);
    exporter.start();
    // One batch at a time: the receiver merges batches that queue up into one store call, and
    // the fault is injected into the second call.
    senderSpool.append(points(0, 2));
    await(() -> senderSpool.acknowledgedSequence() == 1);
    senderSpool.append(points(2, 3));
    await(() -> senderSpool.acknowledgedSequence() == 2);
    senderSpool.append(points(5, 1));
    await(() -> senderSpool.acknowledgedSequence() == 3);
    List<DataPoint> expected = new ArrayList<>(points(0, 2));
    expected.add(points(2, 1).get(0));
    expected.add(points(4, 1).get(0));
    expected.addAll(points(5, 1));
    assertThat(relayed()).isEqualTo(expected);
    assertThat(exporter.rejectedPoints()).isEqualTo(1);
    assertThat(log.toString(StandardCharsets.UTF_8)).contains("monitoring.uplink.point_dropped");
  }

  @Test
  void receiverAcknowledgesDuplicatesRefusesGapsAndBadBatches() {
    MonitoringReceiver receiver = new MonitoringReceiver(REGIONAL, new RelayStore(receiverSpool),
        Clock.systemUTC());
    CpinIdentity child = CpinIdentity.node(INDUSTRY);
    ExportMonitoringDataRequest first = batch(1, points(0, 2));
    assertThat(receiver.receive(child, first).getDuplicate()).isFalse();
    ExportMonitoringDataResponse again = receiver.receive(child, first);
    assertThat(again.getDuplicate()).isTrue();
    assertThat(again.getAcknowledgedSequenceNumber()).isEqualTo(1);
    assertThat(relayed()).hasSize(2);

    assertThatThrownBy(() -> receiver.receive(child, batch(3, points(0, 1))))
        .isInstanceOfSatisfying(CpinException.class, e -> {
          assertThat(e.kind()).isEqualTo(CpinException.Kind.FAILED_PRECONDITION);
          assertThat(e.metadata()).containsEntry("expected_sequence_number", "2");
        });
    assertThatThrownBy(() -> receiver.receive(child, batch(0, points(0, 1)).toBuilder()
        .setStreamId("").build()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e ->
            assertThat(e.violations()).extracting(v -> v.field())
                .containsExactly("stream_id", "sequence_number"));
    DataPoint foreign = points(0, 1).get(0).toBuilder().setSourceNodeCode("86.45.C").build();
    assertThatThrownBy(() -> receiver.receive(child, batch(2, List.of(foreign))))
        .isInstanceOfSatisfying(CpinException.class, e -> {
          assertThat(e.kind()).isEqualTo(CpinException.Kind.PERMISSION_DENIED);
          assertThat(e.getMessage()).contains("data_points[0].source_node_code");
        });
    assertThatThrownBy(() -> receiver.receive(CpinIdentity.node(NodeCode.parse("86.44.D")),
        batch(2, points(0, 1))))
        .isInstanceOfSatisfying(CpinException.class, e ->
            assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER));
    assertThatThrownBy(() -> receiver.receive(CpinIdentity.node(NodeCode.parse("86.45.C")),
        batch(2, points(0, 1))))
        .isInstanceOfSatisfying(CpinException.class, e ->
            assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED));

    // MON-006: each unacceptable kind of point is counted, the rest stored.
    DataPoint good = points(0, 1).get(0);
    long future = Instant.now().plus(Duration.ofHours(2)).toEpochMilli();
    DataPoint.Builder tooManyAttributes = good.toBuilder();
    for (int i = 0; i < 33; i++) {
      tooManyAttributes.putAttributes("k" + i, "v");
    }
    List<DataPoint> mixed = List.of(good,
        good.toBuilder().setCategoryValue(0).build(),
        good.toBuilder().setCounter(Counter.newBuilder().setValue(-1)
            .setTemporality(CounterTemporality.COUNTER_TEMPORALITY_DELTA)).build(),
        good.toBuilder().setTime(Timestamps.fromMillis(future)).build(),
        tooManyAttributes.build());
    ExportMonitoringDataResponse partial = receiver.receive(child, batch(2, mixed));
    assertThat(partial.getPartialSuccess().getRejectedDataPoints()).isEqualTo(4);
    assertThat(partial.getPartialSuccess().getErrorMessage()).contains("data_points[1]");
    assertThat(relayed()).hasSize(3);
  }

  // --- helpers ---

  private static List<DataPoint> points(long from, int n) {
    List<DataPoint> out = new ArrayList<>();
    for (long i = from; i < from + n; i++) {
      out.add(SyntheticSource.point(SOURCE, i, T0.plusMillis(i)));
    }
    return out;
  }

  private ExportMonitoringDataRequest batch(long seq, List<DataPoint> points) {
    return ExportMonitoringDataRequest.newBuilder().setSenderNodeCode(INDUSTRY.toString())
        .setStreamId("stream-1").setSequenceNumber(seq).addAllDataPoints(points).build();
  }

  /** Every point the receiver relayed into its spool, in order. */
  private List<DataPoint> relayed() {
    List<DataPoint> out = new ArrayList<>();
    for (long s = 1; s <= receiverSpool.lastSequence(); s++) {
      out.addAll(receiverSpool.batch(s).orElseThrow().getDataPointsList());
    }
    return out;
  }

  private static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition within 30 s").isLessThan(deadline);
      Thread.sleep(5);
    }
  }

  /** A receiver store that fails the n-th call (1-based) before or after storing. */
  private static final class FaultyStore implements MonitoringReceiver.BatchStore {
    final Map<Integer, java.util.function.Supplier<RuntimeException>> failBefore =
        new java.util.concurrent.ConcurrentHashMap<>();
    final Map<Integer, java.util.function.Supplier<RuntimeException>> failAfter =
        new java.util.concurrent.ConcurrentHashMap<>();
    final List<Long> callTimes = new CopyOnWriteArrayList<>();
    private final AtomicInteger calls = new AtomicInteger();
    private final MonitoringReceiver.BatchStore delegate;

    FaultyStore(MonitoringReceiver.BatchStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public long highestStored(String sender, String streamId) {
      return delegate.highestStored(sender, streamId);
    }

    @Override
    public boolean store(String sender, String streamId, long highest, long seq,
        EncodedPoints accepted) {
      int call = calls.incrementAndGet();
      callTimes.add(System.nanoTime());
      if (failBefore.containsKey(call)) {
        throw failBefore.get(call).get();
      }
      boolean stored = delegate.store(sender, streamId, highest, seq, accepted);
      if (failAfter.containsKey(call)) {
        throw failAfter.get(call).get();
      }
      return stored;
    }
  }
}
