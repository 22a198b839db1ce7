package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.GetResourceResponse;
import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link InventoryQueries} (flow 5, AGG-013). */
public final class InventoryServiceImpl extends InventoryServiceGrpc.InventoryServiceImplBase {
  private final InventoryQueries queries;

  public InventoryServiceImpl(InventoryQueries queries) {
    this.queries = queries;
  }

  @Override
  public void getResource(GetResourceRequest request,
      StreamObserver<GetResourceResponse> response) {
    response.onNext(queries.get(request));
    response.onCompleted();
  }

  @Override
  public void listResources(ListResourcesRequest request,
      StreamObserver<ListResourcesResponse> response) {
    response.onNext(queries.list(request));
    response.onCompleted();
  }
}
