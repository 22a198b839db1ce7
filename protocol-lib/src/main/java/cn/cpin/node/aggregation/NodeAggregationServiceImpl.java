package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.NodeAggregationServiceGrpc;
import cn.cpin.aggregation.v1.ReportAggregateRequest;
import cn.cpin.aggregation.v1.ReportAggregateResponse;
import cn.cpin.node.trust.AccessControlInterceptor;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link NodeReport}: one industry node's report per stream (AGG-009). */
public final class NodeAggregationServiceImpl
    extends NodeAggregationServiceGrpc.NodeAggregationServiceImplBase {
  private final Inventory inventory;

  public NodeAggregationServiceImpl(Inventory inventory) {
    this.inventory = inventory;
  }

  @Override
  public StreamObserver<ReportAggregateRequest> reportAggregate(
      StreamObserver<ReportAggregateResponse> acks) {
    NodeReport report = new NodeReport(inventory, AccessControlInterceptor.CALLER.get());
    return AckStreams.serve(report::accept, acks);
  }
}
