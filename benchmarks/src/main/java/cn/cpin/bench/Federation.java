package cn.cpin.bench;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.identifier.v1.AllocateNodeCodeRequest;
import cn.cpin.national.AllocateNodeCodeCommand;
import cn.cpin.national.NationalBench;
import cn.cpin.node.NodeKind;
import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.regional.RegionalBench;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;

/**
 * The national stub and one regional node (86.44), in this process, on loopback, with real mutual
 * TLS: the regional node enrolls with a token allocated by the national operator, as in
 * production. Each node has its own data directory under {@code root} and its event log read by an
 * {@link EventCounter}.
 */
final class Federation implements AutoCloseable {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");

  final Path root;
  final EventCounter nationalEvents = new EventCounter();
  final EventCounter regionalEvents = new EventCounter();
  private final List<AutoCloseable> open = new ArrayList<>();
  private NodeRuntime national;
  private NodeRuntime regional;
  private List<X509Certificate> anchors;

  private Federation(Path root) {
    this.root = root;
  }

  static Federation start(Path root) throws Exception {
    Federation f = new Federation(root);
    try {
      f.startNodes();
      return f;
    } catch (Exception | Error e) {
      f.close();
      throw e;
    }
  }

  private void startNodes() throws Exception {
    national = start(NationalBench.nationalNode(), nationalEvents, "--listen", "127.0.0.1:0",
        "--data-dir", root.resolve("86").toString());
    String nationalEndpoint = "127.0.0.1:" + national.port();
    anchors = KeyMaterial.readCertificates(trustAnchorsFile());

    String first17 = "91440300000012345";
    String token = AllocateNodeCodeCommand.allocate(nationalOperatorDir(), nationalEndpoint,
        AllocateNodeCodeRequest.newBuilder()
            .setRequestId("bench-allocate-" + REGIONAL)
            .setRole(NodeRole.NODE_ROLE_REGIONAL)
            .setProvinceCode("44")
            .setOperatorName("Benchmark operator of node " + REGIONAL)
            .setOperatorCreditCode(first17 + CreditCode.checkCharacter(first17))
            .build()).getEnrollmentToken();
    Path tokenFile = root.resolve(REGIONAL + ".token");
    AllocateNodeCodeCommand.writeToken(tokenFile, token);

    regional = start(RegionalBench.regionalNode(), regionalEvents, "--listen", "127.0.0.1:0",
        "--data-dir", regionalDir().toString(),
        "--node-code", REGIONAL.toString(),
        "--parent", nationalEndpoint,
        "--national", nationalEndpoint,
        "--enrollment-token-file", tokenFile.toString(),
        "--trust-anchor", trustAnchorsFile().toString());
  }

  private NodeRuntime start(NodeKind kind, EventCounter events, String... args) throws Exception {
    NodeOptions options = new NodeOptions();
    new CommandLine(options).parseArgs(args);
    NodeRuntime node = NodeRuntime.start(options, kind, events.stream());
    open.add(node);
    return node;
  }

  Path nationalOperatorDir() {
    return root.resolve("86").resolve("operator");
  }

  Path regionalDir() {
    return root.resolve(REGIONAL.toString());
  }

  Path trustAnchorsFile() {
    return nationalOperatorDir().resolve("trust-anchors.pem");
  }

  InetSocketAddress nationalAddress() {
    return new InetSocketAddress("127.0.0.1", national.port());
  }

  InetSocketAddress regionalAddress() {
    return new InetSocketAddress("127.0.0.1", regional.port());
  }

  /** A new mTLS channel to the regional node, as the regional node's operator. */
  ManagedChannel regionalAsItsOperator() throws Exception {
    return channel(regionalAddress(), CredentialFiles.read(regionalDir().resolve("operator"),
        "operator"), CpinIdentity.node(REGIONAL));
  }

  /** A new mTLS channel to the national node, as the regional node itself (as its outbox files). */
  ManagedChannel nationalAsRegionalNode() throws Exception {
    return channel(nationalAddress(), CredentialFiles.read(regionalDir().resolve("pki"), "node"),
        CpinIdentity.node(NodeCode.national()));
  }

  /** The national filing log's public key, as the regional node received it at enrollment. */
  PublicKey filingLogKey() {
    return new CredentialFiles(regionalDir()).filingLogKey().orElseThrow();
  }

  private ManagedChannel channel(InetSocketAddress address, Credentials client,
      CpinIdentity server) throws Exception {
    ManagedChannel channel = NodeTls.channel(address, client, anchors, server);
    open.add(channel::shutdownNow);
    return channel;
  }

  /** Channels first, then the regional node, then the national node. */
  @Override
  public void close() {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        System.err.println("close failed: " + e);
      }
    }
    open.clear();
  }
}
