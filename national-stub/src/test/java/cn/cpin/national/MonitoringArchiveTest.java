package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.TimeWindow;
import cn.cpin.monitoring.v1.Counter;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.GetMarketSummaryRequest;
import cn.cpin.monitoring.v1.MarketTotals;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.node.monitoring.EncodedPoints;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import com.google.protobuf.util.Timestamps;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MON-004, MON-008, MON-014 at the national archive: what it stored and each stream's highest
 * sequence number survive a reopen of its store (the archive keeps no other copy), and cumulative
 * counters count their increases within the window, a reset included, once each.
 */
class MonitoringArchiveTest {
  private static final NodeCode NATIONAL = NodeCode.national();
  private static final Indicators.Source REGIONAL = Indicators.Source.of(NodeCode.parse("86.44"));
  private static final Instant T0 = Instant.parse("2026-11-26T00:00:00Z");

  @TempDir
  Path dir;

  @Test
  void storedBatchesAndStreamPositionsSurviveAReopen() {
    DataPoint orders = Indicators.delta(REGIONAL, Indicators.ORDERS_CONFIRMED, "1", 5, Map.of(),
        T0, T0.plusSeconds(60));
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"))) {
      MonitoringArchive archive = new MonitoringArchive(store, NATIONAL);
      assertThat(archive.store("86.44", "s", 0, 1, EncodedPoints.of(List.of(orders)))).isTrue();
      assertThat(archive.store("86.44", "s", 0, 1, EncodedPoints.of(List.of(orders))))
          .as("a second writer of the same number loses").isFalse();
      assertThat(archive.store("86.44", "s", 1, 3, EncodedPoints.of(List.of(orders, orders))))
          .isTrue();
    }
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"))) {
      MonitoringArchive archive = new MonitoringArchive(store, NATIONAL);
      assertThat(archive.highestStored("86.44", "s")).isEqualTo(3);
      assertThat(archive.highestStored("86.44", "other")).isZero();
      assertThat(archive.query(null, QueryMonitoringDataRequest.newBuilder()
          .setTimeWindow(window(0, 3600)).build()).getDataPointsList())
          .containsExactly(orders, orders, orders);
      assertThat(summary(archive, 0, 3600).getOrderCount()).isEqualTo(15);
    }
  }

  @Test
  void cumulativeCountersCountIncreasesInTheWindowAndResets() {
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"))) {
      MonitoringArchive archive = new MonitoringArchive(store, NATIONAL);
      // One series: 10 at 60 s, 25 at 120 s, restart (start 150 s) and 4 at 180 s, 9 at 240 s;
      // stored out of order, in two batches.
      archive.store("86.44", "s", 0, 1, EncodedPoints.of(List.of(
          cumulative(25, 0, 120), cumulative(10, 0, 60))));
      archive.store("86.44", "s", 1, 2, EncodedPoints.of(List.of(
          cumulative(9, 150, 240), cumulative(4, 150, 180))));
      assertThat(summary(archive, 0, 3600).getSelectionCount()).as("10 + 15 + 4 + 5")
          .isEqualTo(34);
      assertThat(summary(archive, 100, 200).getSelectionCount()).as("+15 at 120 s, reset to 4")
          .isEqualTo(19);
      assertThat(summary(archive, 200, 3600).getSelectionCount()).isEqualTo(5);
      assertThat(summary(archive, 0, 100).getSelectionCount()).isEqualTo(10);
    }
  }

  private static DataPoint cumulative(double value, long startSecond, long timeSecond) {
    return Indicators.delta(REGIONAL, Indicators.SELECTIONS, "1", value, Map.of(), T0, T0)
        .toBuilder()
        .setTime(Timestamps.fromMillis(T0.plusSeconds(timeSecond).toEpochMilli()))
        .setCounter(Counter.newBuilder().setValue(value)
            .setTemporality(CounterTemporality.COUNTER_TEMPORALITY_CUMULATIVE)
            .setStartTime(Timestamps.fromMillis(T0.plusSeconds(startSecond).toEpochMilli())))
        .build();
  }

  private static MarketTotals summary(MonitoringArchive archive, long from, long to) {
    return archive.summary(GetMarketSummaryRequest.newBuilder().setTimeWindow(window(from, to))
        .build()).getOverall();
  }

  private static TimeWindow window(long fromSecond, long toSecond) {
    return TimeWindow.newBuilder()
        .setStartTime(Timestamps.fromMillis(T0.plusSeconds(fromSecond).toEpochMilli()))
        .setEndTime(Timestamps.fromMillis(T0.plusSeconds(toSecond).toEpochMilli())).build();
  }
}
