package cn.cpin.node;

import cn.cpin.protocol.error.CpinException;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;

/**
 * Serves a standard service of the node's profile whose behaviour this version does not have yet.
 *
 * <p>The service is still listed by reflection and its requests are still validated (so malformed
 * input gets INVALID_ARGUMENT, GEN-004); a well-formed request gets UNIMPLEMENTED with reason
 * NOT_IMPLEMENTED, never a silent success.
 */
final class UnimplementedStandardService {
  private UnimplementedStandardService() {}

  static ServerServiceDefinition of(ServiceDescriptor service) {
    ServerServiceDefinition.Builder definition = ServerServiceDefinition.builder(service);
    for (MethodDescriptor<?, ?> method : service.getMethods()) {
      add(definition, method);
    }
    return definition.build();
  }

  private static <ReqT, RespT> void add(
      ServerServiceDefinition.Builder definition, MethodDescriptor<ReqT, RespT> method) {
    definition.addMethod(method, new ServerCallHandler<ReqT, RespT>() {
      @Override
      public ServerCall.Listener<ReqT> startCall(ServerCall<ReqT, RespT> call,
          io.grpc.Metadata headers) {
        call.request(1);
        return new ServerCall.Listener<>() {
          @Override
          public void onMessage(ReqT message) {
            throw CpinException.unimplemented(method.getFullMethodName());
          }

          @Override
          public void onHalfClose() {
            throw CpinException.unimplemented(method.getFullMethodName());
          }
        };
      }
    });
  }
}
