package cn.cpin.conformance.faults;

import cn.cpin.conformance.federation.LocalFederation;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Starts a node process again on the data directory and port of a {@link LocalFederation} node
 * that died, with the command line {@code LocalFederation.launch} builds for a node that has
 * enrolled already (no enrollment token, no first-start trust anchor), so that fault tests can
 * kill and restart nodes without changing the federation.
 */
final class NodeProcess {
  private static final long START_TIMEOUT_MS = 60_000;

  private NodeProcess() {
  }

  /**
   * Launches {@code mainClass} for {@code dead}'s code on {@code dead}'s port and data directory,
   * below {@code parent}, reporting to {@code national}; appends its output to
   * {@code <data dir>/node-restarted.log} and to {@code console}.
   */
  static LocalFederation.Node restart(LocalFederation.Node dead, String mainClass,
      LocalFederation.Node parent, LocalFederation.Node national, Path testTrustAnchor,
      PrintStream console) throws IOException {
    List<String> args = new ArrayList<>(List.of("--node-code", dead.code(),
        "--parent", parent.endpoint(), "--national", national.endpoint()));
    if (testTrustAnchor != null) {
      args.addAll(List.of("--test-trust-anchor", testTrustAnchor.toString()));
    }
    return restart(dead, mainClass, args, console);
  }

  /**
   * Launches {@code mainClass} on {@code dead}'s port and data directory with {@code args} (the
   * node code, parent and further options; none for the national stub).
   */
  static LocalFederation.Node restart(LocalFederation.Node dead, String mainClass,
      List<String> args, PrintStream console) throws IOException {
    if (dead.process().isAlive()) {
      throw new IllegalStateException("node " + dead.code() + " is still running");
    }
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", classpath(), mainClass,
        "--listen", "127.0.0.1:" + dead.port(),
        "--data-dir", dead.dataDir().toString()));
    command.addAll(args);
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    Writer log = Files.newBufferedWriter(dead.dataDir().resolve("node-restarted.log"),
        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    List<String> events = new CopyOnWriteArrayList<>();
    Thread output = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(
          process.getInputStream(), StandardCharsets.UTF_8)); log) {
        String line;
        while ((line = in.readLine()) != null) {
          events.add(line);
          console.println(line);
          log.write(line);
          log.write('\n');
          log.flush();
        }
      } catch (IOException e) {
        console.println("output of restarted node " + dead.code() + " ended: " + e.getMessage());
      }
    }, "output-" + dead.code() + "-restarted");
    output.setDaemon(true);
    output.start();
    return new LocalFederation.Node(dead.code(), dead.profile(), dead.port(), process,
        dead.dataDir(), events, output);
  }

  /** Waits until {@code node} answers SERVING to a health check over {@code channel}. */
  static void awaitServing(LocalFederation.Node node, ManagedChannel channel)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
    while (true) {
      if (!node.process().isAlive()) {
        node.output().join(5_000);
        throw new IllegalStateException("node " + node.code() + " exited with status "
            + node.process().exitValue() + ": " + node.events());
      }
      if (System.currentTimeMillis() > deadline) {
        throw new IllegalStateException("node " + node.code() + " not SERVING after "
            + START_TIMEOUT_MS + " ms: " + node.events());
      }
      try {
        if (HealthGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
            .check(HealthCheckRequest.getDefaultInstance()).getStatus()
            == ServingStatus.SERVING) {
          return;
        }
      } catch (StatusRuntimeException notYet) {
        // Still starting.
      }
      Thread.sleep(100);
    }
  }

  /** SIGTERM, then SIGKILL if it has not stopped within 20 s. */
  static void stop(LocalFederation.Node node) {
    node.process().toHandle().destroy();
    try {
      if (!node.process().waitFor(20, TimeUnit.SECONDS)) {
        node.process().toHandle().destroyForcibly();
        node.process().waitFor(5, TimeUnit.SECONDS);
      }
      node.output().join(5_000);
    } catch (InterruptedException e) {
      node.process().toHandle().destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** A base port with the two ports above it free on loopback, as the federation needs. */
  static int freeBasePort() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base;
      try (ServerSocket probe = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        base = probe.getLocalPort();
      }
      if (base > 65_000) {
        continue;
      }
      if (free(base) && free(base + 1) && free(base + 2)) {
        return base;
      }
    }
    throw new IOException("no three consecutive free loopback ports found");
  }

  private static boolean free(int port) {
    try (ServerSocket probe = new ServerSocket(port, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      return probe.isBound();
    } catch (IOException taken) {
      return false;
    }
  }

  // Surefire passes the test classpath in a property; elsewhere it is the JVM's own.
  private static String classpath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank() ? surefire
        : System.getProperty("java.class.path");
  }
}
