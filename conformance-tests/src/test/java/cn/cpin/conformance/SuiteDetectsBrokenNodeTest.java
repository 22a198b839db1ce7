package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.GetNodeInfoResponse;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.grpc.stub.StreamObserver;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The suite must be able to fail: against a node that claims the regional profile but reports the
 * wrong role and answers every standard RPC UNIMPLEMENTED without validating, the affected
 * requirements are FAILED and the command line exits 1.
 */
class SuiteDetectsBrokenNodeTest {
  private Server server;
  private ManagedChannel channel;

  @BeforeEach
  void startBrokenNode() throws Exception {
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new HealthStatusManager().getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .addService(new NodeInfoServiceGrpc.NodeInfoServiceImplBase() {
          @Override
          public void getNodeInfo(GetNodeInfoRequest request,
              StreamObserver<GetNodeInfoResponse> responseObserver) {
            responseObserver.onNext(GetNodeInfoResponse.newBuilder().setNodeInfo(NodeInfo
                .newBuilder().setNodeCode("86.44").setRole(NodeRole.NODE_ROLE_INDUSTRY)).build());
            responseObserver.onCompleted();
          }
        });
    for (ServiceDescriptor service : NodeProfile.REGIONAL.services()) {
      if (!service.getName().equals(NodeInfoServiceGrpc.SERVICE_NAME)) {
        builder.addService(refuseEverything(service));
      }
    }
    server = builder.build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.getPort()).usePlaintext().build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.shutdownNow();
  }

  @Test
  void brokenRequirementsAreFailedAndHealthyOnesPass() {
    ConformanceReport report;
    try (ConformanceTarget target = ConformanceTarget.plaintext("127.0.0.1:" + server.getPort(),
        NodeProfile.REGIONAL, Duration.ofSeconds(5))) {
      report = Suites.run(target);
    }

    Map<String, Outcome> byId = report.requirements().stream().collect(Collectors.toMap(
        ConformanceReport.RequirementResult::id, ConformanceReport.RequirementResult::outcome));
    assertThat(byId)
        .containsEntry("NOD-001", Outcome.PASSED)
        .containsEntry("NOD-002", Outcome.PASSED)
        .containsEntry("NOD-003", Outcome.FAILED)
        .containsEntry("IDN-003", Outcome.FAILED)
        .containsEntry("SVC-001", Outcome.FAILED)
        .containsEntry("GEN-003", Outcome.FAILED);
    assertThat(report.hasFailures()).isTrue();
    assertThat(report.checks()).filteredOn(c -> c.check().equals("malformedIdentifiersRejected"))
        .singleElement()
        .satisfies(c -> assertThat(c.message()).contains("expected INVALID_ARGUMENT, got "
            + "UNIMPLEMENTED"));
  }

  @Test
  void commandLineExitsOneAndWritesTheFailuresAsJunitXml(@TempDir Path dir) throws Exception {
    Path xml = dir.resolve("report.xml");

    int exit = new CommandLine(new ConformanceMain()).execute("--target",
        "127.0.0.1:" + server.getPort(), "--profile", "regional", "--insecure-plaintext-dev",
        "--junit-xml", xml.toString());

    assertThat(exit).isEqualTo(1);
    String report = Files.readString(xml);
    assertThat(report).contains("<testsuites", "NOD-003 nodeInfoMatchesProfile", "<failure");
  }

  @Test
  void commandLineRejectsAnUnknownProfile() {
    int exit = new CommandLine(new ConformanceMain()).execute("--target", "127.0.0.1:1",
        "--profile", "provincial", "--insecure-plaintext-dev");

    assertThat(exit).isEqualTo(2);
  }

  private static ServerServiceDefinition refuseEverything(ServiceDescriptor service) {
    ServerServiceDefinition.Builder definition = ServerServiceDefinition.builder(service);
    for (MethodDescriptor<?, ?> method : service.getMethods()) {
      addRefusal(definition, method);
    }
    return definition.build();
  }

  private static <ReqT, RespT> void addRefusal(ServerServiceDefinition.Builder definition,
      MethodDescriptor<ReqT, RespT> method) {
    definition.addMethod(method, new ServerCallHandler<ReqT, RespT>() {
      @Override
      public ServerCall.Listener<ReqT> startCall(ServerCall<ReqT, RespT> call, Metadata headers) {
        call.close(Status.UNIMPLEMENTED, new Metadata());
        return new ServerCall.Listener<>() {};
      }
    });
  }
}
