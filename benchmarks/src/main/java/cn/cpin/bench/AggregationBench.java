package cn.cpin.bench;

import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.CallerRole;
import cn.cpin.node.ErrorMappingInterceptor;
import cn.cpin.node.EventLog;
import cn.cpin.node.RequestValidationInterceptor;
import cn.cpin.node.aggregation.AggregateUplink;
import cn.cpin.node.aggregation.Inventory;
import cn.cpin.node.aggregation.InventoryQueries;
import cn.cpin.node.aggregation.InventoryServiceImpl;
import cn.cpin.node.aggregation.NodeAggregationServiceImpl;
import cn.cpin.node.aggregation.ProviderInventoryServiceImpl;
import cn.cpin.node.aggregation.ResourceIdentifiers;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.TestCertificates;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.provider.ProviderSimulator;
import cn.cpin.provider.ResourceMix;
import com.google.protobuf.util.Timestamps;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Benchmark (g), system B (ARCHITECTURE.md §9, AGG-012): how long a provider's change takes to
 * become visible in the regional node's inventory — the view selection reads — with 10,000
 * providers connected over loopback mutual TLS, half at an industry node (the change then crosses
 * the industry → regional report) and half at the regional node itself; and the heap the
 * in-memory inventory needs for 1,000,000 resources.
 */
final class AggregationBench {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");
  static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  static final double LATENCY_TARGET_MS = 1000;
  static final long HEAP_TARGET_BYTES = 1L << 30;

  private AggregationBench() {}

  /** What the run measured, for the summary table. */
  record Figures(double[] viaIndustryMs, double[] directMs, long changes, long lost,
      double connectSeconds) {}

  // ---- heap for N resources --------------------------------------------------------------

  /** Heap the inventory holds for {@code count} realistic resources of 10 000 providers. */
  static long heapFor(int count, PrintStream out) {
    long before = usedAfterGc();
    Inventory inventory = new Inventory(REGIONAL, new DiscardingStore(), Clock.systemUTC(),
        Duration.ofSeconds(10));
    ResourceMix mix = new ResourceMix(1);
    int providers = 10_000;
    int each = Math.max(1, count / providers);
    long serial = 0;
    long now = System.currentTimeMillis();
    for (int p = 0; p < providers && serial < count; p++) {
      String provider = Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT, p + 1).toString();
      List<Resource> batch = new ArrayList<>(each);
      for (int i = 0; i < each && serial < count; i++) {
        Resource r = mix.resource("res-" + i);
        batch.add(r.toBuilder()
            .setResourceId(Identifier.of(REGIONAL, IdentifierKind.RESOURCE, ++serial).toString())
            .setProviderId(provider)
            .setProvenance(Provenance.newBuilder().setOriginNodeCode(REGIONAL.toString())
                .setProviderId(provider).setReceivedAt(Timestamps.fromMillis(now)))
            .build());
      }
      inventory.applySnapshot(inventory.provider(provider), 1, batch);
    }
    long after = usedAfterGc();
    if (inventory.size() != count) {
      throw new IllegalStateException("inventory holds " + inventory.size() + " of " + count);
    }
    out.printf("  inventory of %,d resources: %,d bytes of heap (%,d bytes per resource)%n",
        inventory.size(), after - before, (after - before) / count);
    return after - before;
  }

  private static long usedAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** A store that keeps nothing, so that the heap figure is the in-memory view alone. */
  static final class DiscardingStore implements KeyValueStore {
    @Override
    public Optional<byte[]> get(String key) {
      return Optional.empty();
    }

    @Override
    public SortedMap<String, byte[]> scan(String prefix) {
      return new TreeMap<>();
    }

    @Override
    public boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
        Map<String, Optional<byte[]>> expected) {
      return true;
    }

    @Override
    public void close() {}
  }

  // ---- propagation -----------------------------------------------------------------------

  /** One node's aggregation services on a loopback mTLS server. */
  private static final class AggregationServer implements AutoCloseable {
    final Inventory inventory;
    final KeyValueStore store;
    final Server server;
    final NodeTls tls;

    AggregationServer(NodeCode code, Path dir, Credentials credentials,
        List<java.security.cert.X509Certificate> anchors, EventLog events) throws Exception {
      Files.createDirectories(dir);
      store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
      inventory = new Inventory(code, store, Clock.systemUTC(), Duration.ofSeconds(10));
      AtomicLong serials = new AtomicLong();
      Map<String, String> issued = new ConcurrentHashMap<>();
      // Identifiers as the library would give them; issuance is not what this measures.
      ResourceIdentifiers identifiers = (provider, key) -> issued.computeIfAbsent(
          provider + "\n" + key,
          k -> Identifier.of(code, IdentifierKind.RESOURCE, serials.incrementAndGet()).toString());
      CpinPeerVerifier verifier = new CpinPeerVerifier(anchors, Clock.systemUTC());
      tls = new NodeTls(credentials, verifier);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(
              new InetSocketAddress("127.0.0.1", 0))
          .sslContext(tls.serverContext())
          .addService(new ProviderInventoryServiceImpl(inventory, identifiers, p -> { },
              Clock.systemUTC()))
          .addService(new InventoryServiceImpl(new InventoryQueries(inventory, store)))
          .addService(new NodeAggregationServiceImpl(inventory))
          .intercept(new RequestValidationInterceptor())
          // Every participant is an approved provider here; the service center is not measured.
          .intercept(new AccessControlInterceptor(code, verifier, c -> false, Clock.systemUTC(),
              participant -> Set.of(CallerRole.CALLER_ROLE_PROVIDER)))
          .intercept(new ErrorMappingInterceptor((method, e) -> events.error(
              "rpc.unexpected_error", "method", method, "exception", e.toString(), "at",
              Arrays.toString(Arrays.copyOf(e.getStackTrace(),
                  Math.min(6, e.getStackTrace().length))))));
      server = builder.build().start();
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", server.getPort());
    }

    @Override
    public void close() {
      server.shutdownNow();
      store.close();
    }
  }

  static Figures propagation(Path root, int providers, int resourcesEach, double seconds,
      double changesPerSecond, PrintStream out) throws Exception {
    out.printf("%n(g) aggregation: %,d providers (half at industry node %s, half at regional "
        + "node %s), %d resources each, loopback mTLS%n", providers, INDUSTRY, REGIONAL,
        resourcesEach);
    CertificateAuthority root_ = CertificateAuthority.createRoot("bench root",
        Duration.ofDays(2), Clock.systemUTC());
    CertificateAuthority regionalCa = TestCertificates.issuingCa(root_, REGIONAL);
    CertificateAuthority industryCa = TestCertificates.issuingCa(root_, INDUSTRY);
    List<java.security.cert.X509Certificate> anchors = List.of(root_.certificate());
    // Only errors (e.g. an unexpected exception behind an INTERNAL status) reach the output.
    EventLog events = new EventLog("bench", new PrintStream(new java.io.OutputStream() {
      private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

      @Override
      public synchronized void write(int b) {
        if (b != '\n') {
          line.write(b);
          return;
        }
        String text = line.toString(java.nio.charset.StandardCharsets.UTF_8);
        line.reset();
        if (text.contains("\"level\":\"ERROR\"")) {
          out.println("  " + text);
        }
      }
    }, true, java.nio.charset.StandardCharsets.UTF_8));
    List<AutoCloseable> open = new ArrayList<>();
    try {
      AggregationServer regional = new AggregationServer(REGIONAL, root.resolve("86.44"),
          TestCertificates.valid(root_, CpinIdentity.node(REGIONAL), Duration.ofDays(1)),
          anchors, events);
      open.add(regional);
      Credentials industryNode = TestCertificates.valid(root_, CpinIdentity.node(INDUSTRY),
          Duration.ofDays(1));
      AggregationServer industry = new AggregationServer(INDUSTRY, root.resolve("86.44.C"),
          industryNode, anchors, events);
      open.add(industry);
      ManagedChannel up = industry.tls.channel(regional.address(), CpinIdentity.node(REGIONAL));
      open.add(up::shutdownNow);
      AggregateUplink uplink = new AggregateUplink(industry.inventory, up, events);
      uplink.start();
      open.add(uplink);

      long t0 = System.nanoTime();
      List<ManagedChannel> channels = new ArrayList<>(providers);
      List<String> ids = new ArrayList<>(providers);
      for (int i = 0; i < providers; i++) {
        boolean atIndustry = i % 2 == 0;
        NodeCode node = atIndustry ? INDUSTRY : REGIONAL;
        Identifier id = Identifier.of(node, IdentifierKind.PARTICIPANT, i + 1);
        Credentials credentials = TestCertificates.valid(atIndustry ? industryCa : regionalCa,
            CpinIdentity.participant(node, id), Duration.ofDays(1));
        ManagedChannel channel = NodeTls.channel(atIndustry ? industry.address()
            : regional.address(), credentials, anchors, CpinIdentity.node(node));
        channels.add(channel);
        ids.add(id.toString());
      }
      open.add(() -> channels.forEach(ManagedChannel::shutdownNow));
      out.printf("  %,d provider certificates issued in %.1f s%n", providers,
          (System.nanoTime() - t0) / 1e9);
      t0 = System.nanoTime();
      ProviderSimulator simulator = new ProviderSimulator(channels, ids, resourcesEach, 2026);
      open.add(simulator);
      List<ProviderSimulator.Provider> failed = simulator.connectAll(200, Duration.ofMinutes(5));
      int expected = providers * resourcesEach;
      waitFor(() -> regional.inventory.size() >= expected, Duration.ofMinutes(2));
      double connectSeconds = (System.nanoTime() - t0) / 1e9;
      out.printf("  %,d providers connected and published in %.1f s (%d failed); regional "
          + "inventory holds %,d resources%n", providers - failed.size(), connectSeconds,
          failed.size(), regional.inventory.size());
      if (!failed.isEmpty()) {
        out.println("  first failure: " + failed.get(0).failure());
      }
      simulator.startHeartbeats(Duration.ofSeconds(10));

      // A change is seen when the regional inventory shows the new free units.
      Map<String, long[]> waiting = new ConcurrentHashMap<>(); // id -> {free units, sent nanos}
      List<Long> viaIndustry = java.util.Collections.synchronizedList(new ArrayList<>());
      List<Long> direct = java.util.Collections.synchronizedList(new ArrayList<>());
      regional.inventory.onChange((Collection<String> changed) -> {
        long now = System.nanoTime();
        for (String id : changed) {
          long[] w = waiting.get(id);
          if (w != null && regional.inventory.get(id).map(r -> r.getCapacity().getFreeUnits())
              .orElse(-1) == w[0] && waiting.remove(id, w)) {
            (id.startsWith(INDUSTRY + "/") ? viaIndustry : direct).add(now - w[1]);
          }
        }
      });
      ResourceMix mix = new ResourceMix(99);
      Random random = new Random(7);
      long changes = 0;
      long intervalNanos = (long) (1e9 / changesPerSecond);
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      for (long next = start; next < end; next += intervalNanos) {
        long sleep = next - System.nanoTime();
        if (sleep > 0) {
          TimeUnit.NANOSECONDS.sleep(sleep);
        }
        ProviderSimulator.Provider p = simulator.any(random);
        int index = random.nextInt(resourcesEach);
        String providerKey = "res-" + index;
        String resourceId = p.client().resourceId(providerKey);
        if (resourceId == null || waiting.containsKey(resourceId)) {
          continue;
        }
        p.change(index, mix, r -> waiting.put(resourceId,
            new long[] {r.getCapacity().getFreeUnits(), System.nanoTime()}));
        changes++;
      }
      waitFor(waiting::isEmpty, Duration.ofSeconds(10));
      long lost = waiting.size();
      double[] v = millis(viaIndustry);
      double[] d = millis(direct);
      out.printf("  %,d changes at %.0f/s for %.0f s; via industry: %s; direct: %s; not seen "
          + "within 10 s: %d%n", changes, changesPerSecond, seconds, summary(v), summary(d), lost);
      return new Figures(v, d, changes, lost, connectSeconds);
    } finally {
      for (int i = open.size() - 1; i >= 0; i--) {
        try {
          open.get(i).close();
        } catch (Exception e) {
          out.println("  close failed: " + e);
        }
      }
    }
  }

  static double percentile(double[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }

  private static double[] millis(List<Long> nanos) {
    double[] ms;
    synchronized (nanos) {
      ms = nanos.stream().mapToDouble(n -> n / 1e6).toArray();
    }
    Arrays.sort(ms);
    return ms;
  }

  private static String summary(double[] ms) {
    return String.format(java.util.Locale.ROOT, "n=%d p50 %.1f ms, p99 %.1f ms, max %.1f ms",
        ms.length, percentile(ms, 50), percentile(ms, 99),
        ms.length == 0 ? Double.NaN : ms[ms.length - 1]);
  }

  private static void waitFor(java.util.function.BooleanSupplier condition, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }
}
