package cn.cpin.node.servicecenter;

import cn.cpin.node.Paging;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.servicecenter.v1.*;
import io.grpc.stub.StreamObserver;
import java.util.List;

/** gRPC adapter of {@link DemandBook}: convert, delegate, convert. */
final class DemandServiceImpl extends DemandServiceGrpc.DemandServiceImplBase {
  private final DemandBook book;

  DemandServiceImpl(DemandBook book) {
    this.book = book;
  }

  @Override
  public void submitDemand(SubmitDemandRequest request,
      StreamObserver<SubmitDemandResponse> response) {
    ParticipantServiceImpl.reply(response, SubmitDemandResponse.newBuilder()
        .setDemand(book.submit(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void getDemand(GetDemandRequest request, StreamObserver<GetDemandResponse> response) {
    ParticipantServiceImpl.reply(response, GetDemandResponse.newBuilder()
        .setDemand(book.get(AccessControlInterceptor.CALLER.get(),
            Identifier.parse(request.getDemandId()))).build());
  }

  @Override
  public void listDemands(ListDemandsRequest request,
      StreamObserver<ListDemandsResponse> response) {
    int size = Paging.size(request.getPageSize());
    List<Demand> page = book.list(AccessControlInterceptor.CALLER.get(), request.getUserId(),
        d -> request.getStatusValue() == 0 || d.getStatus() == request.getStatus(),
        request.getPageToken(), size);
    ListDemandsResponse.Builder out = ListDemandsResponse.newBuilder().addAllDemands(page);
    if (page.size() == size) {
      out.setNextPageToken(page.get(page.size() - 1).getDemandId());
    }
    ParticipantServiceImpl.reply(response, out.build());
  }

  @Override
  public void cancelDemand(CancelDemandRequest request,
      StreamObserver<CancelDemandResponse> response) {
    ParticipantServiceImpl.reply(response, CancelDemandResponse.newBuilder()
        .setDemand(book.cancel(AccessControlInterceptor.CALLER.get(), request)).build());
  }
}
