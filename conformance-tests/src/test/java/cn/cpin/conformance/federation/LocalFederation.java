package cn.cpin.conformance.federation;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.conformance.SuitePki;
import cn.cpin.identifier.v1.AllocateNodeCodeRequest;
import cn.cpin.identifier.v1.AllocateNodeCodeResponse;
import cn.cpin.national.AllocateNodeCodeCommand;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.net.InetSocketAddress;
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
  private final Path dataRoot;
  private final Path testTrustAnchor;

  private LocalFederation(PrintStream console, Path dataRoot, Path testTrustAnchor) {
    this.console = console;
    this.dataRoot = dataRoot;
    this.testTrustAnchor = testTrustAnchor;
  }

  /**
   * Starts the three nodes on ports {@code basePort}, {@code basePort + 1}, {@code basePort + 2}
   * with state under {@code dataRoot}, and returns once each is SERVING over mutual TLS and both
   * children have linked to their parent. On first start the national stub creates the PKI and
   * this launcher, as the national operator, allocates the two node codes and hands each node its
   * one-time enrollment token.
   *
   * @param testTrustAnchor a CA every node also trusts (the conformance suite's), or null
   */
  public static LocalFederation start(int basePort, Path dataRoot, PrintStream console,
      Path testTrustAnchor) throws Exception {
    LocalFederation federation = new LocalFederation(console, dataRoot.toAbsolutePath(),
        testTrustAnchor);
    try {
      Node national = federation.launch("cn.cpin.national.NationalStubMain", "86", "national",
          basePort, null, List.of());
      federation.awaitServing(national);
      Node regional = federation.launch("cn.cpin.regional.RegionalNodeMain", "86.44", "regional",
          basePort + 1, national, federation.enrollment(national, "86.44",
              NodeRole.NODE_ROLE_REGIONAL, "44", ""));
      federation.awaitServing(regional);
      Node industry = federation.launch("cn.cpin.industry.IndustryNodeMain", "86.44.C",
          "industry", basePort + 2, regional, federation.enrollment(national, "86.44.C",
              NodeRole.NODE_ROLE_INDUSTRY, "44", "C"));
      federation.awaitServing(industry);
      awaitEvent(regional, "\"event\":\"parent.linked\"");
      awaitEvent(industry, "\"event\":\"parent.linked\"");
      return federation;
    } catch (Exception | Error e) {
      federation.close();
      throw e;
    }
  }

  /** The national operator's credentials directory: a client trusted by every node. */
  public Path operatorDirectory() {
    return dataRoot.resolve("86").resolve("operator");
  }

  /** The CPIN root certificate(s) of this federation. */
  public Path trustAnchors() {
    return operatorDirectory().resolve("trust-anchors.pem");
  }

  /** A channel to {@code node} as the national operator. */
  public ManagedChannel operatorChannel(Node node) throws Exception {
    return NodeTls.channel(new InetSocketAddress("127.0.0.1", node.port()),
        CredentialFiles.read(operatorDirectory(), "operator"),
        KeyMaterial.readCertificates(trustAnchors()), CpinIdentity.node(NodeCode.parse(node.code())));
  }

  // The options a node needs to enroll on its first start; none once it has its certificate.
  private List<String> enrollment(Node national, String code, NodeRole role, String province,
      String section) throws Exception {
    Path dataDir = dataRoot.resolve(code);
    List<String> args = new ArrayList<>(List.of("--national", national.endpoint()));
    if (Files.exists(dataDir.resolve("pki").resolve("node-chain.pem"))) {
      return args;
    }
    String first17 = "914403000000" + String.format("%05d", Math.abs(code.hashCode()) % 100000);
    AllocateNodeCodeResponse allocation = AllocateNodeCodeCommand.allocate(operatorDirectory(),
        national.endpoint(), AllocateNodeCodeRequest.newBuilder()
            .setRequestId("federation-allocate-" + code)
            .setRole(role)
            .setProvinceCode(province)
            .setIndustrySection(section)
            .setOperatorName("Operator of node " + code)
            .setOperatorCreditCode(first17 + CreditCode.checkCharacter(first17))
            .build());
    Files.createDirectories(dataDir);
    Path tokenFile = dataDir.resolve("enrollment-token");
    AllocateNodeCodeCommand.writeToken(tokenFile, allocation.getEnrollmentToken());
    args.addAll(List.of("--enrollment-token-file", tokenFile.toString(),
        "--trust-anchor", trustAnchors().toString()));
    return args;
  }

  public List<Node> nodes() {
    return nodes;
  }

  public Node node(String code) {
    return nodes.stream().filter(n -> n.code().equals(code)).findFirst().orElseThrow();
  }

  private Node launch(String mainClass, String code, String profile, int port, Node parent,
      List<String> extraArgs) throws IOException {
    Path dataDir = dataRoot.resolve(code).toAbsolutePath();
    Files.createDirectories(dataDir);
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", classpath(), mainClass,
        "--listen", "127.0.0.1:" + port,
        "--data-dir", dataDir.toString()));
    if (!code.equals("86")) {
      command.addAll(List.of("--node-code", code, "--parent", parent.endpoint()));
    }
    if (profile.equals("regional")) {
      // Federated selection (SEL-010): the regional node also asks its industry node, which
      // listens on the next port.
      command.addAll(List.of("--federated-node", "86.44.C=127.0.0.1:" + (port + 1)));
    }
    command.addAll(extraArgs);
    if (testTrustAnchor != null) {
      command.addAll(List.of("--test-trust-anchor", testTrustAnchor.toString()));
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

  private void awaitServing(Node node) throws Exception {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (!Files.exists(operatorDirectory().resolve("operator-chain.pem"))) {
      checkAlive(node, deadline);
      Thread.sleep(100);
    }
    ManagedChannel channel = operatorChannel(node);
    try {
      while (true) {
        checkAlive(node, deadline);
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
        Thread.sleep(100);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  private static void checkAlive(Node node, long deadline) throws InterruptedException {
    if (!node.process().isAlive()) {
      node.output().join(5_000);
      throw new IllegalStateException("node " + node.code() + " exited with status "
          + node.process().exitValue() + ": " + node.events());
    }
    if (System.nanoTime() > deadline) {
      throw new IllegalStateException("node " + node.code() + " not SERVING after "
          + START_TIMEOUT + ": " + node.events());
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

  /**
   * Stops {@code code} with SIGTERM and starts it again on the same port and data directory, as
   * an operator's restart does; returns once it serves again.
   */
  public Node restart(String code) throws Exception {
    Node old = node(code);
    old.process().toHandle().destroy();
    if (!old.process().waitFor(20, TimeUnit.SECONDS)) {
      old.process().destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    old.output().join(5_000);
    String main = switch (old.profile()) {
      case "national" -> "cn.cpin.national.NationalStubMain";
      case "regional" -> "cn.cpin.regional.RegionalNodeMain";
      default -> "cn.cpin.industry.IndustryNodeMain";
    };
    Node parent = code.equals("86") ? null
        : node(NodeCode.parse(code).parent().orElseThrow().toString());
    List<String> extra = code.equals("86") ? List.of()
        : List.of("--national", node("86").endpoint());
    nodes.remove(old);
    Node started = launch(main, code, old.profile(), old.port(), parent, extra);
    awaitServing(started);
    return started;
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
    // The conformance suite's test CA, trusted by these development nodes so that README's
    // conformance command can run against them. Never do this in production.
    Path suiteCa = dataRoot.resolve("conformance-ca");
    SuitePki.open(suiteCa);
    LocalFederation federation = start(basePort, dataRoot, System.out,
        SuitePki.certificateFile(suiteCa).toAbsolutePath());
    Runtime.getRuntime().addShutdownHook(new Thread(federation::close, "federation-stop"));
    System.out.println();
    System.out.println("CPIN local federation is up, mutual TLS on every connection:");
    for (Node node : federation.nodes()) {
      System.out.printf("  %-8s %-8s %s  data: %s%n", node.code(), node.profile(),
          node.endpoint(), node.dataDir());
    }
    System.out.println("National operator credentials: " + federation.operatorDirectory());
    System.out.println("Inspect a node's TLS: openssl s_client -connect "
        + federation.node("86.44").endpoint() + " -CAfile " + federation.trustAnchors()
        + " -cert " + federation.operatorDirectory().resolve("operator-chain.pem") + " -key "
        + federation.operatorDirectory().resolve("operator-key.pem") + " </dev/null");
    System.out.println("Conformance suite against the regional node (in another terminal):");
    System.out.println("  java -jar conformance-tests/target/cpin-conformance-tests.jar --target "
        + federation.node("86.44").endpoint() + " --profile regional --trust-anchor "
        + federation.trustAnchors() + " --suite-ca " + suiteCa + " --national "
        + federation.node("86").endpoint());
    System.out.println("Press Ctrl-C to stop all three nodes.");
    for (Node node : federation.nodes()) {
      node.process().waitFor();
    }
  }
}
