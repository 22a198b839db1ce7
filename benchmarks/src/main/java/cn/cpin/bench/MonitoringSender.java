package cn.cpin.bench;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.node.EventLog;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringExporter;
import cn.cpin.node.monitoring.MonitoringSpool;
import cn.cpin.node.monitoring.SyntheticSource;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import io.grpc.ManagedChannel;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
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
 * The sending half of (m), in a process of its own as a regional node is deployed apart from the
 * national node: spools batches as node 86.44 and exports them over one stream, phase by phase,
 * and reports each phase on standard output for {@link MonitoringBench}:
 * {@code begin <phase>} when its measurement starts, then
 * {@code end <phase> <points acknowledged> <seconds> <CPU-seconds of this process>}.
 *
 * <p>Arguments: national port, regional node directory, trust anchors file, spool directory,
 * batch size, attributes per point, warm-up seconds, seconds per phase, pairs.
 */
final class MonitoringSender {
  // At most this many batches spooled ahead of the acknowledgements, so the spool stays small.
  private static final int AHEAD = 32;

  private MonitoringSender() {}

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Path regionalDir = Path.of(args[1]);
    Path anchors = Path.of(args[2]);
    Path dir = Path.of(args[3]);
    int batchSize = Integer.parseInt(args[4]);
    int attributes = Integer.parseInt(args[5]);
    double warmup = Double.parseDouble(args[6]);
    double phaseSeconds = Double.parseDouble(args[7]);
    int pairs = Integer.parseInt(args[8]);
    ManagedChannel channel = NodeTls.channel(new InetSocketAddress("127.0.0.1", port),
        CredentialFiles.read(regionalDir.resolve("pki"), "node"),
        KeyMaterial.readCertificates(anchors), CpinIdentity.node(NodeCode.national()));
    try {
      List<DataPoint> batch = batch(batchSize, attributes);
      Files.createDirectories(dir);
      phase(channel, dir, batch, true, warmup / 2, 0);
      phase(channel, dir, batch, false, warmup / 2, 1);
      for (int p = 0; p < pairs; p++) {
        phase(channel, dir, batch, true, phaseSeconds, 2 + 2 * p);
        phase(channel, dir, batch, false, phaseSeconds, 3 + 2 * p);
      }
    } finally {
      channel.shutdownNow();
    }
    System.exit(0);
  }

  private static List<DataPoint> batch(int size, int attributes) {
    List<DataPoint> batch = new ArrayList<>();
    Indicators.Source source = Indicators.Source.of(Federation.REGIONAL);
    Instant now = Instant.now();
    for (int i = 0; i < size; i++) {
      // The synthetic source's points with {@code attributes} attributes each (protobuf map
      // entries are the costliest part of a point to encode and parse).
      DataPoint.Builder point = SyntheticSource.point(source, i, now).toBuilder()
          .clearAttributes();
      for (int a = 0; a < attributes; a++) {
        point.putAttributes("attribute_" + a, "value_" + (i % 7));
      }
      batch.add(point.build());
    }
    return batch;
  }

  // One phase on a fresh spool (and stream); the producer encodes each batch as a collector does.
  private static void phase(ManagedChannel channel, Path dir, List<DataPoint> batch,
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
          Thread.sleep(0, 200_000);
        }
        if (startAck < 0 && spool.acknowledgedSequence() > 0) {
          startAck = spool.acknowledgedSequence();
          startNanos = System.nanoTime();
          startCpu = MonitoringBench.processCpuNanos();
          System.out.println("begin " + index);
          System.out.flush();
        }
      }
      long acked = spool.acknowledgedSequence();
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      double cpu = (MonitoringBench.processCpuNanos() - startCpu) / 1e9;
      long points = startAck < 0 ? 0 : (acked - startAck) * (long) batch.size();
      System.out.printf(Locale.ROOT, "end %d %d %.6f %.6f%n", index, points,
          startAck < 0 ? 0 : elapsed, startAck < 0 ? 0 : cpu);
      System.out.flush();
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
