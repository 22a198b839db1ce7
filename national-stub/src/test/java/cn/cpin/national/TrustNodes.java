package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.NodeRole;
import cn.cpin.identifier.v1.AllocateNodeCodeRequest;
import cn.cpin.identifier.v1.AllocateNodeCodeResponse;
import cn.cpin.node.ChildNode;
import cn.cpin.node.NodeKind;
import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import cn.cpin.node.trust.CertificateChains;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.error.ErrorDetails;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateResponse;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import picocli.CommandLine;

/**
 * In-process CPIN nodes on loopback with real mutual TLS, for the trust-layer integration tests:
 * each node has its own data directory and its own captured event log. Closing stops every node
 * still running, youngest first (so children end their streams before their parent stops), and
 * every channel opened through it. A test registers it with {@code @RegisterExtension}: it works
 * under a temporary directory of its own and closes (and deletes it) after each test.
 */
final class TrustNodes implements AutoCloseable, BeforeEachCallback, AfterEachCallback {
  /** A running (or stopped) in-process node. */
  static final class Node {
    final String code;
    final Path dataDir;
    final NodeRuntime runtime;
    final ByteArrayOutputStream log;

    Node(String code, Path dataDir, NodeRuntime runtime, ByteArrayOutputStream log) {
      this.code = code;
      this.dataDir = dataDir;
      this.runtime = runtime;
      this.log = log;
    }

    String endpoint() {
      return "127.0.0.1:" + runtime.port();
    }

    InetSocketAddress address() {
      return new InetSocketAddress("127.0.0.1", runtime.port());
    }

    /** The node's event log so far (one JSON object per line). */
    String events() {
      return log.toString(StandardCharsets.UTF_8);
    }

    /** How many events named {@code event} the node has logged. */
    long count(String event) {
      String needle = "\"event\":\"" + event + "\"";
      return events().lines().filter(l -> l.contains(needle)).count();
    }

    /** The node's own credentials (pki/node-*.pem). */
    Credentials nodeCredentials() {
      return CredentialFiles.read(dataDir.resolve("pki"), "node");
    }

    /** The credentials of this node's operator (operator/operator-*.pem). */
    Credentials operatorCredentials() {
      return CredentialFiles.read(dataDir.resolve("operator"), "operator");
    }

    CpinIdentity identity() {
      return CpinIdentity.node(NodeCode.parse(code));
    }
  }

  private Path root;
  private final List<Node> running = new ArrayList<>();
  private final List<Node> all = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();
  private Node national;
  private String nationalEndpoint;

  /** Where the nodes' data directories are ({@code <root>/<node code>}). */
  Path root() {
    return root;
  }

  @Override
  public void beforeEach(ExtensionContext context) throws IOException {
    root = Files.createTempDirectory("cpin-trust-nodes-");
  }

  @Override
  public void afterEach(ExtensionContext context) throws IOException {
    close();
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Starts the national stub on a fresh data directory, with extra command-line options. */
  Node startNational(String... extraArgs) throws Exception {
    List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0",
        "--data-dir", root.resolve("86").toString()));
    args.addAll(List.of(extraArgs));
    national = start("86", new NationalNode(), args);
    nationalEndpoint = national.endpoint();
    return national;
  }

  Node national() {
    return national;
  }

  /**
   * Allocates {@code code} as the national operator and writes its enrollment token to
   * {@code <root>/<code>.token}; returns the token file.
   */
  Path allocate(String code) throws Exception {
    return writeToken(code, allocateToken(code));
  }

  /** Allocates {@code code} (86.PP or 86.PP.S) as the national operator; returns the token. */
  String allocateToken(String code) throws Exception {
    return allocateResponse(code).getEnrollmentToken();
  }

  AllocateNodeCodeResponse allocateResponse(String code) throws Exception {
    return AllocateNodeCodeCommand.allocate(nationalOperatorDir(), nationalEndpoint,
        allocateRequest(code));
  }

  static AllocateNodeCodeRequest allocateRequest(String code) {
    NodeCode nodeCode = NodeCode.parse(code);
    String[] parts = code.split("\\.");
    String first17 = "914403000000" + String.format("%05d", Math.abs(code.hashCode()) % 100000);
    return AllocateNodeCodeRequest.newBuilder()
        .setRequestId("test-allocate-" + code)
        .setRole(nodeCode.isRegional() ? NodeRole.NODE_ROLE_REGIONAL
            : NodeRole.NODE_ROLE_INDUSTRY)
        .setProvinceCode(parts[1])
        .setIndustrySection(parts.length > 2 ? parts[2] : "")
        .setOperatorName("Operator of node " + code)
        .setOperatorCreditCode(first17 + CreditCode.checkCharacter(first17))
        .build();
  }

  Path writeToken(String code, String token) throws Exception {
    Path file = root.resolve(code + ".token");
    AllocateNodeCodeCommand.writeToken(file, token);
    return file;
  }

  /** Starts (or restarts) a regional node; a null token file starts it without one. */
  Node startRegional(String code, Path tokenFile) throws Exception {
    return startChild(NodeProfile.REGIONAL, code, nationalEndpoint, tokenFile);
  }

  /** Starts (or restarts) a regional or industry node under {@code parentEndpoint}. */
  Node startChild(NodeProfile profile, String code, String parentEndpoint, Path tokenFile)
      throws Exception {
    return start(code, childKind(profile), childArgs(code, parentEndpoint, tokenFile));
  }

  List<String> childArgs(String code, String parentEndpoint, Path tokenFile) {
    List<String> args = new ArrayList<>(List.of("--listen", "127.0.0.1:0",
        "--data-dir", root.resolve(code).toString(),
        "--node-code", code,
        "--parent", parentEndpoint,
        "--national", nationalEndpoint));
    if (tokenFile != null) {
      args.addAll(List.of("--enrollment-token-file", tokenFile.toString(),
          "--trust-anchor", trustAnchorsFile().toString()));
    }
    return args;
  }

  // Identifiers for the service center without a regional identifier library (that lives in
  // regional-node): numbered in this JVM, so they never repeat across restarts of a test.
  private static final java.util.concurrent.atomic.AtomicLong SERIALS =
      new java.util.concurrent.atomic.AtomicLong(1000);

  static NodeKind childKind(NodeProfile profile) {
    return new ChildNode(profile, profile == NodeProfile.REGIONAL ? "cpin-regional-node"
        : "cpin-industry-node") {
      @Override
      protected cn.cpin.node.IdentifierIssuer identifierIssuer(cn.cpin.node.NodeContext context,
          cn.cpin.node.trust.NodeTrust trust) {
        return (requestId, kind, owner, attributes) -> Identifier.of(context.nodeCode(), kind,
            SERIALS.incrementAndGet());
      }
    };
  }

  /**
   * Has {@code node}'s operator register and approve an organisation at its service center (a
   * participant certificate is issued only to an approved participant); returns its identifier.
   */
  Identifier approvedParticipant(Node node) throws Exception {
    ManagedChannel channel = channel(node, node.operatorCredentials());
    try {
      var participants = cn.cpin.servicecenter.v1.ParticipantServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS);
      long n = SERIALS.incrementAndGet();
      String first17 = String.format("91440300MA%07d", n);
      String id = participants.registerParticipant(
          cn.cpin.servicecenter.v1.RegisterParticipantRequest.newBuilder()
              .setRequestId("register-" + n)
              .setOrganization(cn.cpin.servicecenter.v1.Organization.newBuilder()
                  .setCreditCode(first17
                      + cn.cpin.protocol.creditcode.CreditCode.checkCharacter(first17)))
              .setDisplayName("Participant " + n)
              .addKinds(cn.cpin.servicecenter.v1.ParticipationKind.PARTICIPATION_KIND_USER)
              .addContacts(cn.cpin.servicecenter.v1.Contact.newBuilder().setName("Li Na"))
              .build()).getParticipant().getParticipantId();
      participants.approveParticipant(cn.cpin.servicecenter.v1.ApproveParticipantRequest
          .newBuilder().setRequestId("approve-" + n).setParticipantId(id).build());
      return Identifier.parse(id);
    } finally {
      channel.shutdownNow();
    }
  }

  /** Starts a node from a command line, as its program would. */
  Node start(String code, NodeKind kind, List<String> args) throws Exception {
    NodeOptions options = options(args);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    NodeRuntime runtime = NodeRuntime.start(options, kind,
        new PrintStream(log, true, StandardCharsets.UTF_8));
    Node node = new Node(code, root.resolve(code), runtime, log);
    running.add(node);
    all.add(node);
    return node;
  }

  static NodeOptions options(List<String> args) {
    NodeOptions options = new NodeOptions();
    new CommandLine(options).parseArgs(args.toArray(new String[0]));
    return options;
  }

  /** Stops {@code node}, releasing its data directory. */
  void stop(Node node) {
    node.runtime.close();
    running.remove(node);
  }

  Path nationalOperatorDir() {
    return root.resolve("86").resolve("operator");
  }

  Path trustAnchorsFile() {
    return nationalOperatorDir().resolve("trust-anchors.pem");
  }

  List<X509Certificate> anchors() throws Exception {
    return KeyMaterial.readCertificates(trustAnchorsFile());
  }

  Credentials nationalOperator() {
    return CredentialFiles.read(nationalOperatorDir(), "operator");
  }

  /** A channel to {@code node} as the national operator. */
  ManagedChannel operatorChannel(Node node) throws Exception {
    return channel(node, nationalOperator());
  }

  /** A channel to {@code node} calling as {@code client} (null: no client certificate). */
  ManagedChannel channel(Node node, Credentials client) throws Exception {
    ManagedChannel channel = NodeTls.channel(node.address(), client, anchors(), node.identity());
    synchronized (channels) {
      channels.add(channel);
    }
    return channel;
  }

  /**
   * Has {@code node}'s operator (credentials in its operator/ directory) obtain a certificate for
   * {@code participant} from {@code node}'s ParticipantCertificateService.
   */
  Credentials issueParticipantCertificate(Node node, Identifier participant) throws Exception {
    KeyPair key = KeyMaterial.generateKeyPair();
    ManagedChannel channel = channel(node, node.operatorCredentials());
    try {
      IssueParticipantCertificateResponse response = ParticipantCertificateServiceGrpc
          .newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .issueParticipantCertificate(IssueParticipantCertificateRequest.newBuilder()
              .setRequestId("issue-" + participant.toString().replace('/', '-'))
              .setParticipantId(participant.toString())
              .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(key, participant.toString())))
              .build());
      return new Credentials(key.getPrivate(),
          CertificateChains.certificates(response.getCertificateChain()));
    } finally {
      channel.shutdownNow();
    }
  }

  /** Checks that {@code node} reports SERVING to the national operator over mTLS. */
  void assertServing(Node node) throws Exception {
    ManagedChannel channel = operatorChannel(node);
    try {
      assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus())
          .isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow();
    }
  }

  @Override
  public void close() {
    synchronized (channels) {
      channels.forEach(ManagedChannel::shutdownNow);
      channels.clear();
    }
    for (int i = running.size() - 1; i >= 0; i--) {
      running.get(i).runtime.close();
    }
    running.clear();
    if (Boolean.getBoolean("trust.nodes.debug")) {
      for (Node n : all) {
        System.out.println("---- " + n.code + "\n" + n.events());
      }
    }
  }

  /** Asserts that {@code call} fails with {@code code} and an ErrorInfo of {@code reason}. */
  static StatusRuntimeException assertFails(ThrowingCallable call, Status.Code code,
      ErrorReason reason) {
    StatusRuntimeException[] caught = new StatusRuntimeException[1];
    assertThatThrownBy(call).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).as("status of %s", e.getStatus()).isEqualTo(code);
      if (reason != null) {
        assertThat(ErrorDetails.errorInfo(e).map(ErrorInfo::getReason))
            .as("ErrorInfo reason of %s", e.getStatus())
            .contains(StatusMapping.reasonName(reason));
      }
      caught[0] = e;
    });
    return caught[0];
  }
}
