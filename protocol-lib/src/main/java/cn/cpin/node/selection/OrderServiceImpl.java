package cn.cpin.node.selection;

import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.selection.v1.ConfirmOrderRequest;
import cn.cpin.selection.v1.ConfirmOrderResponse;
import cn.cpin.selection.v1.GetOrderRequest;
import cn.cpin.selection.v1.GetOrderResponse;
import cn.cpin.selection.v1.OrderServiceGrpc;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReleaseOrderResponse;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.selection.v1.ReserveOrderResponse;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link OrderBook}: convert, delegate, convert. */
public final class OrderServiceImpl extends OrderServiceGrpc.OrderServiceImplBase {
  private final OrderBook book;

  public OrderServiceImpl(OrderBook book) {
    this.book = book;
  }

  @Override
  public void reserveOrder(ReserveOrderRequest request,
      StreamObserver<ReserveOrderResponse> response) {
    DedicatedLineServiceImpl.reply(response, ReserveOrderResponse.newBuilder()
        .setOrder(book.reserve(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void confirmOrder(ConfirmOrderRequest request,
      StreamObserver<ConfirmOrderResponse> response) {
    DedicatedLineServiceImpl.reply(response, ConfirmOrderResponse.newBuilder()
        .setOrder(book.confirm(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void releaseOrder(ReleaseOrderRequest request,
      StreamObserver<ReleaseOrderResponse> response) {
    DedicatedLineServiceImpl.reply(response, ReleaseOrderResponse.newBuilder()
        .setOrder(book.release(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void getOrder(GetOrderRequest request, StreamObserver<GetOrderResponse> response) {
    DedicatedLineServiceImpl.reply(response, GetOrderResponse.newBuilder()
        .setOrder(book.get(AccessControlInterceptor.CALLER.get(),
            Identifier.parse(request.getOrderId()))).build());
  }
}
