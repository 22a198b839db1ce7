package cn.cpin.node.selection;

import cn.cpin.node.Paging;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.selection.v1.CloseDedicatedLineRequest;
import cn.cpin.selection.v1.CloseDedicatedLineResponse;
import cn.cpin.selection.v1.DedicatedLineServiceGrpc;
import cn.cpin.selection.v1.GetDedicatedLineRequest;
import cn.cpin.selection.v1.GetDedicatedLineResponse;
import cn.cpin.selection.v1.ListDedicatedLinesRequest;
import cn.cpin.selection.v1.ListDedicatedLinesResponse;
import cn.cpin.selection.v1.OpenDedicatedLineRequest;
import cn.cpin.selection.v1.OpenDedicatedLineResponse;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link DedicatedLineBook}: convert, delegate, convert. */
public final class DedicatedLineServiceImpl
    extends DedicatedLineServiceGrpc.DedicatedLineServiceImplBase {
  private final DedicatedLineBook book;

  public DedicatedLineServiceImpl(DedicatedLineBook book) {
    this.book = book;
  }

  @Override
  public void openDedicatedLine(OpenDedicatedLineRequest request,
      StreamObserver<OpenDedicatedLineResponse> response) {
    reply(response, OpenDedicatedLineResponse.newBuilder()
        .setLine(book.open(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void closeDedicatedLine(CloseDedicatedLineRequest request,
      StreamObserver<CloseDedicatedLineResponse> response) {
    reply(response, CloseDedicatedLineResponse.newBuilder()
        .setLine(book.close(AccessControlInterceptor.CALLER.get(), request)).build());
  }

  @Override
  public void getDedicatedLine(GetDedicatedLineRequest request,
      StreamObserver<GetDedicatedLineResponse> response) {
    reply(response, GetDedicatedLineResponse.newBuilder()
        .setLine(book.get(Identifier.parse(request.getLineId()))).build());
  }

  @Override
  public void listDedicatedLines(ListDedicatedLinesRequest request,
      StreamObserver<ListDedicatedLinesResponse> response) {
    DedicatedLineBook.Page page = book.list(request, Paging.size(request.getPageSize()));
    reply(response, ListDedicatedLinesResponse.newBuilder().addAllLines(page.lines())
        .setNextPageToken(page.nextPageToken()).build());
  }

  static <T> void reply(StreamObserver<T> response, T message) {
    response.onNext(message);
    response.onCompleted();
  }
}
