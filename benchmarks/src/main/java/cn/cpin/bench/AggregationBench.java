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
 * the industry → regional report) and half at the regional node itself; whether the regional view
 * is exact after providers drop and resume and the industry node restarts; and the heap the
 * in-memory inventory needs for 1,000,000 resources. The providers run in a child process
 * ({@link ProviderFleet}), so that each process holds one end of each connection.
 */
final class AggregationBench {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");
  static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  static final double LATENCY_TARGET_MS = 1000;
  static final long HEAP_TARGET_BYTES = 1L << 30;

  private AggregationBench() {}

  /** What the run measured, for the summary table. */
  record Figures(List<double[]> viaIndustryMs, List<double[]> directMs, long changes, long lost,
      long offlineAfterDrop, long wrongAfterRestart) {}

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

  /** One node's aggregation services on a loopback mTLS server; can restart on its directory. */
  private static final class AggregationServer implements AutoCloseable {
    final NodeCode code;
    final Path dir;
    final Credentials credentials;
    final List<java.security.cert.X509Certificate> anchors;
    final EventLog events;
    final AtomicLong serials = new AtomicLong();
    final Map<String, String> issued = new ConcurrentHashMap<>();
    Inventory inventory;
    KeyValueStore store;
    Server server;
    NodeTls tls;
    java.util.concurrent.ScheduledExecutorService sweeper;

    AggregationServer(NodeCode code, Path dir, Credentials credentials,
        List<java.security.cert.X509Certificate> anchors, EventLog events) throws Exception {
      this.code = code;
      this.dir = dir;
      this.credentials = credentials;
      this.anchors = anchors;
      this.events = events;
      Files.createDirectories(dir);
      start(0);
    }

    private void start(int port) throws Exception {
      store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
      inventory = new Inventory(code, store, Clock.systemUTC(), Duration.ofSeconds(10));
      // Identifiers as the library would give them; issuance is not what this measures.
      ResourceIdentifiers identifiers = (provider, key) -> issued.computeIfAbsent(
          provider + "\n" + key,
          k -> Identifier.of(code, IdentifierKind.RESOURCE, serials.incrementAndGet()).toString());
      CpinPeerVerifier verifier = new CpinPeerVerifier(anchors, Clock.systemUTC());
      tls = new NodeTls(credentials, verifier);
      NettyServerBuilder builder = NettyServerBuilder.forAddress(
              new InetSocketAddress("127.0.0.1", port))
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
      // The liveness sweep a node runs (AGG-007), every second here.
      sweeper = cn.cpin.node.Daemons.scheduler("aggregation-sweep");
      sweeper.scheduleWithFixedDelay(inventory::sweep, 1, 1, TimeUnit.SECONDS);
    }

    /** Stops as a crash of the process would (streams cut), and starts on the same port. */
    void restart() throws Exception {
      int port = server.getPort();
      stop();
      start(port);
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", server.getPort());
    }

    private void stop() throws InterruptedException {
      sweeper.shutdownNow();
      server.shutdownNow();
      server.awaitTermination(10, TimeUnit.SECONDS);
      store.close();
    }

    @Override
    public void close() throws Exception {
      stop();
    }
  }

  static Figures propagation(Path root, int providers, int resourcesEach, double warmup,
      double seconds, double changesPerSecond, PrintStream out) throws Exception {
    out.printf("%n(g) aggregation: %,d providers in a separate process (half at industry node "
        + "%s, half at regional node %s), %d resources each, loopback mTLS%n", providers,
        INDUSTRY, REGIONAL, resourcesEach);
    out.println("  nodes' process: " + Benchmarks.openFileLimits());
    CertificateAuthority root_ = CertificateAuthority.createRoot("bench root",
        Duration.ofDays(2), Clock.systemUTC());
    CertificateAuthority regionalCa = TestCertificates.issuingCa(root_, REGIONAL);
    CertificateAuthority industryCa = TestCertificates.issuingCa(root_, INDUSTRY);
    List<java.security.cert.X509Certificate> anchors = List.of(root_.certificate());
    Path pki = root.resolve("pki");
    Files.createDirectories(pki);
    regionalCa.save(pki.resolve("regional-ca.pem"), pki.resolve("regional-ca.key"));
    industryCa.save(pki.resolve("industry-ca.pem"), pki.resolve("industry-ca.key"));
    cn.cpin.protocol.pki.KeyMaterial.writeCertificates(pki.resolve("root.pem"),
        root_.certificate());
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
      AggregateUplink[] uplink = {new AggregateUplink(industry.inventory, up, events)};
      uplink[0].start();
      open.add(() -> uplink[0].close());

      // A change is seen when the regional inventory shows its send time (the selection view's
      // hook); both processes read the same monotonic clock.
      Map<String, Long> lastSeen = new ConcurrentHashMap<>();
      Map<String, Long> seenAt = new ConcurrentHashMap<>(); // "id sent" -> seen nanos
      regional.inventory.onChange((Collection<String> changed) -> {
        long now = System.nanoTime();
        for (String id : changed) {
          regional.inventory.get(id).ifPresent(r -> {
            String label = r.getLabelsMap().get(ProviderFleet.SENT_LABEL);
            if (label != null) {
              long sent = Long.parseLong(label);
              Long previous = lastSeen.put(id, sent);
              if (previous == null || previous != sent) {
                seenAt.putIfAbsent(id + " " + sent, now);
              }
            }
          });
        }
      });

      Fleet fleet = new Fleet(root, pki, industry.address().getPort(),
          regional.address().getPort(), providers, resourcesEach);
      open.add(fleet);
      String connected = fleet.await(Duration.ofMinutes(15));
      out.println("  provider process: " + connected);
      int expected = providers * resourcesEach;
      long t0 = System.nanoTime();
      waitFor(() -> regional.inventory.size() >= expected, Duration.ofMinutes(2));
      out.printf("  regional inventory holds %,d resources (%.1f s after the last provider "
          + "connected)%n", regional.inventory.size(), (System.nanoTime() - t0) / 1e9);

      List<double[]> viaRuns = new ArrayList<>();
      List<double[]> directRuns = new ArrayList<>();
      long changes = 0;
      long lost = 0;
      // Run 0 warms up both processes' JIT at the same load; it is printed, not summarised.
      for (int run = warmup > 0 ? 0 : 1; run <= 2; run++) {
        Thread.sleep(2000);
        double length = run == 0 ? warmup : seconds;
        Path sends = root.resolve("sends-" + run + ".txt");
        String load0 = loadAverage();
        long cpu0 = ProviderFleet.cpuNanos();
        long wall0 = System.nanoTime();
        String reply = fleet.command("changes " + length + " " + changesPerSecond + " " + sends,
            Duration.ofSeconds((long) length + 120));
        Thread.sleep(10_000); // what is not seen by now counts as lost
        double nodesCpu = (ProviderFleet.cpuNanos() - cpu0) / 1e9;
        double wall = (System.nanoTime() - wall0) / 1e9;
        List<Long> via = new ArrayList<>();
        List<Long> direct = new ArrayList<>();
        long superseded = 0;
        long missing = 0;
        Map<String, Long> latestSent = new java.util.HashMap<>();
        List<String> lines = Files.readAllLines(sends);
        for (String line : lines) {
          String[] f = line.split(" ");
          latestSent.merge(f[0], Long.parseLong(f[1]), Math::max);
        }
        for (String line : lines) {
          String[] f = line.split(" ");
          Long seen = seenAt.get(line);
          if (seen != null) {
            (f[0].startsWith(INDUSTRY + "/") ? via : direct).add(seen - Long.parseLong(f[1]));
          } else if (latestSent.get(f[0]) > Long.parseLong(f[1])) {
            superseded++; // a later change of the same resource travelled in its place
          } else {
            missing++;
          }
        }
        double[] v = millis(via);
        double[] d = millis(direct);
        if (run > 0) {
          changes += lines.size();
          lost += missing;
          viaRuns.add(v);
          directRuns.add(d);
        }
        out.printf("  %s: %s; load average %s → %s; %,d changes at %.0f/s for %.0f s; "
            + "via industry: %s; direct: %s; superseded before seen: %d; not seen within 10 s: "
            + "%d; CPU of the nodes' process %.1f s over %.1f s wall (%.0f %% of one core)%n",
            run == 0 ? "warm-up" : "run " + run, reply, load0, loadAverage(), lines.size(),
            changesPerSecond, length,
            summary(v), summary(d), superseded, missing, nodesCpu, wall, 100 * nodesCpu / wall);
      }

      // Disconnects, resumes and a restart of the industry node; then the regional view must
      // equal what the providers last published, all of it offered again.
      out.println("  " + fleet.command("drop 10", Duration.ofMinutes(1)));
      Thread.sleep(Duration.ofSeconds(33).toMillis()); // three heartbeat intervals and a sweep
      Path dumpBefore = root.resolve("dump-drop.txt");
      fleet.command("dump " + dumpBefore, Duration.ofMinutes(1));
      long offlineAfterDrop = countOffline(regional.inventory);
      out.printf("  after dropping every 10th provider for 33 s: %,d resources OFFLINE at the "
          + "regional node (expected %,d)%n", offlineAfterDrop,
          (long) ((providers + 9) / 10) * resourcesEach);
      out.println("  " + fleet.command("reconnect", Duration.ofMinutes(5)));
      out.println("  " + fleet.command("touch-dropped", Duration.ofMinutes(5)));
      uplink[0].close();
      industry.restart();
      uplink[0] = new AggregateUplink(industry.inventory, up, events);
      uplink[0].start();
      out.println("  industry node restarted on its directory and port");
      Thread.sleep(3000);
      out.println("  " + fleet.command("reconnect", Duration.ofMinutes(10)));
      Path dump = root.resolve("dump-final.txt");
      fleet.command("dump " + dump, Duration.ofMinutes(1));
      List<String> wanted = Files.readAllLines(dump);
      long[] wrong = new long[1];
      waitFor(() -> (wrong[0] = mismatches(regional.inventory, wanted, null)) == 0,
          Duration.ofSeconds(60));
      mismatches(regional.inventory, wanted, out);
      out.printf("  regional view after disconnects, resumes and the industry restart: %,d of "
          + "%,d resources differ from what their providers published (free units or not "
          + "AVAILABLE)%n", wrong[0], wanted.size());
      fleet.command("quit", Duration.ofMinutes(1));
      return new Figures(viaRuns, directRuns, changes, lost, offlineAfterDrop, wrong[0]);
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

  private static long countOffline(Inventory inventory) {
    return inventory.list(new Inventory.Filter(null, Set.of(), null, null,
        cn.cpin.aggregation.v1.ResourceStatus.RESOURCE_STATUS_OFFLINE, null), "",
        Integer.MAX_VALUE).size();
  }

  /** Resources whose regional copy is missing, not AVAILABLE or has other free units. */
  private static long mismatches(Inventory inventory, List<String> wanted, PrintStream out) {
    long wrong = 0;
    for (String line : wanted) {
      String[] f = line.split(" ");
      Optional<Resource> r = "null".equals(f[0]) ? Optional.empty() : inventory.get(f[0]);
      boolean ok = r.isPresent()
          && r.get().getStatus() == cn.cpin.aggregation.v1.ResourceStatus.RESOURCE_STATUS_AVAILABLE
          && r.get().getCapacity().getFreeUnits() == Integer.parseInt(f[1]);
      if (!ok) {
        if (out != null && wrong < 3) {
          out.println("  differs: " + line + " regional: " + r.map(x -> x.getStatus() + " "
              + x.getCapacity().getFreeUnits()).orElse("absent"));
        }
        wrong++;
      }
    }
    return wrong;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (java.io.IOException e) {
      return "?";
    }
  }

  /** The provider process, started with this JVM's classpath, driven over its stdin/stdout. */
  private static final class Fleet implements AutoCloseable {
    private final Process process;
    private final java.io.BufferedReader replies;
    private final java.io.PrintWriter commands;

    Fleet(Path root, Path pki, int industryPort, int regionalPort, int providers,
        int resourcesEach) throws java.io.IOException {
      String launcher = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      process = new ProcessBuilder(launcher, "-Xmx3g", "-cp", System.getProperty("java.class.path"),
          ProviderFleet.class.getName(), pki.toString(), Integer.toString(industryPort),
          Integer.toString(regionalPort), Integer.toString(providers),
          Integer.toString(resourcesEach))
          .redirectError(root.resolve("provider-fleet.log").toFile())
          .start();
      replies = new java.io.BufferedReader(new java.io.InputStreamReader(
          process.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
      commands = new java.io.PrintWriter(new java.io.OutputStreamWriter(
          process.getOutputStream(), java.nio.charset.StandardCharsets.UTF_8), true);
    }

    /** The next "ok" line, waiting up to {@code timeout}. */
    String await(Duration timeout) throws Exception {
      java.util.concurrent.CompletableFuture<String> line =
          java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
              String l;
              while ((l = replies.readLine()) != null && !l.startsWith("ok")) {
                // anything else on stdout is noise
              }
              if (l == null) {
                throw new IllegalStateException("the provider process ended");
              }
              return l;
            } catch (java.io.IOException e) {
              throw new java.io.UncheckedIOException(e);
            }
          });
      return line.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    String command(String command, Duration timeout) throws Exception {
      commands.println(command);
      return await(timeout);
    }

    @Override
    public void close() throws InterruptedException {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
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
