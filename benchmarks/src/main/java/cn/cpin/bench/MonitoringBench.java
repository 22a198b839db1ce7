package cn.cpin.bench;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.node.EventLog;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringExporter;
import cn.cpin.node.monitoring.MonitoringSpool;
import cn.cpin.node.monitoring.SyntheticSource;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import io.grpc.ManagedChannel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * (m) Monitoring uplink throughput (MON-012, target ≥ 200,000 points/s over one stream): a
 * producer appends batches to a spool as fast as the exporter drains it, the exporter sends them
 * over one ExportMonitoringData stream (mTLS, as node 86.44) to the running national node, which
 * stores each batch durably before acknowledging it. Spool on: the production spool (embedded
 * store, fsync per batch). Baseline, same run, alternating phases: the same spool code on a
 * store in memory (no sender-side disk). The figure is points acknowledged per second. Points
 * are the synthetic source's (indicator, category, source, time, value, unit, province) with
 * {@code --monitoring-attributes} attributes each (default 0).
 */
final class MonitoringBench {
  static final double TARGET = 200_000;
  // At most this many batches spooled ahead of the acknowledgements, so the spool stays small.
  private static final int AHEAD = 32;

  /**
   * Per phase, spool on and spool off alternating: points acknowledged per second of wall time,
   * and per second of this process's CPU time (sender, receiver and transport all run here).
   */
  record Figures(List<Double> spooled, List<Double> baseline, List<Double> spooledPerCpu,
      List<Double> baselinePerCpu, int batchSize) {}

  /** One phase's figures. */
  private record Phase(double perSecond, double perCpuSecond) {}

  private MonitoringBench() {}

  static Figures run(Federation federation, Path dir, int batchSize, int attributes,
      double warmupSeconds, double phaseSeconds, int pairs, PrintStream out) throws Exception {
    ManagedChannel channel = federation.nationalAsRegionalNode();
    List<DataPoint> batch = new ArrayList<>();
    Indicators.Source source = Indicators.Source.of(Federation.REGIONAL);
    Instant now = Instant.now();
    for (int i = 0; i < batchSize; i++) {
      // The synthetic source's points with {@code attributes} attributes each (protobuf map
      // entries are the costliest part of a point to encode and parse).
      DataPoint.Builder point = SyntheticSource.point(source, i, now).toBuilder()
          .clearAttributes();
      for (int a = 0; a < attributes; a++) {
        point.putAttributes("attribute_" + a, "value_" + (i % 7));
      }
      batch.add(point.build());
    }
    Files.createDirectories(dir);
    phase(channel, dir, batch, true, warmupSeconds / 2, 0);
    phase(channel, dir, batch, false, warmupSeconds / 2, 1);
    List<Double> on = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    List<Double> onCpu = new ArrayList<>();
    List<Double> offCpu = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      Phase a = phase(channel, dir, batch, true, phaseSeconds, 2 + 2 * p);
      Phase b = phase(channel, dir, batch, false, phaseSeconds, 3 + 2 * p);
      on.add(a.perSecond());
      off.add(b.perSecond());
      onCpu.add(a.perCpuSecond());
      offCpu.add(b.perCpuSecond());
      out.printf(Locale.ROOT, "  pair %d: spool on %,.0f points/s (%,.0f per CPU-s), spool off "
          + "%,.0f points/s (%,.0f per CPU-s), ratio %.2f%n", p + 1, a.perSecond(),
          a.perCpuSecond(), b.perSecond(), b.perCpuSecond(), a.perSecond() / b.perSecond());
    }
    return new Figures(on, off, onCpu, offCpu, batchSize);
  }

  // One phase on a fresh spool (and stream): points acknowledged per second while it ran.
  private static Phase phase(ManagedChannel channel, Path dir, List<DataPoint> batch,
      boolean durable, double seconds, int index) throws Exception {
    EventLog quiet = new EventLog("86.44", new PrintStream(OutputStream.nullOutputStream()));
    KeyValueStore store = durable
        ? EmbeddedKeyValueStore.open(dir.resolve("spool-" + index + ".mv"))
        : new MemoryStore();
    MonitoringSpool spool = MonitoringSpool.open(store, Federation.REGIONAL.toString(),
        8L << 30, quiet, Clock.systemUTC());
    MonitoringExporter exporter = new MonitoringExporter(spool, channel, quiet,
        MonitoringExporter.Settings.standard());
    exporter.start();
    try {
      // Fill the pipeline, then count acknowledgements over the phase.
      long end = System.nanoTime() + (long) (seconds * 1e9);
      long startAck = -1;
      long startNanos = 0;
      long startCpu = 0;
      while (System.nanoTime() < end) {
        if (spool.lastSequence() - spool.acknowledgedSequence() < AHEAD) {
          spool.append(batch);
        } else {
          Thread.onSpinWait();
          Thread.sleep(0, 200_000);
        }
        if (startAck < 0 && spool.acknowledgedSequence() > 0) {
          startAck = spool.acknowledgedSequence();
          startNanos = System.nanoTime();
          startCpu = processCpuNanos();
        }
      }
      long acked = spool.acknowledgedSequence();
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      double cpu = (processCpuNanos() - startCpu) / 1e9;
      if (startAck < 0 || elapsed <= 0 || cpu <= 0) {
        return new Phase(0, 0);
      }
      double points = (acked - startAck) * (double) batch.size();
      return new Phase(points / elapsed, points / cpu);
    } finally {
      exporter.close();
      spool.close();
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** The baseline's spool store: the same interface in memory, nothing on disk. */
  private static final class MemoryStore implements KeyValueStore {
    private final ConcurrentSkipListMap<String, byte[]> map = new ConcurrentSkipListMap<>();

    @Override
    public Optional<byte[]> get(String key) {
      return Optional.ofNullable(map.get(key));
    }

    @Override
    public SortedMap<String, byte[]> scan(String prefix) {
      return new java.util.TreeMap<>(map.subMap(prefix, prefix + Character.MAX_VALUE));
    }

    @Override
    public synchronized boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
        Map<String, Optional<byte[]>> expected) {
      for (Map.Entry<String, Optional<byte[]>> e : expected.entrySet()) {
        byte[] current = map.get(e.getKey());
        if (e.getValue().isEmpty() ? current != null
            : current == null || !java.util.Arrays.equals(current, e.getValue().get())) {
          return false;
        }
      }
      deletes.forEach(map::remove);
      map.putAll(puts);
      return true;
    }

    @Override
    public void close() {}
  }
}
