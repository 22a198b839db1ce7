package cn.cpin.node.monitoring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.monitoring.v1.Counter;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.Event;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.Gauge;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.validation.FieldRulesValidator;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The receiver reads points from their bytes (MON-012) and must see exactly what protobuf decodes
 * (MON-005, MON-006): seeded random batches, valid and not, compared field by field with the
 * decoded message and, for the field rules, with the generic validator's verdict.
 */
class ReceivedBatchTest {
  private static final String[] SOURCES = {"86.44", "86.44.C", "86.4", "", "86.44.c", "86.45"};
  private static final String[] SUBJECTS = {"", "86.44/R-1-X", "not an identifier"};

  @Test
  void pointFactsAreWhatProtobufDecodes() {
    Random random = new Random(20261126);
    for (int round = 0; round < 300; round++) {
      ExportMonitoringDataRequest request = randomBatch(random);
      ReceivedBatch received = ReceivedBatch.parse(request.toByteArray());
      assertThat(received.senderNodeCode()).isEqualTo(request.getSenderNodeCode());
      assertThat(received.streamId()).isEqualTo(request.getStreamId());
      assertThat(received.sequenceNumber()).isEqualTo(request.getSequenceNumber());
      assertThat(received.pointCount()).isEqualTo(request.getDataPointsCount());
      EncodedPoints.Builder copied = new EncodedPoints.Builder();
      for (int i = 0; i < request.getDataPointsCount(); i++) {
        DataPoint p = request.getDataPoints(i);
        ReceivedBatch.PointFacts f = received.point(i);
        assertThat(f.category()).isEqualTo(p.getCategoryValue());
        assertThat(f.hasIndicator()).isEqualTo(!p.getIndicator().isEmpty());
        assertThat(f.sourceNodeCode()).isEqualTo(p.getSourceNodeCode());
        assertThat(f.hasTime()).isEqualTo(p.hasTime());
        if (p.hasTime()) {
          assertThat(f.timeMillis()).isEqualTo(Timestamps.toMillis(p.getTime()));
        }
        assertThat(f.valueCase()).isEqualTo(p.getValueCase());
        assertThat(f.temporality()).isEqualTo(p.getCounter().getTemporalityValue());
        double value = p.hasCounter() ? p.getCounter().getValue() : p.getGauge().getValue();
        assertThat(Double.valueOf(f.value())).isEqualTo(Double.valueOf(value));
        assertThat(f.hasEventType()).isEqualTo(!p.getEvent().getEventType().isEmpty());
        assertThat(f.attributes()).isEqualTo(p.getAttributesCount());
        assertThat(f.subjectId()).isEqualTo(p.getSubjectId());
        received.copyPoint(i, copied);
      }
      assertThat(copied.build().decode()).as("copied bytes decode to the same points")
          .isEqualTo(request.getDataPointsList());
    }
  }

  @Test
  void fieldRulesAgreeWithTheGenericValidator() {
    Random random = new Random(7);
    int invalid = 0;
    for (int round = 0; round < 300; round++) {
      ExportMonitoringDataRequest request = randomBatch(random);
      ReceivedBatch received = ReceivedBatch.parse(request.toByteArray());
      var expected = FieldRulesValidator.validate(request);
      if (expected.isEmpty()) {
        received.checkFieldRules(); // does not throw
      } else {
        invalid++;
        assertThatThrownBy(received::checkFieldRules)
            .isInstanceOfSatisfying(InvalidArgumentException.class,
                e -> assertThat(e.violations()).isEqualTo(expected));
      }
    }
    assertThat(invalid).as("the seed produces invalid batches too").isBetween(30, 270);
  }

  @Test
  void aHeaderBeforeEncodedPointsIsTheWholeBatch() {
    Random random = new Random(3);
    ExportMonitoringDataRequest request = randomBatch(random);
    byte[] header = request.toBuilder().clearDataPoints().build().toByteArray();
    byte[] whole = EncodedPoints.of(request.getDataPointsList()).after(header);
    assertThat(ReceivedBatch.parse(whole).decode()).isEqualTo(request);
  }

  @Test
  void bytesThatAreNoBatchAreInvalidArgument() {
    assertThatThrownBy(() -> ReceivedBatch.parse(new byte[] {0x22, 0x7f, 0x01}))
        .isInstanceOf(InvalidArgumentException.class);
  }

  private static ExportMonitoringDataRequest randomBatch(Random random) {
    ExportMonitoringDataRequest.Builder b = ExportMonitoringDataRequest.newBuilder()
        .setSenderNodeCode(random.nextInt(20) == 0 ? "86.x" : "86.44")
        .setStreamId(random.nextInt(30) == 0 ? "s".repeat(65) : "stream-" + random.nextInt(3))
        .setSequenceNumber(random.nextInt(5))
        .setCreatedAt(Timestamps.fromMillis(random.nextLong() & 0xffffffffffL));
    int n = random.nextInt(12);
    List<DataPoint> points = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      points.add(randomPoint(random));
    }
    return b.addAllDataPoints(points).build();
  }

  private static DataPoint randomPoint(Random random) {
    // Sources are mostly valid so that some batches pass the field rules.
    String source = random.nextInt(12) == 0 ? SOURCES[random.nextInt(SOURCES.length)]
        : SOURCES[random.nextInt(2)];
    String subject = random.nextInt(8) == 0 ? SUBJECTS[random.nextInt(SUBJECTS.length)] : "";
    DataPoint.Builder p = DataPoint.newBuilder()
        .setIndicator(random.nextInt(10) == 0 ? "" : "platform.orders.confirmed")
        .setCategoryValue(random.nextInt(13))
        .setSourceNodeCode(source)
        .setUnit("1")
        .setSubjectId(subject)
        .setProvinceCode("44");
    if (random.nextInt(10) != 0) {
      p.setTime(Timestamp.newBuilder().setSeconds(1_700_000_000L + random.nextInt(1 << 20))
          .setNanos(random.nextInt(1_000_000_000)));
    }
    switch (random.nextInt(4)) {
      case 0 -> p.setCounter(Counter.newBuilder().setValue(random.nextGaussian() * 100)
          .setTemporalityValue(random.nextInt(4))
          .setStartTime(Timestamps.fromMillis(1_700_000_000_000L)));
      case 1 -> p.setGauge(Gauge.newBuilder().setValue(random.nextInt(20) == 0
          ? Double.NaN : random.nextDouble()));
      case 2 -> p.setEvent(Event.newBuilder().setEventType(random.nextBoolean() ? "" : "x.y")
          .setMessage("m"));
      default -> { }
    }
    int attributes = random.nextInt(8) == 0 ? 33 + random.nextInt(3) : random.nextInt(4);
    for (int a = 0; a < attributes; a++) {
      p.putAttributes("k" + a, "v" + random.nextInt(5));
    }
    if (random.nextInt(6) == 0) {
      p.getCounterBuilder().setTemporality(CounterTemporality.COUNTER_TEMPORALITY_DELTA);
    }
    return p.build();
  }
}
