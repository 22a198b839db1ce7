package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.EventSeverity;
import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import cn.cpin.node.SecurityLogEvents;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Collects a node's own indicators (MON-002) and security events (MON-010) and spools them as one
 * batch per interval.
 *
 * <p>Gauges are sampled at each flush; counters accumulate deltas between flushes and are reported
 * only while non-zero; events are queued as they happen. When the spool is full (MON-011) business
 * calls never wait: the flush drops the gauge samples (counted in {@code monitoring.spool.dropped})
 * and keeps the counters, summed, and up to {@value #MAX_PENDING_EVENTS} events for the next flush;
 * events beyond that are dropped and counted too. Thread-safe.
 */
public final class MonitoringCollector implements AutoCloseable {
  static final int MAX_PENDING_EVENTS = 10_000;
  /** Failures from one peer within a minute that make a security.authentication_failures. */
  static final int REPEATED_FAILURES = 3;
  private static final long FAILURE_WINDOW_MILLIS = 60_000;
  private static final int MAX_TRACKED_PEERS = 10_000;

  /** One gauge sample: attributes and value. */
  public record Sample(Map<String, String> attributes, double value) {}

  private record Series(String indicator, String unit, Map<String, String> attributes) {}

  private record GaugeSource(String indicator, String unit, Supplier<List<Sample>> sampler) {}

  private final Indicators.Source source;
  private final MonitoringSpool spool;
  private final EventLog events;
  private final Clock clock;
  private final Duration interval;
  private final List<GaugeSource> gauges = new CopyOnWriteArrayList<>();
  private final Object flushLock = new Object();
  private Map<Series, Double> counters = new LinkedHashMap<>();
  private List<DataPoint> pendingEvents = new ArrayList<>();
  private Instant counterStart;
  // Per peer: start of its minute, failures in it, when it was last reported (-1: never).
  private final Map<String, long[]> failuresByPeer = new java.util.HashMap<>();
  private ScheduledExecutorService scheduler;

  public MonitoringCollector(Indicators.Source source, MonitoringSpool spool, EventLog events,
      Clock clock, Duration interval) {
    this.source = source;
    this.spool = spool;
    this.events = events;
    this.clock = clock;
    this.interval = interval;
    this.counterStart = clock.instant();
  }

  /** Samples {@code indicator} at every flush, one point per sample. */
  public void gauge(String indicator, String unit, Supplier<List<Sample>> sampler) {
    gauges.add(new GaugeSource(indicator, unit, sampler));
  }

  /** Adds {@code delta} to a delta counter (MON-008: the receiver sums it exactly once). */
  public synchronized void count(String indicator, String unit, Map<String, String> attributes,
      double delta) {
    counters.merge(new Series(indicator, unit, Map.copyOf(attributes)), delta, Double::sum);
  }

  /** Queues a security event (MON-010). */
  public void securityEvent(String eventType, EventSeverity severity, String message,
      Map<String, String> attributes) {
    DataPoint point = Indicators.event(source, eventType, severity, message, attributes,
        clock.instant());
    synchronized (this) {
      if (pendingEvents.size() >= MAX_PENDING_EVENTS) {
        counters.merge(new Series(Indicators.SPOOL_DROPPED, "1", Map.of("kind", "event")), 1.0,
            Double::sum);
        return;
      }
      pendingEvents.add(point);
    }
  }

  /**
   * Reports the node's own security-relevant log events as MON-010 events: the event log is where
   * the trust and filing code already records them.
   */
  public void reportSecurityEventsOf(EventLog log) {
    log.addListener((level, event, keyValues) -> {
      if (event.equals(SecurityLogEvents.CONNECTION_REFUSED)
          || event.equals(SecurityLogEvents.CALL_UNAUTHENTICATED)) {
        String reason = refusalReason(valueOf(keyValues, "reason"));
        count(Indicators.CONNECTIONS_REFUSED, "1", Map.of("reason", reason), 1);
        authenticationFailed(valueOf(keyValues, "peer"), reason);
        return;
      }
      if (event.equals(SecurityLogEvents.CALL_DENIED)) {
        count(Indicators.CALLS_DENIED, "1", Map.of("rpc", valueOf(keyValues, "rpc")), 1);
        return;
      }
      String type;
      EventSeverity severity;
      switch (event) {
        case "node.enrolled" -> {
          type = "security.certificate_issued";
          severity = EventSeverity.EVENT_SEVERITY_INFO;
        }
        case "certificate.renewed" -> {
          type = "security.certificate_renewed";
          severity = EventSeverity.EVENT_SEVERITY_INFO;
        }
        case "certificate.renewal_failed" -> {
          type = "security.certificate_renewal_failed";
          severity = EventSeverity.EVENT_SEVERITY_WARNING;
        }
        case "revocation_feed.applied" -> {
          type = "security.revocations_applied";
          severity = EventSeverity.EVENT_SEVERITY_INFO;
        }
        case "security.filing_verification_failed" -> {
          type = "security.filing_proof_failed";
          severity = EventSeverity.EVENT_SEVERITY_CRITICAL;
        }
        default -> {
          return;
        }
      }
      Map<String, String> attributes = new LinkedHashMap<>();
      for (int i = 0; i + 1 < keyValues.length && attributes.size() < 32; i += 2) {
        attributes.put(String.valueOf(keyValues[i]), String.valueOf(keyValues[i + 1]));
      }
      securityEvent(type, severity, event, attributes);
    });
  }

  private static String valueOf(Object[] keyValues, String key) {
    for (int i = 0; i + 1 < keyValues.length; i += 2) {
      if (key.equals(keyValues[i])) {
        return String.valueOf(keyValues[i + 1]);
      }
    }
    return "";
  }

  // A few stable attribute values instead of free text, so that the counters aggregate.
  static String refusalReason(String message) {
    String m = message.toLowerCase(java.util.Locale.ROOT);
    if (m.contains("revoked")) {
      return "revoked";
    }
    if (m.contains("expired")) {
      return "expired";
    }
    if (m.contains("no certificate") || m.contains("certificate is required")) {
      return "no_certificate";
    }
    return "invalid_certificate";
  }

  // MON-010: repeated failures from one peer become one WARNING event per peer per minute.
  private void authenticationFailed(String peer, String reason) {
    long now = clock.millis();
    boolean report;
    long failures;
    synchronized (failuresByPeer) {
      if (failuresByPeer.size() > MAX_TRACKED_PEERS) {
        failuresByPeer.values().removeIf(f -> now - f[0] > FAILURE_WINDOW_MILLIS);
      }
      long[] f = failuresByPeer.computeIfAbsent(peer, p -> new long[] {now, 0, -1});
      if (now - f[0] > FAILURE_WINDOW_MILLIS) {
        f[0] = now;
        f[1] = 0;
      }
      failures = ++f[1];
      report = failures >= REPEATED_FAILURES
          && (f[2] < 0 || now - f[2] >= FAILURE_WINDOW_MILLIS);
      if (report) {
        f[2] = now;
      }
    }
    if (report) {
      securityEvent("security.authentication_failures", EventSeverity.EVENT_SEVERITY_WARNING,
          failures + " authentication failures from " + peer + " within a minute",
          Map.of("peer", peer, "failures", Long.toString(failures), "reason", reason));
    }
  }

  /** Flushes every interval from now on. */
  public synchronized void start() {
    scheduler = Daemons.scheduler("monitoring-collector");
    scheduler.scheduleWithFixedDelay(this::flushQuietly, interval.toMillis(),
        interval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void flushQuietly() {
    try {
      flush();
    } catch (RuntimeException e) {
      events.error("monitoring.collect_failed", "error", e.toString());
    }
  }

  /** Samples the gauges and spools them with the counters and events gathered since the last. */
  public void flush() {
    synchronized (flushLock) {
      Instant now = clock.instant();
      List<DataPoint> sampled = new ArrayList<>();
      for (GaugeSource gauge : gauges) {
        for (Sample s : gauge.sampler().get()) {
          sampled.add(Indicators.gauge(source, gauge.indicator(), gauge.unit(), s.value(),
              s.attributes(), now));
        }
      }
      // Take what was gathered, so that count() and securityEvent() never wait for the disk.
      Map<Series, Double> takenCounters;
      List<DataPoint> takenEvents;
      Instant start;
      synchronized (this) {
        takenCounters = counters;
        takenEvents = pendingEvents;
        start = counterStart;
        counters = new LinkedHashMap<>();
        pendingEvents = new ArrayList<>();
        counterStart = now;
      }
      List<DataPoint> kept = new ArrayList<>(takenEvents);
      for (Map.Entry<Series, Double> c : takenCounters.entrySet()) {
        if (c.getValue() != 0) {
          kept.add(Indicators.delta(source, c.getKey().indicator(), c.getKey().unit(),
              c.getValue(), c.getKey().attributes(), start, now));
        }
      }
      List<DataPoint> all = new ArrayList<>(sampled);
      all.addAll(kept);
      if (all.isEmpty()) {
        return;
      }
      try {
        spool.append(all);
        return;
      } catch (MonitoringSpool.SpoolFullException full) {
        // MON-011: gauges are dropped first; counters and events go if they still fit.
      }
      boolean keptFit;
      try {
        spool.append(kept);
        keptFit = true;
      } catch (MonitoringSpool.SpoolFullException stillFull) {
        keptFit = false;
      }
      synchronized (this) {
        if (!keptFit) {
          // Nothing fits: the counters stay summed and the events queued for the next flush.
          takenCounters.forEach((series, value) -> counters.merge(series, value, Double::sum));
          List<DataPoint> events = new ArrayList<>(takenEvents);
          events.addAll(pendingEvents);
          int over = Math.max(0, events.size() - MAX_PENDING_EVENTS);
          pendingEvents = new ArrayList<>(events.subList(over, events.size()));
          if (over > 0) {
            counters.merge(new Series(Indicators.SPOOL_DROPPED, "1", Map.of("kind", "event")),
                (double) over, Double::sum);
          }
          counterStart = start;
        }
        if (!sampled.isEmpty()) {
          counters.merge(new Series(Indicators.SPOOL_DROPPED, "1", Map.of("kind", "gauge")),
              (double) sampled.size(), Double::sum);
        }
      }
    }
  }

  @Override
  public synchronized void close() {
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
  }
}
