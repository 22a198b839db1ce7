package cn.cpin.node.monitoring;

import cn.cpin.node.NodeContext;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import io.grpc.Channel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * System E at a regional or industry node: its spool ({@code <data dir>/monitoring/spool.mv}), the
 * collector of its own indicators and security events, the optional synthetic source, and — once
 * the node serves — the exporter to its parent. A regional node also relays its industry nodes'
 * batches through the same spool ({@link #relay()}).
 */
public final class NodeMonitoring implements AutoCloseable {
  private final NodeContext context;
  private final MonitoringSpool spool;
  private final MonitoringCollector collector;
  private final List<AutoCloseable> running = new ArrayList<>();

  private NodeMonitoring(NodeContext context, MonitoringSpool spool,
      MonitoringCollector collector) {
    this.context = context;
    this.spool = spool;
    this.collector = collector;
  }

  /** Opens the spool and prepares the collector; nothing runs until {@link #start}. */
  public static NodeMonitoring open(NodeContext context) throws IOException {
    Path dir = context.dataDirectory().resolve("monitoring");
    Files.createDirectories(dir);
    MonitoringSpool spool = MonitoringSpool.open(
        EmbeddedKeyValueStore.open(dir.resolve("spool.mv")), context.nodeCode().toString(),
        context.options().monitoringSpoolMaxBytes(), context.events(), context.clock());
    MonitoringCollector collector = new MonitoringCollector(
        Indicators.Source.of(context.nodeCode()), spool, context.events(), context.clock(),
        context.options().monitoringInterval());
    collector.reportSecurityEventsOf(context.events());
    return new NodeMonitoring(context, spool, collector);
  }

  public MonitoringSpool spool() {
    return spool;
  }

  /** Where the node's systems register gauges and count events. */
  public MonitoringCollector collector() {
    return collector;
  }

  /** The receiver of a regional node: child batches go into this node's spool, unchanged. */
  public MonitoringReceiver relay() {
    return new MonitoringReceiver(context.nodeCode(), new RelayStore(spool), context.clock());
  }

  /** Starts collecting and exporting to {@code parent}; returns what to close at stop. */
  public List<AutoCloseable> start(Channel parent) {
    MonitoringExporter exporter = new MonitoringExporter(spool, parent, context.events(),
        MonitoringExporter.Settings.standard());
    exporter.start();
    running.add(exporter);
    collector.start();
    running.add(collector);
    long synthetic = context.options().monitoringSyntheticPoints();
    if (synthetic > 0) {
      context.events().warn("monitoring.synthetic", "message", "TESTING ONLY: producing "
          + synthetic + " synthetic monitoring points");
      SyntheticSource source = new SyntheticSource(Indicators.Source.of(context.nodeCode()),
          spool, context.events(), context.clock(), synthetic,
          context.options().monitoringSyntheticRate());
      source.start();
      running.add(source);
    }
    return List.of(this);
  }

  @Override
  public void close() {
    for (int i = running.size() - 1; i >= 0; i--) {
      try {
        running.get(i).close();
      } catch (Exception e) {
        context.events().warn("monitoring.close_failed", "error", e.toString());
      }
    }
    running.clear();
    spool.close();
  }
}
