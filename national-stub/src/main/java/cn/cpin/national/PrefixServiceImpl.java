package cn.cpin.national;

import cn.cpin.identifier.v1.PrefixServiceGrpc;
import cn.cpin.identifier.v1.RegisterEndpointsRequest;
import cn.cpin.identifier.v1.RegisterEndpointsResponse;
import cn.cpin.identifier.v1.ResolvePrefixRequest;
import cn.cpin.identifier.v1.ResolvePrefixResponse;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.NodeCode;
import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link PrefixRegistry}: convert, delegate, convert. */
final class PrefixServiceImpl extends PrefixServiceGrpc.PrefixServiceImplBase {
  /** How long a resolver may cache an answer (IDN-022 SHOULD 1 h; short, as nodes move). */
  static final long TTL_SECONDS = 300;

  private final PrefixRegistry registry;

  PrefixServiceImpl(PrefixRegistry registry) {
    this.registry = registry;
  }

  @Override
  public void resolvePrefix(ResolvePrefixRequest request,
      StreamObserver<ResolvePrefixResponse> responseObserver) {
    responseObserver.onNext(ResolvePrefixResponse.newBuilder()
        .setRecord(registry.resolve(NodeCode.parse(request.getPrefix())))
        .setTtl(Durations.fromSeconds(TTL_SECONDS))
        .build());
    responseObserver.onCompleted();
  }

  @Override
  public void registerEndpoints(RegisterEndpointsRequest request,
      StreamObserver<RegisterEndpointsResponse> responseObserver) {
    responseObserver.onNext(RegisterEndpointsResponse.newBuilder()
        .setRecord(registry.register(AccessControlInterceptor.CALLER.get(),
            NodeCode.parse(request.getPrefix()), request.getServingNodeCode().isEmpty() ? null
                : NodeCode.parse(request.getServingNodeCode()), request.getEndpointsList()))
        .build());
    responseObserver.onCompleted();
  }
}
