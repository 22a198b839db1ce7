package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.AggregateDelta;
import cn.cpin.aggregation.v1.AggregateHeartbeat;
import cn.cpin.aggregation.v1.AggregateSnapshot;
import cn.cpin.aggregation.v1.NodeAggregationServiceGrpc;
import cn.cpin.aggregation.v1.ReportAggregateRequest;
import cn.cpin.aggregation.v1.ReportAggregateResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.node.EventLog;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An industry node's report of its aggregate to its regional node (AGG-009): one
 * {@code ReportAggregate} stream, a snapshot when the regional node's acknowledged version is not
 * the one this node last saw acknowledged, then deltas of what changed, and heartbeats.
 *
 * <p>Changes are collected as resource ids; a delta carries each changed resource as the
 * inventory shows it then (OFFLINE included), so a burst of changes to one resource costs one
 * upsert. One message is in flight at a time. Runs on one daemon thread; thread-safe.
 */
public final class AggregateUplink implements AutoCloseable {
  static final int CHUNK = 1000;
  private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  private final Inventory inventory;
  private final Channel channel;
  private final EventLog events;
  private final String self;
  private final ExecutorService thread;
  private final Object lock = new Object();
  /** Resources changed since the last acknowledged version. Guarded by lock. */
  private final Set<String> dirty = new LinkedHashSet<>();
  /** The regional node's acknowledged version as this node last saw it; 0 before any. */
  private volatile long acknowledged;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<ReportAggregateRequest> call;

  public AggregateUplink(Inventory inventory, Channel channel, EventLog events) {
    this.inventory = inventory;
    this.channel = channel;
    this.events = events;
    this.self = inventory.nodeCode().toString();
    this.thread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "aggregate-uplink");
      t.setDaemon(true);
      return t;
    });
    inventory.onChange(this::changed);
  }

  public void start() {
    thread.execute(this::run);
  }

  /** The highest version the regional node acknowledged to this node. */
  public long acknowledgedVersion() {
    return acknowledged;
  }

  private void changed(Collection<String> ids) {
    synchronized (lock) {
      dirty.addAll(ids);
      lock.notifyAll();
    }
  }

  private void run() {
    long backoff = 250;
    while (!closed) {
      try {
        report();
        backoff = 250;
      } catch (RuntimeException e) {
        // ReportFailed, or a stream cancelled under us; either way start a new stream.
        if (closed) {
          return;
        }
        events.warn("aggregation.uplink_failed", "error", String.valueOf(e.getMessage()));
        sleep(backoff);
        backoff = Math.min(backoff * 2, MAX_BACKOFF.toMillis());
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** One stream: learn the acknowledged version, resynchronise if needed, then follow changes. */
  private void report() throws InterruptedException {
    Stream stream = new Stream();
    try {
      ReportAggregateResponse hello = stream.send(b -> b.setHeartbeat(
          AggregateHeartbeat.newBuilder().setVersion(acknowledged)));
      long theirs = hello.getAcknowledgedVersion();
      long interval = Math.max(50, Durations.toMillis(hello.getHeartbeatInterval()));
      boolean resync = theirs != acknowledged || theirs == 0;
      events.info("aggregation.uplink_connected", "acknowledged_version", theirs,
          "resume", !resync);
      acknowledged = theirs;
      while (!closed) {
        if (resync) {
          snapshot(stream);
          resync = false;
          continue;
        }
        List<String> batch = takeBatch(interval);
        if (batch == null) {
          stream.send(b -> b.setHeartbeat(AggregateHeartbeat.newBuilder().setVersion(acknowledged)));
          continue;
        }
        resync = !delta(stream, batch);
      }
    } finally {
      stream.close();
    }
  }

  // Sends everything; changes made while reading go out as the next delta.
  private void snapshot(Stream stream) throws InterruptedException {
    synchronized (lock) {
      dirty.clear();
    }
    long version = acknowledged + 1;
    String after = "";
    int chunk = 0;
    List<Resource> page = inventory.list(Inventory.Filter.ALL, after, CHUNK);
    while (true) {
      List<Resource> next = page.size() < CHUNK ? List.of()
          : inventory.list(Inventory.Filter.ALL, page.get(page.size() - 1).getResourceId(), CHUNK);
      boolean last = next.isEmpty();
      AggregateSnapshot.Builder snapshot = AggregateSnapshot.newBuilder().setVersion(version)
          .setChunkIndex(chunk++).setLastChunk(last).addAllResources(page);
      ReportAggregateResponse ack = stream.send(b -> b.setSnapshot(snapshot));
      logRejections(ack);
      if (ack.getStatus() != AckStatus.ACK_STATUS_ACCEPTED) {
        throw new ReportFailed("snapshot chunk answered " + ack.getStatus());
      }
      if (last) {
        acknowledged = ack.getAcknowledgedVersion();
        events.info("aggregation.snapshot_reported", "version", version,
            "chunks", chunk, "acknowledged_version", acknowledged);
        return;
      }
      page = next;
    }
  }

  /** Sends one delta; false if the regional node asks for a snapshot. */
  private boolean delta(Stream stream, List<String> ids) throws InterruptedException {
    List<Resource> upserts = new ArrayList<>(ids.size());
    for (String id : ids) {
      inventory.get(id).ifPresent(upserts::add);
    }
    long base = acknowledged;
    ReportAggregateResponse ack;
    try {
      ack = stream.send(b -> b.setDelta(AggregateDelta.newBuilder().setBaseVersion(base)
          .setVersion(base + 1).addAllUpserts(upserts)));
    } catch (RuntimeException e) {
      changed(ids); // not acknowledged: they go with the next delta or snapshot
      throw e;
    }
    logRejections(ack);
    if (ack.getStatus() == AckStatus.ACK_STATUS_ACCEPTED) {
      acknowledged = ack.getAcknowledgedVersion();
      return true;
    }
    changed(ids);
    events.warn("aggregation.resync", "status", ack.getStatus(), "acknowledged_version",
        ack.getAcknowledgedVersion());
    acknowledged = ack.getAcknowledgedVersion();
    return false;
  }

  /** Up to one chunk of changed ids, waiting up to {@code intervalMillis}; null if none came. */
  private List<String> takeBatch(long intervalMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(intervalMillis);
    synchronized (lock) {
      while (dirty.isEmpty() && !closed) {
        long wait = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (wait <= 0) {
          return null;
        }
        lock.wait(wait);
      }
      List<String> batch = new ArrayList<>(Math.min(dirty.size(), CHUNK));
      Iterator<String> it = dirty.iterator();
      while (it.hasNext() && batch.size() < CHUNK) {
        batch.add(it.next());
        it.remove();
      }
      return batch.isEmpty() ? null : batch;
    }
  }

  private void logRejections(ReportAggregateResponse ack) {
    if (ack.getRejectionsCount() > 0) {
      events.warn("aggregation.report_rejections", "count", ack.getRejectionsCount(),
          "first", ack.getRejections(0).getResourceId() + " "
              + ack.getRejections(0).getReason() + " " + ack.getRejections(0).getMessage());
    }
  }

  private void sleep(long millis) {
    synchronized (lock) {
      try {
        if (!closed) {
          lock.wait(millis);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (lock) {
      lock.notifyAll();
    }
    ClientCallStreamObserver<ReportAggregateRequest> current = call;
    if (current != null) {
      current.cancel("node stopping", null);
    }
    thread.shutdownNow();
    try {
      thread.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static final class ReportFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ReportFailed(String message) {
      super(message, null, false, false);
    }
  }

  /** One ReportAggregate call with stop-and-wait acknowledgements. */
  private final class Stream {
    private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private final ClientCallStreamObserver<ReportAggregateRequest> requests;
    private long sequence;

    @SuppressWarnings("unchecked")
    Stream() {
      Object[] holder = new Object[1];
      NodeAggregationServiceGrpc.newStub(channel).reportAggregate(
          new ClientResponseObserver<ReportAggregateRequest, ReportAggregateResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<ReportAggregateRequest> stream) {
              holder[0] = stream;
            }

            @Override
            public void onNext(ReportAggregateResponse value) {
              answers.add(value);
            }

            @Override
            public void onError(Throwable t) {
              answers.add(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
              answers.add(Status.UNAVAILABLE.withDescription("stream completed by the receiver"));
            }
          });
      requests = (ClientCallStreamObserver<ReportAggregateRequest>) holder[0];
      call = requests;
    }

    ReportAggregateResponse send(java.util.function.Consumer<ReportAggregateRequest.Builder> body)
        throws InterruptedException {
      ReportAggregateRequest.Builder request = ReportAggregateRequest.newBuilder()
          .setSourceNodeCode(self).setSequenceNumber(++sequence)
          .setSentAt(Timestamps.fromMillis(System.currentTimeMillis()));
      body.accept(request);
      requests.onNext(request.build());
      Object answer = answers.poll(ACK_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      if (answer == null) {
        throw new ReportFailed("no acknowledgement within " + ACK_TIMEOUT);
      }
      if (answer instanceof Status status) {
        throw new ReportFailed(status.getCode() + ": " + status.getDescription());
      }
      return (ReportAggregateResponse) answer;
    }

    void close() {
      requests.cancel("stream replaced", null);
    }
  }
}
