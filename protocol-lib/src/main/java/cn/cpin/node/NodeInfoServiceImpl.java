package cn.cpin.node;

import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.GetNodeInfoResponse;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import io.grpc.stub.StreamObserver;

/** Serves the node's own description (NOD-003); the description is fixed at start. */
final class NodeInfoServiceImpl extends NodeInfoServiceGrpc.NodeInfoServiceImplBase {
  private final GetNodeInfoResponse response;

  NodeInfoServiceImpl(NodeInfo info) {
    this.response = GetNodeInfoResponse.newBuilder().setNodeInfo(info).build();
  }

  @Override
  public void getNodeInfo(
      GetNodeInfoRequest request, StreamObserver<GetNodeInfoResponse> responseObserver) {
    responseObserver.onNext(response);
    responseObserver.onCompleted();
  }
}
