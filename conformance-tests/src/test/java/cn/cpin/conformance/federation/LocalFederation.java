package cn.cpin.conformance.federation;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A national stub, one regional node (86.44) and one industry node (86.44.C) on loopback, each in
 * its own JVM as operators would run them: README's main command and the build's conformance run.
 *
 * <p>Each node's event lines go to this process's output and to {@code <data dir>/node.log}.
 * Closing the federation sends SIGTERM to every node and waits for it to stop.
 */
public final class LocalFederation implements AutoCloseable {
  /** One running node process. */
  public record Node(String code, String profile, int port, Process process, Path dataDir,
      List<String> events, Thread output) {
    public String endpoint() {
      return "127.0.0.1:" + port;
    }
  }

  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final List<Node> nodes = new ArrayList<>();
  private final PrintStream console;

  private LocalFederation(PrintStream console) {
    this.console = console;
  }

  /**
   * Starts the three nodes on ports {@code basePort}, {@code basePort + 1}, {@code basePort + 2}
   * with state under {@code dataRoot}, and returns once each is SERVING and both children have
   * linked to their parent.
   */
  public static LocalFederation start(int basePort, Path dataRoot, PrintStream console)
      throws IOException, InterruptedException {
    LocalFederation federation = new LocalFederation(console);
    try {
      Node national = federation.launch("cn.cpin.national.NationalStubMain", "86", "national",
          basePort, null, dataRoot);
      Node regional = federation.launch("cn.cpin.regional.RegionalNodeMain", "86.44", "regional",
          basePort + 1, national, dataRoot);
      Node industry = federation.launch("cn.cpin.industry.IndustryNodeMain", "86.44.C",
          "industry", basePort + 2, regional, dataRoot);
      for (Node node : List.of(national, regional, industry)) {
        awaitServing(node);
      }
      awaitEvent(regional, "\"event\":\"parent.linked\"");
      awaitEvent(industry, "\"event\":\"parent.linked\"");
      return federation;
    } catch (IOException | InterruptedException | RuntimeException e) {
      federation.close();
      throw e;
    }
  }

  public List<Node> nodes() {
    return nodes;
  }

  public Node node(String code) {
    return nodes.stream().filter(n -> n.code().equals(code)).findFirst().orElseThrow();
  }

  private Node launch(String mainClass, String code, String profile, int port, Node parent,
      Path dataRoot) throws IOException {
    Path dataDir = dataRoot.resolve(code).toAbsolutePath();
    Files.createDirectories(dataDir);
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", classpath(), mainClass,
        "--listen", "127.0.0.1:" + port,
        "--data-dir", dataDir.toString(),
        "--insecure-plaintext-dev"));
    if (!code.equals("86")) {
      command.addAll(List.of("--node-code", code, "--parent", parent.endpoint()));
    }
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    Writer log = Files.newBufferedWriter(dataDir.resolve("node.log"), StandardCharsets.UTF_8);
    List<String> events = new CopyOnWriteArrayList<>();
    Thread output = new Thread(() -> pump(code, process, events, log), "output-" + code);
    output.setDaemon(true);
    Node node = new Node(code, profile, port, process, dataDir, events, output);
    nodes.add(node);
    output.start();
    return node;
  }

  private void pump(String code, Process process, List<String> events, Writer log) {
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
      console.println("output of node " + code + " ended: " + e.getMessage());
    }
  }

  // Surefire passes the test classpath in a property; elsewhere it is the JVM's own.
  private static String classpath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank() ? surefire
        : System.getProperty("java.class.path");
  }

  private static void awaitServing(Node node) throws InterruptedException {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", node.port())
        .usePlaintext().build();
    try {
      long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
      while (true) {
        if (!node.process().isAlive()) {
          throw new IllegalStateException("node " + node.code() + " exited with status "
              + node.process().exitValue() + ": " + node.events());
        }
        try {
          ServingStatus status = HealthGrpc.newBlockingStub(channel)
              .withDeadlineAfter(2, TimeUnit.SECONDS)
              .check(HealthCheckRequest.getDefaultInstance()).getStatus();
          if (status == ServingStatus.SERVING) {
            return;
          }
        } catch (io.grpc.StatusRuntimeException notYet) {
          // Still starting.
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("node " + node.code() + " not SERVING after "
              + START_TIMEOUT);
        }
        Thread.sleep(100);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** Waits until the node has logged a line containing {@code fragment}. */
  public static void awaitEvent(Node node, String fragment) throws InterruptedException {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (node.events().stream().noneMatch(line -> line.contains(fragment))) {
      if (!node.process().isAlive()) {
        node.output().join(5_000); // the last lines may still be in the pipe
        if (node.events().stream().anyMatch(line -> line.contains(fragment))) {
          return;
        }
      }
      if (System.nanoTime() > deadline || !node.process().isAlive()) {
        throw new IllegalStateException("node " + node.code() + " never logged " + fragment
            + ": " + node.events());
      }
      Thread.sleep(50);
    }
  }

  /** Sends SIGTERM to every node, youngest first, and waits for each to exit. */
  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      // Through the handle: Process.destroy() would also close our end of the node's output
      // pipe, losing the lines the node logs while it stops.
      nodes.get(i).process().toHandle().destroy();
    }
    for (Node node : nodes) {
      try {
        if (!node.process().waitFor(20, TimeUnit.SECONDS)) {
          node.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
        node.output().join(5_000);
      } catch (InterruptedException e) {
        node.process().destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** README's main command lands here: start, report, then run until Ctrl-C. */
  public static void main(String[] args) throws Exception {
    int basePort = 7860;
    Path dataRoot = Path.of("data", "federation");
    for (String arg : args) {
      if (arg.startsWith("--base-port=")) {
        basePort = Integer.parseInt(arg.substring("--base-port=".length()));
      } else if (arg.startsWith("--data-dir=")) {
        dataRoot = Path.of(arg.substring("--data-dir=".length()));
      } else if (!arg.isBlank()) {
        System.err.println("usage: LocalFederation [--base-port=N] [--data-dir=DIR]");
        System.exit(2);
      }
    }
    LocalFederation federation = start(basePort, dataRoot, System.out);
    Runtime.getRuntime().addShutdownHook(new Thread(federation::close, "federation-stop"));
    System.out.println();
    System.out.println("CPIN local federation is up (PLAINTEXT DEVELOPMENT MODE, loopback only):");
    for (Node node : federation.nodes()) {
      System.out.printf("  %-8s %-8s %s  data: %s%n", node.code(), node.profile(),
          node.endpoint(), node.dataDir());
    }
    System.out.println("Conformance suite against the regional node (in another terminal):");
    System.out.println("  java -jar conformance-tests/target/cpin-conformance-tests.jar --target "
        + federation.node("86.44").endpoint() + " --profile regional --insecure-plaintext-dev");
    System.out.println("Press Ctrl-C to stop all three nodes.");
    for (Node node : federation.nodes()) {
      node.process().waitFor();
    }
  }
}
