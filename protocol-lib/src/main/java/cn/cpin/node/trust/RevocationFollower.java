package cn.cpin.node.trust;

import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import cn.cpin.trust.v1.WatchRevocationsRequest;
import cn.cpin.trust.v1.WatchRevocationsResponse;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Follows the national revocation feed (SEC-011) with a WatchRevocations stream, resuming from
 * the last applied sequence number after any interruption.
 *
 * <p>Bound: an entry reaches this node as soon as the national node appends it while the stream
 * is up; a broken stream is reopened within {@link #MAX_RETRY}. So a revocation applies to new
 * calls within 5 s of its appearance in the feed while the national node is reachable (SEC-011
 * allows 60 s).
 */
public final class RevocationFollower implements AutoCloseable {
  static final Duration MAX_RETRY = Duration.ofSeconds(2);

  private final ManagedChannel national;
  private final RevocationList revocations;
  private final EventLog events;
  private final ScheduledExecutorService scheduler;
  private volatile Context.CancellableContext stream;
  private volatile boolean closed;
  private boolean reportedDown;

  public RevocationFollower(ManagedChannel national, RevocationList revocations, EventLog events) {
    this.national = national;
    this.revocations = revocations;
    this.events = events;
    this.scheduler = Daemons.scheduler("revocation-follower");
  }

  public void start() {
    scheduler.execute(this::watch);
  }

  private void watch() {
    if (closed) {
      return;
    }
    Context.CancellableContext context = Context.current().withCancellation();
    stream = context;
    context.run(() -> RevocationServiceGrpc.newStub(national).watchRevocations(
        WatchRevocationsRequest.newBuilder()
            .setAfterSequenceNumber(revocations.lastSequence()).build(),
        new StreamObserver<>() {
          @Override
          public void onNext(WatchRevocationsResponse response) {
            if (reportedDown) {
              events.info("revocation_feed.resumed", "after", revocations.lastSequence());
              reportedDown = false;
            }
            if (response.getEntriesCount() > 0) {
              revocations.apply(response.getEntriesList(), response.getLatestSequenceNumber());
              events.info("revocation_feed.applied", "entries", response.getEntriesCount(),
                  "sequence", revocations.lastSequence());
            }
          }

          @Override
          public void onError(Throwable t) {
            if (closed) {
              return;
            }
            if (!reportedDown) {
              events.warn("revocation_feed.interrupted", "status", Status.fromThrowable(t)
                  .getCode(), "retry_in_ms", MAX_RETRY.toMillis());
              reportedDown = true;
            }
            scheduler.schedule(RevocationFollower.this::watch, MAX_RETRY.toMillis(),
                TimeUnit.MILLISECONDS);
          }

          @Override
          public void onCompleted() {
            onError(Status.UNAVAILABLE.withDescription("feed ended").asRuntimeException());
          }
        }));
  }

  @Override
  public void close() {
    closed = true;
    Context.CancellableContext current = stream;
    if (current != null) {
      current.cancel(null);
    }
    scheduler.shutdownNow();
  }
}
