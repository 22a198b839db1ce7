package cn.cpin.bench;

import cn.cpin.aggregation.v1.Resource;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.pki.TestCertificates;
import cn.cpin.provider.ProviderSimulator;
import cn.cpin.provider.ResourceMix;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The simulated providers of benchmark (g) in a process of their own, so that the nodes' process
 * holds only the server ends of the 10,000 connections (the hard limit of open files is 20,000 per
 * process here). Each provider has its own certificate and mTLS channel, issued here by the test
 * issuing CAs the harness saved. Driven by the harness over stdin/stdout, one command per line:
 *
 * <ul>
 *   <li>{@code changes SECONDS RATE FILE}: random free-capacity changes at RATE per second; each
 *       changed resource carries its send time ({@link #SENT_LABEL}, {@link System#nanoTime}, the
 *       machine's monotonic clock, common to both processes); FILE gets "resource_id sent" lines.
 *   <li>{@code drop EVERY}: every EVERY-th provider's stream breaks without a clean end.
 *   <li>{@code reconnect}: every provider without a stream connects again (resuming if it can).
 *   <li>{@code touch-dropped}: each provider dropped before changes one resource.
 *   <li>{@code dump FILE}: "resource_id free_units" of every published resource.
 *   <li>{@code quit}.
 * </ul>
 * Each command is answered by one line starting with {@code ok}.
 */
final class ProviderFleet {
  static final String SENT_LABEL = "bench_sent_nanos";

  private ProviderFleet() {}

  /** Arguments: PKI_DIR INDUSTRY_PORT REGIONAL_PORT PROVIDERS RESOURCES_EACH. */
  public static void main(String[] args) throws Exception {
    Path pki = Path.of(args[0]);
    int industryPort = Integer.parseInt(args[1]);
    int regionalPort = Integer.parseInt(args[2]);
    int providers = Integer.parseInt(args[3]);
    int resourcesEach = Integer.parseInt(args[4]);
    PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
    System.err.println("provider fleet: " + Benchmarks.openFileLimits());

    CertificateAuthority industryCa = CertificateAuthority.load(pki.resolve("industry-ca.pem"),
        pki.resolve("industry-ca.key"));
    CertificateAuthority regionalCa = CertificateAuthority.load(pki.resolve("regional-ca.pem"),
        pki.resolve("regional-ca.key"));
    List<X509Certificate> anchors = KeyMaterial.readCertificates(pki.resolve("root.pem"));
    long t0 = System.nanoTime();
    List<ManagedChannel> channels = new ArrayList<>(providers);
    List<String> ids = new ArrayList<>(providers);
    for (int i = 0; i < providers; i++) {
      boolean atIndustry = i % 2 == 0;
      NodeCode node = atIndustry ? AggregationBench.INDUSTRY : AggregationBench.REGIONAL;
      Identifier id = Identifier.of(node, IdentifierKind.PARTICIPANT, i + 1);
      Credentials credentials = TestCertificates.valid(atIndustry ? industryCa : regionalCa,
          CpinIdentity.participant(node, id), Duration.ofDays(1));
      channels.add(NodeTls.channel(new InetSocketAddress("127.0.0.1",
          atIndustry ? industryPort : regionalPort), credentials, anchors,
          CpinIdentity.node(node)));
      ids.add(id.toString());
    }
    double certSeconds = (System.nanoTime() - t0) / 1e9;
    t0 = System.nanoTime();
    ProviderSimulator simulator = new ProviderSimulator(channels, ids, resourcesEach, 2026);
    List<ProviderSimulator.Provider> failed = simulator.connectAll(64, Duration.ofMinutes(10));
    out.printf("ok connected %d failed %d certificates_s %.1f connect_s %.1f first_failure %s%n",
        providers - failed.size(), failed.size(), certSeconds, (System.nanoTime() - t0) / 1e9,
        failed.isEmpty() ? "-" : causes(failed.get(0).failure()));
    simulator.startHeartbeats(Duration.ofSeconds(10));

    List<ProviderSimulator.Provider> dropped = new ArrayList<>();
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
        StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      String[] c = line.trim().split(" ");
      switch (c[0]) {
        case "changes" -> {
          long cpu0 = cpuNanos();
          long n = changes(simulator, resourcesEach, Double.parseDouble(c[1]),
              Double.parseDouble(c[2]), Path.of(c[3]));
          out.printf("ok changes %d cpu_s %.1f%n", n, (cpuNanos() - cpu0) / 1e9);
        }
        case "drop" -> {
          int every = Integer.parseInt(c[1]);
          dropped.clear();
          for (int i = 0; i < simulator.providers().size(); i += every) {
            ProviderSimulator.Provider p = simulator.providers().get(i);
            p.client().disconnect();
            dropped.add(p);
          }
          out.printf("ok dropped %d%n", dropped.size());
        }
        case "reconnect" -> {
          // Passes until every provider has a stream: under load some TLS handshakes time out,
          // and a provider may learn of a broken stream only after a pass began.
          int attempts = 0;
          int ok = 0;
          for (int pass = 0; pass < 6; pass++) {
            List<CompletableFuture<?>> all = new ArrayList<>();
            Semaphore permits = new Semaphore(64);
            for (ProviderSimulator.Provider p : simulator.providers()) {
              if (!p.client().connected()) {
                permits.acquire();
                all.add(p.connect().whenComplete((a, e) -> permits.release()));
              }
            }
            attempts += all.size();
            ok += completed(all, "reconnect");
            Thread.sleep(3000);
          }
          int connected = 0;
          for (ProviderSimulator.Provider p : simulator.providers()) {
            connected += p.client().connected() ? 1 : 0;
          }
          out.printf("ok reconnected %d of %d attempts; connected %d%n", ok, attempts,
              connected);
        }
        case "touch-dropped" -> {
          ResourceMix mix = new ResourceMix(5);
          List<CompletableFuture<?>> all = new ArrayList<>();
          for (ProviderSimulator.Provider p : dropped) {
            all.add(p.change(0, mix, r -> { }));
          }
          out.printf("ok touched %d%n", completed(all, "change"));
        }
        case "dump" -> {
          List<String> lines = new ArrayList<>();
          for (ProviderSimulator.Provider p : simulator.providers()) {
            for (Resource r : p.resources()) {
              String id = p.client().resourceId(r.getLocalKey());
              lines.add(id + " " + r.getCapacity().getFreeUnits());
            }
          }
          Files.write(Path.of(c[1]), lines, StandardCharsets.UTF_8);
          out.printf("ok dumped %d%n", lines.size());
        }
        case "quit" -> {
          simulator.close();
          channels.forEach(ManagedChannel::shutdownNow);
          out.println("ok quit");
          System.exit(0);
        }
        default -> out.println("ok unknown " + c[0]);
      }
    }
    System.exit(0);
  }

  private static long changes(ProviderSimulator simulator, int resourcesEach, double seconds,
      double perSecond, Path sends) throws Exception {
    ResourceMix mix = new ResourceMix(99);
    Random random = new Random(7);
    List<String> sent = new ArrayList<>();
    long intervalNanos = (long) (1e9 / perSecond);
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    for (long next = start; next < end; next += intervalNanos) {
      long sleep = next - System.nanoTime();
      if (sleep > 0) {
        TimeUnit.NANOSECONDS.sleep(sleep);
      }
      ProviderSimulator.Provider p = simulator.any(random);
      int index = random.nextInt(resourcesEach);
      String id = p.client().resourceId("res-" + index);
      if (id == null || !p.client().connected()) {
        continue;
      }
      p.change(index, r -> {
        long now = System.nanoTime();
        sent.add(id + " " + now);
        return mix.changeFreeUnits(r).toBuilder().putLabels(SENT_LABEL, Long.toString(now))
            .build();
      });
    }
    Files.write(sends, sent, StandardCharsets.UTF_8);
    return sent.size();
  }

  /** How many of {@code all} complete normally within five minutes; failures go to stderr. */
  private static int completed(List<CompletableFuture<?>> all, String what) {
    int ok = 0;
    for (CompletableFuture<?> f : all) {
      try {
        f.get(5, TimeUnit.MINUTES);
        ok++;
      } catch (Exception e) {
        System.err.println(what + " failed: " + e);
      }
    }
    return ok;
  }

  private static String causes(Throwable t) {
    StringBuilder text = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      text.append(text.length() == 0 ? "" : " <- ").append(c);
    }
    return text.toString().replace('\n', ' ');
  }

  static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory
        .getOperatingSystemMXBean()).getProcessCpuTime();
  }
}
