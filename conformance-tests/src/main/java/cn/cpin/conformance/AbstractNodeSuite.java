package cn.cpin.conformance;

import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.identifier.MalformedIdentifierException;
import cn.cpin.protocol.identifier.NodeCode;
import io.grpc.ServiceDescriptor;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Checks every node must pass whatever its profile: health, reflection, NodeInfo (NOD-*). */
public abstract class AbstractNodeSuite extends ConformanceSuite {

  @Check(requirements = "NOD-001", title = "grpc.health.v1.Health reports the node SERVING")
  void healthReportsServing() {
    ServingStatus status = HealthGrpc.newBlockingStub(channel())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .check(HealthCheckRequest.getDefaultInstance())
        .getStatus();
    Assertions.equal("overall health status", ServingStatus.SERVING, status);
  }

  @Check(requirements = "NOD-002",
      title = "server reflection lists every standard service of the profile and serves its files")
  void reflectionListsProfileServices() throws Exception {
    List<ServerReflectionResponse> listing = reflect(ServerReflectionRequest.newBuilder()
        .setListServices("").build());
    Set<String> listed = new TreeSet<>();
    for (ServiceResponse s : listing.get(0).getListServicesResponse().getServiceList()) {
      listed.add(s.getName());
    }
    List<String> missing = new ArrayList<>();
    for (String name : expectedServices()) {
      if (!listed.contains(name)) {
        missing.add(name);
      }
    }
    Assertions.check(missing.isEmpty(), "reflection does not list " + missing + "; it lists "
        + listed);
    for (ServiceDescriptor service : target().profile().services()) {
      ServerReflectionResponse file = reflect(ServerReflectionRequest.newBuilder()
          .setFileContainingSymbol(service.getName()).build()).get(0);
      Assertions.check(file.hasFileDescriptorResponse()
              && file.getFileDescriptorResponse().getFileDescriptorProtoCount() > 0,
          "reflection serves no file descriptor for " + service.getName() + ": " + file);
    }
  }

  @Check(requirements = "NOD-003",
      title = "NodeInfoService.GetNodeInfo reports a node code and role matching the profile")
  void nodeInfoMatchesProfile() {
    NodeInfo info = NodeInfoServiceGrpc.newBlockingStub(channel())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .getNodeInfo(GetNodeInfoRequest.getDefaultInstance())
        .getNodeInfo();
    Assertions.equal("role", target().profile().role(), info.getRole());
    NodeCode code;
    try {
      code = NodeCode.parse(info.getNodeCode());
    } catch (MalformedIdentifierException e) {
      throw new AssertionError("node_code '" + info.getNodeCode() + "' is malformed: "
          + e.getMessage());
    }
    boolean shapeFits = switch (info.getRole()) {
      case NODE_ROLE_NATIONAL -> code.isNational();
      case NODE_ROLE_REGIONAL -> code.isRegional();
      case NODE_ROLE_INDUSTRY -> code.isIndustry();
      default -> false;
    };
    Assertions.check(shapeFits, "node_code " + code + " does not fit role " + info.getRole());
    String expectedParent = code.parent().map(NodeCode::toString).orElse("");
    Assertions.equal("parent_node_code", expectedParent, info.getParentNodeCode());
    Set<String> missing = new TreeSet<>();
    for (ServiceDescriptor s : target().profile().services()) {
      missing.add(s.getName());
    }
    missing.removeAll(info.getServiceNamesList());
    Assertions.check(missing.isEmpty(), "service_names lacks " + missing);
  }

  @Check(requirements = "NOD-007",
      title = "NodeInfo service_names and protocol_packages equal what reflection lists")
  void nodeInfoServiceNamesMatchReflection() throws Exception {
    Set<String> served = new TreeSet<>();
    for (ServiceResponse s : reflect(ServerReflectionRequest.newBuilder().setListServices("")
        .build()).get(0).getListServicesResponse().getServiceList()) {
      if (s.getName().startsWith("cpin.")) {
        served.add(s.getName());
      }
    }
    NodeInfo info = NodeInfoServiceGrpc.newBlockingStub(channel())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .getNodeInfo(GetNodeInfoRequest.getDefaultInstance())
        .getNodeInfo();
    Assertions.equal("service_names (reflection lists the cpin services " + served + ")",
        served, new TreeSet<>(info.getServiceNamesList()));
    Set<String> packages = new TreeSet<>();
    for (String service : served) {
      packages.add(service.substring(0, service.lastIndexOf('.')));
    }
    Assertions.equal("protocol_packages", packages, new TreeSet<>(info.getProtocolPackagesList()));
  }

  private Set<String> expectedServices() {
    Set<String> names = new TreeSet<>();
    names.add(HealthGrpc.SERVICE_NAME);
    for (ServiceDescriptor s : target().profile().services()) {
      names.add(s.getName());
    }
    return names;
  }

  private List<ServerReflectionResponse> reflect(ServerReflectionRequest request)
      throws InterruptedException, ExecutionException, TimeoutException {
    CompletableFuture<List<ServerReflectionResponse>> done = new CompletableFuture<>();
    List<ServerReflectionResponse> responses = new ArrayList<>();
    StreamObserver<ServerReflectionRequest> requests = ServerReflectionGrpc.newStub(channel())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .serverReflectionInfo(new StreamObserver<>() {
          @Override
          public void onNext(ServerReflectionResponse value) {
            responses.add(value);
          }

          @Override
          public void onError(Throwable t) {
            done.completeExceptionally(t);
          }

          @Override
          public void onCompleted() {
            done.complete(responses);
          }
        });
    requests.onNext(request);
    requests.onCompleted();
    List<ServerReflectionResponse> result = done.get(deadlineMillis() + 1000,
        TimeUnit.MILLISECONDS);
    Assertions.check(!result.isEmpty(), "reflection returned no response to " + request);
    return result;
  }
}
