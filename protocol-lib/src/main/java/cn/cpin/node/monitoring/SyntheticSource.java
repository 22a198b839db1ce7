package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * TESTING ONLY: a deterministic producer of data points in categories 7–10, so that fault tests
 * know exactly what a sender produced (started by {@code --monitoring-synthetic-points}).
 *
 * <p>Point {@code i} (0, 1, 2, …) has indicator {@code INDICATORS[i % 5]} and value
 * {@code (i % 7) + 1}: a gauge for {@code resource.resources.offered}, a delta counter otherwise;
 * attribute {@code synthetic=true}. The number of points produced is the spool's cursor, written
 * atomically with each batch, so after a crash the source resumes exactly where its last spooled
 * batch ended: every point is produced once.
 */
public final class SyntheticSource implements AutoCloseable {
  /** The indicators, in the order points cycle through them. */
  public static final List<String> INDICATORS = List.of(
      Indicators.DEMANDS_SUBMITTED,
      Indicators.SELECTIONS,
      Indicators.ORDERS_VALUE,
      Indicators.APPLICATION_ORDERS,
      Indicators.RESOURCES_OFFERED);

  private static final long TICK_MILLIS = 100;

  private final Indicators.Source source;
  private final MonitoringSpool spool;
  private final EventLog events;
  private final Clock clock;
  private final long total;
  private final long perTick;
  private final ScheduledExecutorService scheduler;

  public SyntheticSource(Indicators.Source source, MonitoringSpool spool, EventLog events,
      Clock clock, long total, long perSecond) {
    this.source = source;
    this.spool = spool;
    this.events = events;
    this.clock = clock;
    this.total = total;
    this.perTick = Math.max(1, perSecond * TICK_MILLIS / 1000);
    this.scheduler = Daemons.scheduler("monitoring-synthetic");
  }

  /** Point {@code i} as defined in the class comment, observed at {@code time}. */
  public static DataPoint point(Indicators.Source source, long i, Instant time) {
    String indicator = INDICATORS.get((int) (i % INDICATORS.size()));
    double value = (i % 7) + 1;
    Map<String, String> attributes = Map.of("synthetic", "true");
    if (indicator.equals(Indicators.RESOURCES_OFFERED)) {
      return Indicators.gauge(source, indicator, "1", value, attributes, time);
    }
    String unit = indicator.equals(Indicators.ORDERS_VALUE) ? "CNY" : "1";
    return Indicators.delta(source, indicator, unit, value, attributes, time, time);
  }

  public void start() {
    events.info("monitoring.synthetic.started", "total", total, "already_produced",
        spool.cursor(), "per_tick", perTick);
    scheduler.scheduleWithFixedDelay(this::tick, 0, TICK_MILLIS, TimeUnit.MILLISECONDS);
  }

  private void tick() {
    long produced = spool.cursor();
    if (produced >= total) {
      events.info("monitoring.synthetic.done", "produced", produced,
          "last_sequence", spool.lastSequence());
      scheduler.shutdown();
      return;
    }
    long end = Math.min(total, produced + perTick);
    Instant now = clock.instant();
    List<DataPoint> points = new ArrayList<>();
    for (long i = produced; i < end; i++) {
      points.add(point(source, i, now));
    }
    try {
      spool.append(points, end, Map.of(), Map.of());
    } catch (MonitoringSpool.SpoolFullException full) {
      // Try again next tick; the source only moves on once its points are spooled.
    } catch (RuntimeException e) {
      events.error("monitoring.synthetic.failed", "error", e.toString());
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
