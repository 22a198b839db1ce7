package cn.cpin.bench;

import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * The embedded store alone, shaped like one issuance: two reads (the request key, an owner
 * record) and one conditional three-key write (request index, record, outbox entry; 60-byte
 * values, random keys), each durable when it returns. It tells what the store allows apart from
 * the identifier logic, filing, TLS and the nodes sharing the cores in benchmark (b). Compared
 * with the absolute target of ARCHITECTURE.md §9 (10,000 durable issuances/s); 16 and 256
 * threads alternate in phases (A/B/A/B…) after a warm-up. A diagnostic, run by hand:
 *
 * <pre>java -cp benchmarks/target/cpin-benchmarks.jar cn.cpin.bench.StoreBench [seconds] [pairs]</pre>
 */
public final class StoreBench {
  private static final double TARGET = 10_000;

  private StoreBench() {}

  public static void main(String[] args) throws Exception {
    double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 4;
    int pairs = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int[] threadCounts = {16, 256};
    Path dir = Files.createTempDirectory("cpin-store-bench");
    System.out.printf(Locale.ROOT, "StoreBench: EmbeddedKeyValueStore in %s, %d cores, load "
        + "average at start %.2f; %d pairs of %.1f s phases (16 vs 256 threads)%n", dir,
        Runtime.getRuntime().availableProcessors(),
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(),
        pairs, seconds);
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"))) {
      for (int i = 0; i < 16; i++) {
        store.put("idn/record/owner-" + i, new byte[60]);
      }
      Load.Phase warm = Load.threads("warm-up", 64, Math.max(1, seconds / 2), issuance(store));
      System.out.printf(Locale.ROOT, "  warm-up: %,.0f /s%n", warm.rate());
      double[][] rates = new double[threadCounts.length][pairs];
      for (int p = 0; p < pairs; p++) {
        for (int k = 0; k < threadCounts.length; k++) {
          Load.Phase phase = Load.threads(threadCounts[k] + " threads", threadCounts[k], seconds,
              issuance(store));
          rates[k][p] = phase.rate();
          System.out.printf(Locale.ROOT, "  pair %d, %3d threads: %,8.0f issuance-shaped "
              + "writes/s (%d failed)%n", p + 1, threadCounts[k], phase.rate(), phase.failed());
        }
      }
      for (int k = 0; k < threadCounts.length; k++) {
        double mean = java.util.Arrays.stream(rates[k]).average().orElse(0);
        System.out.printf(Locale.ROOT, "%3d threads: mean %,.0f /s, %.2f× the 10,000/s target "
            + "(phases %s)%n", threadCounts[k], mean, mean / TARGET,
            java.util.Arrays.toString(java.util.Arrays.stream(rates[k]).mapToLong(Math::round)
                .toArray()));
      }
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static Load.BlockingCall issuance(EmbeddedKeyValueStore store) {
    byte[] value = new byte[60];
    return (thread, seq) -> {
      SplittableRandom random = new SplittableRandom(((long) thread << 32) ^ seq ^ System.nanoTime());
      String request = "idn/request/" + Long.toHexString(random.nextLong());
      store.get(request);
      store.get("idn/record/owner-" + (thread % 16));
      if (!store.write(Map.of(request, value,
          "idn/record/" + Long.toHexString(random.nextLong()), value,
          "idn/outbox/" + Long.toHexString(random.nextLong()), value), List.of(),
          Map.of(request, Optional.empty()))) {
        throw new IllegalStateException("request key collided");
      }
    };
  }
}
