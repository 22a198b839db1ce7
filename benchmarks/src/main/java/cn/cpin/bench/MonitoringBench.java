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
 * store in memory (no sender-side disk). The figure is points acknowledged per second.
 */
final class MonitoringBench {
  static final double TARGET = 200_000;
  // At most this many batches spooled ahead of the acknowledgements, so the spool stays small.
  private static final int AHEAD = 32;

  /** Points/s per phase: spool on and spool off, alternating. */
  record Figures(List<Double> spooled, List<Double> baseline, int batchSize) {}

  private MonitoringBench() {}

  static Figures run(Federation federation, Path dir, int batchSize, double warmupSeconds,
      double phaseSeconds, int pairs, PrintStream out) throws Exception {
    ManagedChannel channel = federation.nationalAsRegionalNode();
    List<DataPoint> batch = new ArrayList<>();
    Indicators.Source source = Indicators.Source.of(Federation.REGIONAL);
    Instant now = Instant.now();
    for (int i = 0; i < batchSize; i++) {
      batch.add(SyntheticSource.point(source, i, now));
    }
    Files.createDirectories(dir);
    phase(channel, dir, batch, true, warmupSeconds / 2, 0);
    phase(channel, dir, batch, false, warmupSeconds / 2, 1);
    List<Double> on = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      on.add(phase(channel, dir, batch, true, phaseSeconds, 2 + 2 * p));
      off.add(phase(channel, dir, batch, false, phaseSeconds, 3 + 2 * p));
      out.printf(Locale.ROOT, "  pair %d: spool on %,.0f points/s, spool off %,.0f "
          + "points/s, ratio %.2f%n", p + 1, on.get(p), off.get(p), on.get(p) / off.get(p));
    }
    return new Figures(on, off, batchSize);
  }

  // One phase on a fresh spool (and stream): points acknowledged per second while it ran.
  private static double phase(ManagedChannel channel, Path dir, List<DataPoint> batch,
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
        }
      }
      long acked = spool.acknowledgedSequence();
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      if (startAck < 0 || elapsed <= 0) {
        return 0;
      }
      return (acked - startAck) * (double) batch.size() / elapsed;
    } finally {
      exporter.close();
      spool.close();
    }
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
