package cn.cpin.national;

import cn.cpin.identifier.v1.AllocateNodeCodeRequest;
import cn.cpin.identifier.v1.AllocateNodeCodeResponse;
import cn.cpin.identifier.v1.GetNodeCodeRequest;
import cn.cpin.identifier.v1.GetNodeCodeResponse;
import cn.cpin.identifier.v1.ListNodeCodesRequest;
import cn.cpin.identifier.v1.ListNodeCodesResponse;
import cn.cpin.identifier.v1.NodeCodeAllocation;
import cn.cpin.identifier.v1.NodeCodeServiceGrpc;
import cn.cpin.identifier.v1.NodeCodeStatus;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.NodeCode;
import com.google.protobuf.util.Timestamps;
import io.grpc.stub.StreamObserver;
import java.util.Map;

/** gRPC adapter of {@link NodeRegistry}: convert, delegate, convert. */
final class NodeCodeServiceImpl extends NodeCodeServiceGrpc.NodeCodeServiceImplBase {
  private final NodeRegistry registry;

  NodeCodeServiceImpl(NodeRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void allocateNodeCode(AllocateNodeCodeRequest request,
      StreamObserver<AllocateNodeCodeResponse> responseObserver) {
    NodeRegistry.Allocation allocation = registry.allocate(request.getRequestId(),
        request.getRole(), request.getProvinceCode(), request.getIndustrySection(),
        request.getOperatorName(), request.getOperatorCreditCode());
    responseObserver.onNext(AllocateNodeCodeResponse.newBuilder()
        .setAllocation(allocation.allocation())
        .setEnrollmentToken(allocation.token())
        .setEnrollmentTokenExpiresAt(Timestamps.fromMillis(
            allocation.tokenExpiresAt().toEpochMilli()))
        .build());
    responseObserver.onCompleted();
  }

  @Override
  public void getNodeCode(GetNodeCodeRequest request,
      StreamObserver<GetNodeCodeResponse> responseObserver) {
    NodeCode code = NodeCode.parse(request.getNodeCode());
    NodeCodeAllocation allocation = registry.get(code).orElseThrow(() -> CpinException.notFound(
        "node code " + code + " is not allocated", Map.of("node_code", code.toString())));
    responseObserver.onNext(GetNodeCodeResponse.newBuilder().setAllocation(allocation).build());
    responseObserver.onCompleted();
  }

  @Override
  public void listNodeCodes(ListNodeCodesRequest request,
      StreamObserver<ListNodeCodesResponse> responseObserver) {
    ListNodeCodesResponse.Builder response = ListNodeCodesResponse.newBuilder();
    for (NodeCodeAllocation a : registry.list()) {
      if ((request.getRoleValue() == 0 || a.getRole() == request.getRole())
          && (request.getProvinceCode().isEmpty()
              || a.getProvinceCode().equals(request.getProvinceCode()))
          && (request.getParentNodeCode().isEmpty()
              || a.getParentNodeCode().equals(request.getParentNodeCode()))
          && (request.getStatus() == NodeCodeStatus.NODE_CODE_STATUS_UNSPECIFIED
              || a.getStatus() == request.getStatus())) {
        response.addAllocations(a);
      }
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }
}
