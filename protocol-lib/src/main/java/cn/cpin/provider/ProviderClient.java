package cn.cpin.provider;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.InventoryDelta;
import cn.cpin.aggregation.v1.InventoryHeartbeat;
import cn.cpin.aggregation.v1.InventorySnapshot;
import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.aggregation.v1.PublishInventoryRequest;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceAssignment;
import com.google.protobuf.util.Timestamps;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A compute provider's side of the standard interface (flow 4): one {@code PublishInventory}
 * stream on which it publishes snapshots and deltas with increasing versions and heartbeats, and
 * learns the identifiers the node assigned.
 *
 * <p>After a disconnect, {@link #connect} sends a heartbeat first: if the node acknowledged this
 * client's current version, the client continues with deltas ({@link #canResume}); otherwise it
 * must publish a snapshot. Messages are pipelined; each call's future completes with its ack.
 * Thread-safe.
 */
public final class ProviderClient implements AutoCloseable {
  static final int CHUNK = 1000;

  private final Channel channel;
  private final String providerId;
  private final Map<String, String> resourceIds = new ConcurrentHashMap<>();
  /** Futures of the sent messages, oldest first. Guarded by this. */
  private Queue<CompletableFuture<PublishInventoryResponse>> pending = new ArrayDeque<>();
  private ClientCallStreamObserver<PublishInventoryRequest> stream;
  private long sequence;
  /** The version of the last snapshot or delta sent. */
  private long version;
  private volatile long acknowledged;

  public ProviderClient(Channel channel, String providerId) {
    this.channel = channel;
    this.providerId = providerId;
  }

  public String providerId() {
    return providerId;
  }

  /** Opens a new stream and sends a heartbeat; completes with the node's ack. */
  public synchronized CompletableFuture<PublishInventoryResponse> connect() {
    closeStream("reconnecting");
    sequence = 0;
    Queue<CompletableFuture<PublishInventoryResponse>> mine = new ArrayDeque<>();
    pending = mine;
    ProviderInventoryServiceGrpc.newStub(channel).publishInventory(
        new ClientResponseObserver<PublishInventoryRequest, PublishInventoryResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<PublishInventoryRequest> s) {
            stream = s;
          }

          @Override
          public void onNext(PublishInventoryResponse ack) {
            received(mine, ack);
          }

          @Override
          public void onError(Throwable t) {
            failAll(mine, t);
          }

          @Override
          public void onCompleted() {
            failAll(mine, Status.UNAVAILABLE.withDescription("stream completed by the node")
                .asRuntimeException());
          }
        });
    return heartbeat();
  }

  /** Whether the node has acknowledged everything this client published, so deltas can follow. */
  public boolean canResume() {
    return version > 0 && acknowledged == version;
  }

  public long acknowledgedVersion() {
    return acknowledged;
  }

  /** The identifier assigned to a local key, once acknowledged. */
  public String resourceId(String localKey) {
    return resourceIds.get(localKey);
  }

  public synchronized CompletableFuture<PublishInventoryResponse> heartbeat() {
    return send(PublishInventoryRequest.newBuilder()
        .setHeartbeat(InventoryHeartbeat.newBuilder().setVersion(version)));
  }

  /**
   * Publishes the whole inventory at a new version, in chunks of at most 1000; completes with the
   * last chunk's ack. The version is above anything the node acknowledged.
   */
  public synchronized CompletableFuture<PublishInventoryResponse> snapshot(
      List<Resource> resources) {
    version = Math.max(version, acknowledged) + 1;
    CompletableFuture<PublishInventoryResponse> last = null;
    int chunks = Math.max(1, (resources.size() + CHUNK - 1) / CHUNK);
    for (int c = 0; c < chunks; c++) {
      List<Resource> part = resources.subList(c * CHUNK, Math.min(resources.size(), (c + 1) * CHUNK));
      last = send(PublishInventoryRequest.newBuilder().setSnapshot(InventorySnapshot.newBuilder()
          .setVersion(version).setChunkIndex(c).setLastChunk(c == chunks - 1)
          .addAllResources(part)));
    }
    return last;
  }

  /** Publishes changes from the current version to the next. */
  public synchronized CompletableFuture<PublishInventoryResponse> delta(List<Resource> upserts,
      List<String> removedLocalKeys) {
    long base = version;
    version = base + 1;
    return send(PublishInventoryRequest.newBuilder().setDelta(InventoryDelta.newBuilder()
        .setBaseVersion(base).setVersion(version).addAllUpserts(upserts)
        .addAllRemovedLocalKeys(removedLocalKeys)));
  }

  private CompletableFuture<PublishInventoryResponse> send(PublishInventoryRequest.Builder request) {
    CompletableFuture<PublishInventoryResponse> ack = new CompletableFuture<>();
    if (stream == null) {
      ack.completeExceptionally(Status.FAILED_PRECONDITION
          .withDescription("not connected").asRuntimeException());
      return ack;
    }
    pending.add(ack);
    stream.onNext(request.setProviderId(providerId).setSequenceNumber(++sequence)
        .setSentAt(Timestamps.fromMillis(System.currentTimeMillis())).build());
    return ack;
  }

  private void received(Queue<CompletableFuture<PublishInventoryResponse>> queue,
      PublishInventoryResponse ack) {
    CompletableFuture<PublishInventoryResponse> future;
    synchronized (this) {
      future = queue.poll();
      for (ResourceAssignment a : ack.getAssignmentsList()) {
        resourceIds.put(a.getLocalKey(), a.getResourceId());
      }
      acknowledged = ack.getAcknowledgedVersion();
      if (ack.getStatus() == AckStatus.ACK_STATUS_RESYNC_REQUIRED) {
        version = Math.max(version, acknowledged);
      }
    }
    if (future != null) {
      future.complete(ack);
    }
  }

  private void failAll(Queue<CompletableFuture<PublishInventoryResponse>> queue, Throwable t) {
    List<CompletableFuture<PublishInventoryResponse>> failed;
    synchronized (this) {
      failed = List.copyOf(queue);
      queue.clear();
      if (pending == queue) {
        stream = null;
      }
    }
    failed.forEach(f -> f.completeExceptionally(t));
  }

  private void closeStream(String why) {
    if (stream != null) {
      stream.cancel(why, null);
      stream = null;
    }
  }

  /** Whether a stream is open. */
  public synchronized boolean connected() {
    return stream != null;
  }

  /** Ends the stream cleanly. */
  @Override
  public synchronized void close() {
    if (stream != null) {
      stream.onCompleted();
      stream = null;
    }
  }

  /** Drops the stream as a crash or network failure would, without a clean end. */
  public synchronized void disconnect() {
    closeStream("simulated disconnect");
  }
}
