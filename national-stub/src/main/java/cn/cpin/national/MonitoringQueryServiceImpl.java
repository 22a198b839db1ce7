package cn.cpin.national;

import cn.cpin.monitoring.v1.GetMarketSummaryRequest;
import cn.cpin.monitoring.v1.GetMarketSummaryResponse;
import cn.cpin.monitoring.v1.MonitoringQueryServiceGrpc;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.monitoring.v1.QueryMonitoringDataResponse;
import cn.cpin.node.trust.AccessControlInterceptor;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link MonitoringArchive}'s queries: convert, delegate, convert. */
final class MonitoringQueryServiceImpl
    extends MonitoringQueryServiceGrpc.MonitoringQueryServiceImplBase {
  private final MonitoringArchive archive;

  MonitoringQueryServiceImpl(MonitoringArchive archive) {
    this.archive = archive;
  }

  @Override
  public void queryMonitoringData(QueryMonitoringDataRequest request,
      StreamObserver<QueryMonitoringDataResponse> responseObserver) {
    responseObserver.onNext(archive.query(AccessControlInterceptor.CALLER.get(), request));
    responseObserver.onCompleted();
  }

  @Override
  public void getMarketSummary(GetMarketSummaryRequest request,
      StreamObserver<GetMarketSummaryResponse> responseObserver) {
    responseObserver.onNext(archive.summary(request));
    responseObserver.onCompleted();
  }
}
