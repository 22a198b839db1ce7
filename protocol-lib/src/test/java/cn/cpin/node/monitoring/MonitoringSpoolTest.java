package cn.cpin.node.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MON-003 and MON-011 at the sender: numbering, durability across reopen, bound and alarm. */
class MonitoringSpoolTest {
  private static final Indicators.Source SOURCE = Indicators.Source.of(NodeCode.parse("86.44.C"));

  @TempDir
  Path dir;

  private final ByteArrayOutputStream log = new ByteArrayOutputStream();
  private final EventLog events = new EventLog("86.44.C", new PrintStream(log, true,
      StandardCharsets.UTF_8));

  private MonitoringSpool open(long maxBytes) {
    return open("spool.mv", maxBytes);
  }

  private MonitoringSpool open(String file, long maxBytes) {
    return MonitoringSpool.open(EmbeddedKeyValueStore.open(dir.resolve(file)), "86.44.C",
        maxBytes, events, Clock.systemUTC());
  }

  private static List<DataPoint> points(long from, int n) {
    List<DataPoint> out = new ArrayList<>();
    for (long i = from; i < from + n; i++) {
      out.add(SyntheticSource.point(SOURCE, i, Instant.ofEpochSecond(1_800_000_000L + i)));
    }
    return out;
  }

  @Test
  void numbersBatchesOnceAndForAndKeepsEverythingUnacknowledgedAcrossReopen() throws Exception {
    String streamId;
    try (MonitoringSpool spool = open(1 << 20)) {
      streamId = spool.streamId();
      assertThat(spool.append(points(0, 3), 3, Map.of(), Map.of())).isEqualTo(1);
      assertThat(spool.append(points(3, 2), 5, Map.of(), Map.of())).isEqualTo(2);
      assertThat(spool.append(points(5, 4))).isEqualTo(3);
      spool.acknowledge(1);
      assertThat(spool.batch(1)).isEmpty();
    }
    try (MonitoringSpool spool = open(1 << 20)) {
      assertThat(spool.streamId()).isEqualTo(streamId);
      assertThat(spool.lastSequence()).isEqualTo(3);
      assertThat(spool.acknowledgedSequence()).isEqualTo(1);
      assertThat(spool.cursor()).as("a plain append keeps the producer's cursor").isEqualTo(5);
      assertThat(spool.batch(2).orElseThrow().getDataPointsList()).isEqualTo(points(3, 2));
      assertThat(spool.batch(2).orElseThrow().getStreamId()).isEqualTo(streamId);
      assertThat(spool.batch(3).orElseThrow().getSequenceNumber()).isEqualTo(3);
      assertThat(spool.append(points(9, 1))).isEqualTo(4);
      spool.acknowledge(4);
      assertThat(spool.bytes()).isZero();
    }
    try (MonitoringSpool spool = open(1 << 20)) {
      assertThat(spool.append(points(10, 1))).as("numbers continue after everything is acked")
          .isEqualTo(5);
    }
  }

  @Test
  void warnsNearTheBoundAndRefusesPastItWritingNothing() throws Exception {
    long oneBatch;
    try (MonitoringSpool probe = open("probe.mv", 1 << 20)) {
      probe.append(points(0, 10));
      oneBatch = probe.bytes();
    }
    try (MonitoringSpool spool = open(oneBatch * 5 + oneBatch / 2)) {
      for (int i = 0; i < 4; i++) {
        spool.append(points(0, 10));
      }
      assertThat(log.toString(StandardCharsets.UTF_8)).doesNotContain("near_full");
      spool.append(points(0, 10)); // 5 of 5.5 batches: past 80 %
      assertThat(log.toString(StandardCharsets.UTF_8)).contains("monitoring.spool.near_full");
      assertThatThrownBy(() -> spool.append(points(0, 10)))
          .isInstanceOf(MonitoringSpool.SpoolFullException.class);
      assertThat(spool.lastSequence()).isEqualTo(5);
      assertThat(log.toString(StandardCharsets.UTF_8)).contains("monitoring.spool.full");
      spool.acknowledge(5);
      assertThat(spool.append(points(0, 10))).isEqualTo(6);
    }
  }
}
