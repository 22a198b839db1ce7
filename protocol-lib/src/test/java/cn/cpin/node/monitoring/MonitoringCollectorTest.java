package cn.cpin.node.monitoring;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.EventSeverity;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.node.EventLog;
import cn.cpin.node.SecurityLogEvents;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** MON-002 flushes, MON-010 security events from the event log, MON-011 when the spool is full. */
class MonitoringCollectorTest {
  private static final NodeCode NODE = NodeCode.parse("86.44.C");

  @TempDir
  Path dir;

  private final EventLog events = new EventLog(NODE.toString(), new PrintStream(
      new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));

  private MonitoringSpool spool(long maxBytes) {
    return MonitoringSpool.open(EmbeddedKeyValueStore.open(dir.resolve("spool.mv")),
        NODE.toString(), maxBytes, events, Clock.systemUTC());
  }

  private static List<DataPoint> spooled(MonitoringSpool spool) {
    List<DataPoint> out = new ArrayList<>();
    for (long s = spool.acknowledgedSequence() + 1; s <= spool.lastSequence(); s++) {
      out.addAll(spool.batch(s).orElseThrow().getDataPointsList());
    }
    return out;
  }

  @Test
  void flushSpoolsGaugesCountersAsDeltasAndSecurityEventsWithAttribution() {
    try (MonitoringSpool spool = spool(1 << 20)) {
      MonitoringCollector collector = new MonitoringCollector(Indicators.Source.of(NODE), spool,
          events, Clock.systemUTC(), Duration.ofSeconds(15));
      collector.reportSecurityEventsOf(events);
      collector.gauge(Indicators.RESOURCES_OFFERED, "1", () -> List.of(
          new MonitoringCollector.Sample(Map.of("compute_kind", "ai"), 3)));
      collector.count(Indicators.DEMANDS_SUBMITTED, "1", Map.of(), 2);
      collector.count(Indicators.DEMANDS_SUBMITTED, "1", Map.of(), 1);
      events.info("certificate.renewed", "serial", "ab12");
      events.error("security.filing_verification_failed", "identifier", "86.44/X");
      events.info("parent.linked", "parent", "86.44"); // not a security event
      collector.flush();

      List<DataPoint> points = spooled(spool);
      assertThat(points).allSatisfy(p -> {
        assertThat(p.getSourceNodeCode()).isEqualTo("86.44.C");
        assertThat(p.getProvinceCode()).isEqualTo("44");
        assertThat(p.getIndustrySection()).isEqualTo("C");
      });
      assertThat(points).filteredOn(DataPoint::hasGauge).singleElement().satisfies(p -> {
        assertThat(p.getIndicator()).isEqualTo(Indicators.RESOURCES_OFFERED);
        assertThat(p.getCategory())
            .isEqualTo(MonitoringCategory.MONITORING_CATEGORY_RESOURCE_BUSINESS);
        assertThat(p.getGauge().getValue()).isEqualTo(3);
      });
      assertThat(points).filteredOn(DataPoint::hasCounter).singleElement().satisfies(p -> {
        assertThat(p.getIndicator()).isEqualTo(Indicators.DEMANDS_SUBMITTED);
        assertThat(p.getCounter().getValue()).isEqualTo(3);
      });
      assertThat(points).filteredOn(DataPoint::hasEvent)
          .extracting(p -> p.getEvent().getEventType(), p -> p.getEvent().getSeverity())
          .containsExactly(
              org.assertj.core.groups.Tuple.tuple("security.certificate_renewed",
                  EventSeverity.EVENT_SEVERITY_INFO),
              org.assertj.core.groups.Tuple.tuple("security.filing_proof_failed",
                  EventSeverity.EVENT_SEVERITY_CRITICAL));
      assertThat(points).filteredOn(DataPoint::hasEvent).allSatisfy(p -> assertThat(
          p.getCategory()).isEqualTo(MonitoringCategory.MONITORING_CATEGORY_SECURITY_EVENT));

      // Counters are deltas: nothing counted since, nothing reported.
      collector.flush();
      assertThat(spooled(spool)).filteredOn(DataPoint::hasCounter).hasSize(1);
    }
  }

  @Test
  void whenTheSpoolIsFullGaugesAreDroppedAndCountedWhileCountersAndEventsWait() throws Exception {
    try (MonitoringSpool spool = spool(600)) {
      AtomicInteger samples = new AtomicInteger();
      MonitoringCollector collector = new MonitoringCollector(Indicators.Source.of(NODE), spool,
          events, Clock.systemUTC(), Duration.ofSeconds(15));
      collector.gauge(Indicators.UNITS_TOTAL, "1", () -> {
        List<MonitoringCollector.Sample> many = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          many.add(new MonitoringCollector.Sample(Map.of("n", Integer.toString(i)), i));
        }
        samples.addAndGet(many.size());
        return many;
      });
      // Fill the spool so that nothing more fits.
      List<DataPoint> filler = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        filler.add(SyntheticSource.point(Indicators.Source.of(NODE), i, java.time.Instant.now()));
      }
      spool.append(filler);
      long fullAt = spool.lastSequence();
      collector.count(Indicators.SELECTIONS, "1", Map.of(), 5);
      collector.securityEvent("security.scan_completed", EventSeverity.EVENT_SEVERITY_INFO,
          "scan", Map.of());
      collector.flush();
      collector.count(Indicators.SELECTIONS, "1", Map.of(), 2);
      collector.flush();
      assertThat(spool.lastSequence()).as("nothing fitted").isEqualTo(fullAt);

      spool.acknowledge(fullAt); // the receiver caught up: room again
      collector.flush();
      List<DataPoint> after = spooled(spool);
      assertThat(after).filteredOn(p -> p.getIndicator().equals(Indicators.SELECTIONS))
          .singleElement().satisfies(p -> assertThat(p.getCounter().getValue()).isEqualTo(7));
      assertThat(after).filteredOn(DataPoint::hasEvent).hasSize(1);
      assertThat(after).filteredOn(p -> p.getIndicator().equals(Indicators.SPOOL_DROPPED))
          .singleElement().satisfies(p -> {
            assertThat(p.getCounter().getValue()).isEqualTo(40); // two flushes of 20 gauges
            assertThat(p.getAttributesMap()).containsEntry("kind", "gauge");
          });
    }
  }

  @Test
  void refusedAndDeniedCallsBecomeCountersAndRepeatedFailuresOneEventPerPeerAndMinute() {
    try (MonitoringSpool spool = spool(1 << 20)) {
      MonitoringCollector collector = new MonitoringCollector(Indicators.Source.of(NODE), spool,
          events, Clock.systemUTC(), Duration.ofSeconds(15));
      collector.reportSecurityEventsOf(events);
      events.warn(SecurityLogEvents.CONNECTION_REFUSED, "peer", "10.0.0.9", "reason",
          "certificate chain cannot be validated: unknown issuer");
      events.warn(SecurityLogEvents.CONNECTION_REFUSED, "peer", "10.0.0.9", "reason",
          "certificate 86.44.C (serial 1f) is revoked");
      for (int i = 0; i < 5; i++) { // the 3rd failure within a minute is reported, once
        events.warn(SecurityLogEvents.CALL_UNAUTHENTICATED, "rpc", "a.B/C", "peer", "10.0.0.7",
            "reason", "a client certificate is required for a.B/C");
      }
      events.warn(SecurityLogEvents.CALL_DENIED, "rpc", "a.B/C", "peer", "10.0.0.7", "reason",
          "not allowed");
      collector.flush();

      List<DataPoint> points = spooled(spool);
      assertThat(points).filteredOn(p -> p.getIndicator().equals(Indicators.CONNECTIONS_REFUSED))
          .extracting(p -> p.getAttributesMap().get("reason"), p -> p.getCounter().getValue())
          .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("invalid_certificate",
              1.0), org.assertj.core.groups.Tuple.tuple("revoked", 1.0),
              org.assertj.core.groups.Tuple.tuple("no_certificate", 5.0));
      assertThat(points).filteredOn(p -> p.getIndicator().equals(Indicators.CALLS_DENIED))
          .singleElement().satisfies(p -> {
            assertThat(p.getAttributesMap()).containsEntry("rpc", "a.B/C");
            assertThat(p.getCounter().getValue()).isEqualTo(1);
            assertThat(p.getCategory())
                .isEqualTo(MonitoringCategory.MONITORING_CATEGORY_SECURITY_EVENT);
          });
      assertThat(points).filteredOn(DataPoint::hasEvent).singleElement().satisfies(p -> {
        assertThat(p.getEvent().getEventType()).isEqualTo("security.authentication_failures");
        assertThat(p.getEvent().getSeverity()).isEqualTo(EventSeverity.EVENT_SEVERITY_WARNING);
        assertThat(p.getAttributesMap()).containsEntry("peer", "10.0.0.7")
            .containsEntry("failures", "3");
      });
    }
  }
}
