package cn.cpin.node;

import cn.cpin.protocol.validation.FieldRulesValidator;
import com.google.protobuf.Message;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;

/**
 * Validates every incoming request message against the standard's field rules before any service
 * code sees it (GEN-005), so that a malformed identifier never reaches the domain.
 *
 * <p>Throws the {@code InvalidArgumentException} for {@link ErrorMappingInterceptor} to report; after
 * a rejection the call's later events are dropped, since the call is already closed.
 */
public final class RequestValidationInterceptor implements ServerInterceptor {
  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
        next.startCall(call, headers)) {
      private boolean rejected;

      @Override
      public void onMessage(ReqT message) {
        if (rejected) {
          return;
        }
        if (message instanceof Message request) {
          try {
            FieldRulesValidator.check(request);
          } catch (RuntimeException e) {
            rejected = true;
            throw e;
          }
        }
        super.onMessage(message);
      }

      @Override
      public void onHalfClose() {
        if (!rejected) {
          super.onHalfClose();
        }
      }

      @Override
      public void onReady() {
        if (!rejected) {
          super.onReady();
        }
      }
    };
  }
}
