package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.monitoring.v1.MonitoringUplinkServiceGrpc;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.pki.CpinIdentity;
import io.grpc.stub.StreamObserver;

/**
 * gRPC adapter of {@link MonitoringReceiver}: one acknowledgement per batch, in order; the first
 * refused batch fails the stream with the status {@link StatusMapping} gives its error.
 */
public final class MonitoringUplinkServiceImpl
    extends MonitoringUplinkServiceGrpc.MonitoringUplinkServiceImplBase {
  private final MonitoringReceiver receiver;

  public MonitoringUplinkServiceImpl(MonitoringReceiver receiver) {
    this.receiver = receiver;
  }

  @Override
  public StreamObserver<ExportMonitoringDataRequest> exportMonitoringData(
      StreamObserver<ExportMonitoringDataResponse> acks) {
    CpinIdentity caller = AccessControlInterceptor.CALLER.get();
    return new StreamObserver<>() {
      // gRPC delivers one message at a time per call, so no lock is needed.
      private boolean failed;

      @Override
      public void onNext(ExportMonitoringDataRequest batch) {
        if (failed) {
          return;
        }
        ExportMonitoringDataResponse ack;
        try {
          ack = receiver.receive(caller, batch);
        } catch (RuntimeException e) {
          failed = true;
          if (StatusMapping.isUnexpected(e)) {
            throw e; // logged and reported as INTERNAL by the error-mapping interceptor
          }
          acks.onError(StatusMapping.toStatusRuntimeException(e));
          return;
        }
        acks.onNext(ack);
      }

      @Override
      public void onError(Throwable t) {
        failed = true; // the sender went away; it resends what was not acknowledged
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
