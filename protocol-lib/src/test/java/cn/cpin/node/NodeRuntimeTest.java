package cn.cpin.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shared node runtime on real loopback sockets. */
class NodeRuntimeTest {
  @TempDir
  Path dataRoot;

  private final List<AutoCloseable> toClose = new ArrayList<>();
  private final ByteArrayOutputStream nationalLog = new ByteArrayOutputStream();
  private final ByteArrayOutputStream regionalLog = new ByteArrayOutputStream();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = toClose.size() - 1; i >= 0; i--) {
      toClose.get(i).close();
    }
  }

  @Test
  void regionalNodeLinksToNationalAndDescribesItself() throws Exception {
    NodeRuntime national = start(options(null, null), NodeProfile.NATIONAL, nationalLog);
    NodeRuntime regional = start(options("86.44", "127.0.0.1:" + national.port()),
        NodeProfile.REGIONAL, regionalLog);

    ManagedChannel channel = channel(regional.port());
    assertThat(HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance())
        .getStatus()).isEqualTo(ServingStatus.SERVING);
    NodeInfo info = NodeInfoServiceGrpc.newBlockingStub(channel)
        .getNodeInfo(GetNodeInfoRequest.getDefaultInstance()).getNodeInfo();
    assertThat(info.getNodeCode()).isEqualTo("86.44");
    assertThat(info.getRole()).isEqualTo(NodeRole.NODE_ROLE_REGIONAL);
    assertThat(info.getParentNodeCode()).isEqualTo("86");
    assertThat(info.getServiceNamesList()).hasSize(NodeProfile.REGIONAL.services().size());

    awaitLog(regionalLog, "\"event\":\"parent.linked\"");
    awaitLog(regionalLog, "\"event\":\"parent.health\""); // logged after parent.linked
    assertThat(text(regionalLog)).contains("\"parent\":\"86\"", "\"event\":\"parent.health\"");
    assertThat(text(nationalLog)).contains("\"event\":\"transport.plaintext_dev\"");
  }

  @Test
  void childWaitsForAParentThatStartsLater() throws Exception {
    int nationalPort;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1,
        java.net.InetAddress.getLoopbackAddress())) {
      nationalPort = probe.getLocalPort();
    }
    start(options("86.44", "127.0.0.1:" + nationalPort), NodeProfile.REGIONAL, regionalLog);
    awaitLog(regionalLog, "\"event\":\"parent.unreachable\"");

    NodeOptions national = options(null, null);
    national.listen = "127.0.0.1:" + nationalPort;
    start(national, NodeProfile.NATIONAL, nationalLog);

    awaitLog(regionalLog, "\"event\":\"parent.linked\"");
  }

  @Test
  void industryNodeRefusesAParentWithTheWrongCode() throws Exception {
    NodeRuntime national = start(options(null, null), NodeProfile.NATIONAL, nationalLog);
    NodeRuntime regional = start(options("86.31", "127.0.0.1:" + national.port()),
        NodeProfile.REGIONAL, new ByteArrayOutputStream());
    ByteArrayOutputStream industryLog = new ByteArrayOutputStream();
    start(options("86.44.C", "127.0.0.1:" + regional.port()), NodeProfile.INDUSTRY, industryLog);

    awaitLog(industryLog, "\"event\":\"parent.mismatch\"");
    assertThat(text(industryLog)).contains("\"expected\":\"86.44\"", "\"got\":\"86.31\"")
        .doesNotContain("parent.linked");
  }

  @Test
  void closeReportsNotServingAndReleasesTheDataDirectory() throws Exception {
    NodeOptions options = options(null, null);
    NodeRuntime national = NodeRuntime.start(options, kind(NodeProfile.NATIONAL),
        new PrintStream(nationalLog, true, StandardCharsets.UTF_8));

    assertThatThrownBy(() -> NodeRuntime.start(options, kind(NodeProfile.NATIONAL),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("in use by another node process");

    national.close();
    national.close(); // idempotent
    assertThat(text(nationalLog)).contains("\"event\":\"node.stopping\"",
        "\"event\":\"node.stopped\"");
    toClose.add(NodeRuntime.start(options, kind(NodeProfile.NATIONAL),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)));
  }

  @Test
  void inconsistentCommandLinesAreRefusedBeforeAnythingStarts() {
    assertRefused(options("86.44.C", "127.0.0.1:1"), NodeProfile.REGIONAL,
        "is not the code of a regional node");
    assertRefused(options("86.44", null), NodeProfile.REGIONAL, "--parent is required");
    assertRefused(options(null, "127.0.0.1:1"), NodeProfile.NATIONAL, "has no parent");
    assertRefused(options(null, null), NodeProfile.REGIONAL, "--node-code is required");
    assertRefused(options("86.99", "127.0.0.1:1"), NodeProfile.REGIONAL, "--node-code");

    NodeOptions public_ = options(null, null);
    public_.listen = "0.0.0.0:0";
    assertRefused(public_, NodeProfile.NATIONAL, "not a loopback address");
    NodeOptions badPort = options(null, null);
    badPort.listen = "127.0.0.1:99999";
    assertRefused(badPort, NodeProfile.NATIONAL, "port from 0 to 65535");
  }

  private void assertRefused(NodeOptions options, NodeProfile profile, String message) {
    assertThatThrownBy(() -> NodeRuntime.start(options, kind(profile),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(message);
  }

  private NodeOptions options(String code, String parent) {
    NodeOptions options = new NodeOptions();
    options.nodeCode = code;
    options.parent = parent;
    options.listen = "127.0.0.1:0";
    options.insecurePlaintextDev = true;
    options.dataDir = dataRoot.resolve(code == null ? "86" : code);
    return options;
  }

  private NodeRuntime start(NodeOptions options, NodeProfile profile, ByteArrayOutputStream log)
      throws Exception {
    NodeRuntime node = NodeRuntime.start(options, kind(profile),
        new PrintStream(log, true, StandardCharsets.UTF_8));
    toClose.add(node);
    return node;
  }

  // Plaintext development mode only: these tests are about the runtime, not about trust.
  private static NodeKind kind(NodeProfile profile) {
    return new NodeKind() {
      @Override
      public NodeProfile profile() {
        return profile;
      }

      @Override
      public String softwareName() {
        return "test";
      }

      @Override
      public cn.cpin.node.trust.NodeTrust trust(NodeContext context) {
        throw new UnsupportedOperationException("plaintext tests");
      }

      @Override
      public List<io.grpc.BindableService> services(NodeContext context,
          cn.cpin.node.trust.NodeTrust trust) {
        return List.of();
      }
    };
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext()
        .build();
    toClose.add(channel::shutdownNow);
    return channel;
  }

  private static String text(ByteArrayOutputStream log) {
    synchronized (log) {
      return log.toString(StandardCharsets.UTF_8);
    }
  }

  private static void awaitLog(ByteArrayOutputStream log, String fragment)
      throws InterruptedException {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (!text(log).contains(fragment)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("never logged " + fragment + ":\n" + text(log));
      }
      Thread.sleep(20);
    }
  }
}
