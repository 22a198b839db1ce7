package cn.cpin.node.aggregation;

import io.grpc.stub.StreamObserver;
import java.util.function.Function;

/**
 * The shape both publication RPCs share: every request message gets its acknowledgement; a
 * stream-level failure is thrown for {@code ErrorMappingInterceptor} to turn into the stream's
 * status (GEN-001), after which the stream's remaining events are ignored.
 */
final class AckStreams {
  private AckStreams() {}

  static <Q, A> StreamObserver<Q> serve(Function<Q, A> handler, StreamObserver<A> acks) {
    return new StreamObserver<>() {
      private boolean failed;

      @Override
      public void onNext(Q request) {
        if (failed) {
          return;
        }
        A ack;
        try {
          ack = handler.apply(request);
        } catch (RuntimeException e) {
          failed = true;
          throw e;
        }
        acks.onNext(ack);
      }

      @Override
      public void onError(Throwable t) {
        failed = true; // the publisher went away; what was acknowledged stays applied
      }

      @Override
      public void onCompleted() {
        if (!failed) {
          acks.onCompleted();
        }
      }
    };
  }
}
