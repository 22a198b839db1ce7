package cn.cpin.node;

import cn.cpin.protocol.error.StatusMapping;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.function.BiConsumer;

/**
 * Turns whatever a service throws into the standard's status through {@link StatusMapping}, and
 * gives every failed status an ErrorInfo (GEN-001).
 *
 * <p>It must be the outermost interceptor so that it also sees what inner interceptors do.
 */
public final class ErrorMappingInterceptor implements ServerInterceptor {
  /** Told of every call answered UNAUTHENTICATED or PERMISSION_DENIED (security monitoring). */
  public interface Refusals {
    void refused(String method, Status status, String peerHost);
  }

  private final BiConsumer<String, Throwable> unexpected;
  private final Refusals refusals;

  /** {@code unexpected} receives the full method name and the exception of every bug. */
  public ErrorMappingInterceptor(BiConsumer<String, Throwable> unexpected) {
    this(unexpected, (method, status, peer) -> { });
  }

  /** As {@link #ErrorMappingInterceptor(BiConsumer)}; {@code refusals} hears of every refusal. */
  public ErrorMappingInterceptor(BiConsumer<String, Throwable> unexpected, Refusals refusals) {
    this.unexpected = unexpected;
    this.refusals = refusals;
  }

  @Override
  public <ReqT, RespT> ServerCall.Listener<ReqT> interceptCall(
      ServerCall<ReqT, RespT> call, Metadata headers, ServerCallHandler<ReqT, RespT> next) {
    GuardedCall<ReqT, RespT> guarded = new GuardedCall<>(call);
    ServerCall.Listener<ReqT> delegate;
    try {
      delegate = next.startCall(guarded, headers);
    } catch (RuntimeException e) {
      guarded.fail(e);
      return new ServerCall.Listener<>() {};
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
      @Override
      public void onMessage(ReqT message) {
        try {
          super.onMessage(message);
        } catch (RuntimeException e) {
          guarded.fail(e);
        }
      }

      @Override
      public void onHalfClose() {
        try {
          super.onHalfClose();
        } catch (RuntimeException e) {
          guarded.fail(e);
        }
      }

      @Override
      public void onReady() {
        try {
          super.onReady();
        } catch (RuntimeException e) {
          guarded.fail(e);
        }
      }
    };
  }

  /** Closes at most once; gRPC serializes calls on one ServerCall, so no lock is needed. */
  private final class GuardedCall<ReqT, RespT>
      extends ForwardingServerCall.SimpleForwardingServerCall<ReqT, RespT> {
    private boolean closed;

    GuardedCall(ServerCall<ReqT, RespT> delegate) {
      super(delegate);
    }

    @Override
    public void close(Status status, Metadata trailers) {
      if (closed) {
        return;
      }
      closed = true;
      if (status.getCode() == Status.Code.UNAUTHENTICATED
          || status.getCode() == Status.Code.PERMISSION_DENIED) {
        // Here every answer passes, whether an interceptor or a service refused the call.
        refusals.refused(getMethodDescriptor().getFullMethodName(), status, peerHost());
      }
      StatusMapping.addDefaultDetails(status, trailers);
      super.close(status, trailers);
    }

    private String peerHost() {
      SocketAddress remote = getAttributes() == null ? null
          : getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
      return remote instanceof InetSocketAddress inet && inet.getAddress() != null
          ? inet.getAddress().getHostAddress() : String.valueOf(remote);
    }

    void fail(RuntimeException e) {
      if (StatusMapping.isUnexpected(e)) {
        unexpected.accept(getMethodDescriptor().getFullMethodName(), e);
      }
      StatusRuntimeException mapped = StatusMapping.toStatusRuntimeException(e);
      Metadata trailers = mapped.getTrailers() == null ? new Metadata() : mapped.getTrailers();
      close(mapped.getStatus(), trailers);
    }
  }
}
