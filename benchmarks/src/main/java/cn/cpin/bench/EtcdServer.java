package cn.cpin.bench;

import cn.cpin.protocol.store.EtcdKeyValueStore;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away single-member etcd on loopback for benchmark (c): a temporary data directory,
 * 127.0.0.1:2379 if free (else any free port), default durability (fsync on). Stopped, and its
 * directory deleted, by {@link #close}.
 */
final class EtcdServer implements AutoCloseable {
  private final Process process;
  private final Path dataDir;
  final String endpoint;
  final String version;

  private EtcdServer(Process process, Path dataDir, String endpoint, String version) {
    this.process = process;
    this.dataDir = dataDir;
    this.endpoint = endpoint;
    this.version = version;
  }

  /** The etcd binary: /usr/bin/etcd, /usr/local/bin/etcd or one on the PATH. */
  static Optional<Path> binary() {
    for (String candidate : List.of("/usr/bin/etcd", "/usr/local/bin/etcd")) {
      if (Files.isExecutable(Path.of(candidate))) {
        return Optional.of(Path.of(candidate));
      }
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(File.pathSeparator)) {
        Path p = Path.of(dir, "etcd");
        if (Files.isExecutable(p)) {
          return Optional.of(p);
        }
      }
    }
    return Optional.empty();
  }

  static EtcdServer start(Path binary, Path parent) throws Exception {
    int client = free(2379);
    int peer = free(client == 2379 ? 2380 : 0);
    Path dataDir = Files.createTempDirectory(parent, "etcd-");
    String clientUrl = "http://127.0.0.1:" + client;
    String peerUrl = "http://127.0.0.1:" + peer;
    Process process = new ProcessBuilder(binary.toString(),
        "--name", "cpin-bench",
        "--data-dir", dataDir.resolve("data").toString(),
        "--listen-client-urls", clientUrl,
        "--advertise-client-urls", clientUrl,
        "--listen-peer-urls", peerUrl,
        "--initial-advertise-peer-urls", peerUrl,
        "--initial-cluster", "cpin-bench=" + peerUrl,
        "--log-level", "warn")
        .redirectErrorStream(true)
        .redirectOutput(dataDir.resolve("etcd.log").toFile())
        .start();
    EtcdServer server = new EtcdServer(process, dataDir, clientUrl, version(binary));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      if (!process.isAlive()) {
        server.close();
        throw new IOException("etcd exited with " + process.exitValue() + " (log: "
            + dataDir.resolve("etcd.log") + ")");
      }
      try (EtcdKeyValueStore probe = EtcdKeyValueStore.connect(List.of(clientUrl), "/probe/",
          Duration.ofSeconds(2))) {
        probe.get("x");
        return server;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          server.close();
          throw new IOException("etcd did not answer at " + clientUrl + " within 20 s", e);
        }
        Thread.sleep(200);
      }
    }
  }

  private static String version(Path binary) {
    try {
      Process p = new ProcessBuilder(binary.toString(), "--version").redirectErrorStream(true)
          .start();
      String out = new String(p.getInputStream().readAllBytes()).lines().findFirst().orElse("");
      p.waitFor(5, TimeUnit.SECONDS);
      return out.trim();
    } catch (IOException e) {
      return "unknown";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown";
    }
  }

  private static int free(int preferred) throws IOException {
    if (preferred != 0) {
      try (ServerSocket s = new ServerSocket(preferred, 1, InetAddress.getLoopbackAddress())) {
        return s.getLocalPort();
      } catch (IOException taken) {
        // fall through to any free port
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    Benchmarks.deleteTree(dataDir);
  }
}
