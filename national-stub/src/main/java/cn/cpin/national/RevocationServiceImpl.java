package cn.cpin.national;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.trust.v1.ListRevocationsRequest;
import cn.cpin.trust.v1.ListRevocationsResponse;
import cn.cpin.trust.v1.RevocationEntry;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import cn.cpin.trust.v1.RevokeCertificateRequest;
import cn.cpin.trust.v1.RevokeCertificateResponse;
import cn.cpin.trust.v1.WatchRevocationsRequest;
import cn.cpin.trust.v1.WatchRevocationsResponse;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** gRPC adapter of {@link RevocationFeed}, with a heartbeat on idle watch streams. */
final class RevocationServiceImpl extends RevocationServiceGrpc.RevocationServiceImplBase {
  private static final int DEFAULT_PAGE = 100;
  private static final int MAX_PAGE = 1000;
  private static final long HEARTBEAT_SECONDS = 10;

  private final RevocationFeed feed;
  private final ScheduledExecutorService heartbeats;

  RevocationServiceImpl(RevocationFeed feed, ScheduledExecutorService heartbeats) {
    this.feed = feed;
    this.heartbeats = heartbeats;
  }

  @Override
  public void revokeCertificate(RevokeCertificateRequest request,
      StreamObserver<RevokeCertificateResponse> responseObserver) {
    RevocationEntry entry = feed.revoke(request.getRequestId(),
        AccessControlInterceptor.CALLER.get(), request.getCertificateDer().toByteArray(),
        request.getReason());
    responseObserver.onNext(RevokeCertificateResponse.newBuilder().setEntry(entry).build());
    responseObserver.onCompleted();
  }

  @Override
  public void listRevocations(ListRevocationsRequest request,
      StreamObserver<ListRevocationsResponse> responseObserver) {
    if (request.getPageSize() < 0) {
      throw InvalidArgumentException.of("page_size", "must not be negative",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    long after = request.getAfterSequenceNumber();
    if (!request.getPageToken().isEmpty()) {
      try {
        after = Long.parseLong(request.getPageToken());
      } catch (NumberFormatException e) {
        throw InvalidArgumentException.of("page_token", "is not a token this node returned",
            ErrorReason.ERROR_REASON_INVALID_FIELDS);
      }
    }
    requireInRange(after);
    int size = request.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(MAX_PAGE,
        request.getPageSize());
    List<RevocationEntry> page = feed.after(after, size);
    ListRevocationsResponse.Builder response = ListRevocationsResponse.newBuilder()
        .addAllEntries(page)
        .setLatestSequenceNumber(feed.latest());
    if (page.size() == size) {
      response.setNextPageToken(Long.toString(page.get(page.size() - 1).getSequenceNumber()));
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  @Override
  public void watchRevocations(WatchRevocationsRequest request,
      StreamObserver<WatchRevocationsResponse> responseObserver) {
    requireInRange(request.getAfterSequenceNumber());
    ServerCallStreamObserver<WatchRevocationsResponse> stream =
        (ServerCallStreamObserver<WatchRevocationsResponse>) responseObserver;
    Object lock = new Object();
    Consumer<RevocationEntry> watcher = entry -> {
      synchronized (lock) {
        if (!stream.isCancelled()) {
          stream.onNext(WatchRevocationsResponse.newBuilder().addEntries(entry)
              .setLatestSequenceNumber(entry.getSequenceNumber()).build());
        }
      }
    };
    synchronized (lock) {
      List<RevocationEntry> backlog = feed.watch(request.getAfterSequenceNumber(), watcher);
      stream.onNext(WatchRevocationsResponse.newBuilder().addAllEntries(backlog)
          .setLatestSequenceNumber(feed.latest()).build());
    }
    ScheduledFuture<?> heartbeat = heartbeats.scheduleAtFixedRate(() -> {
      synchronized (lock) {
        if (!stream.isCancelled()) {
          stream.onNext(WatchRevocationsResponse.newBuilder()
              .setLatestSequenceNumber(feed.latest()).build());
        }
      }
    }, HEARTBEAT_SECONDS, HEARTBEAT_SECONDS, TimeUnit.SECONDS);
    stream.setOnCancelHandler(() -> {
      feed.unwatch(watcher);
      heartbeat.cancel(false);
    });
  }

  private void requireInRange(long after) {
    if (after > feed.latest()) {
      throw new CpinException(CpinException.Kind.OUT_OF_RANGE,
          ErrorReason.ERROR_REASON_INVALID_FIELDS, "after_sequence_number " + after
              + " is beyond the latest entry " + feed.latest(),
          Map.of("field", "after_sequence_number"));
    }
  }
}
