package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.aggregation.v1.PublishInventoryRequest;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.node.trust.AccessControlInterceptor;
import io.grpc.stub.StreamObserver;
import java.time.Clock;

/** gRPC adapter of {@link ProviderPublication}: one publication per stream (flow 4). */
public final class ProviderInventoryServiceImpl
    extends ProviderInventoryServiceGrpc.ProviderInventoryServiceImplBase {
  private final Inventory inventory;
  private final ResourceIdentifiers identifiers;
  private final ProviderStanding standing;
  private final Clock clock;

  public ProviderInventoryServiceImpl(Inventory inventory, ResourceIdentifiers identifiers,
      ProviderStanding standing, Clock clock) {
    this.inventory = inventory;
    this.identifiers = identifiers;
    this.standing = standing;
    this.clock = clock;
  }

  @Override
  public StreamObserver<PublishInventoryRequest> publishInventory(
      StreamObserver<PublishInventoryResponse> acks) {
    ProviderPublication publication = new ProviderPublication(inventory,
        AccessControlInterceptor.CALLER.get(), identifiers, standing, clock);
    return AckStreams.serve(publication::accept, acks);
  }
}
