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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * An industry node's report of its aggregate to its regional node (AGG-009): one
 * {@code ReportAggregate} stream, a snapshot when the regional node's acknowledged version is not
 * one this node can continue from, then deltas of what changed, and heartbeats.
 *
 * <p>Changes are collected as resource ids; a delta carries each changed resource as the
 * inventory shows it then (OFFLINE included), so a burst of changes to one resource costs one
 * upsert. Up to {@link #WINDOW} deltas are in flight, each based on the version of the one before
 * it; the regional node applies them in order and its acknowledged version is cumulative. The ids
 * of deltas not yet acknowledged go back into the next delta when the stream fails or the regional
 * node asks for a snapshot, so a reconnect resumes from whatever version it acknowledged last.
 * Runs on one daemon thread; thread-safe.
 */
public final class AggregateUplink implements AutoCloseable {
  static final int CHUNK = 1000;
  /**
   * Deltas in flight at once. The regional node handles a stream's messages one after another,
   * each after the fsync of the one before, so two keep it busy (one being made durable, the next
   * ready to apply); more would only queue there (benchmark (g): 8 gave a p50 of ~200 ms via the
   * industry node, about eight fsyncs), while changes that wait here ride in one delta.
   */
  static final int WINDOW = 2;
  private static final Duration ACK_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(10);

  private final Inventory inventory;
  private final Channel channel;
  private final EventLog events;
  private final String self;
  private final ExecutorService thread;
  private final Object lock = new Object();
  /** Resources changed since they were last sent. Guarded by lock. */
  private final Set<String> dirty = new LinkedHashSet<>();
  /** The regional node's acknowledged version as this node last saw it; 0 before any. */
  private volatile long acknowledged;
  /** The highest version sent on any stream; a reconnect may resume up to it. */
  private volatile long sent;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<ReportAggregateRequest> call;

  /** A message awaiting its ack: the delta's resource ids (empty for other messages). */
  private record InFlight(long sentNanos, List<String> ids) {}

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
  /** The highest version a delta has been sent with (for tests). */
  long sentVersion() {
    return sent;
  }

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
      // Only close() may stop this thread; an interrupt left by a failed call (a closing store
      // under a same-thread server in tests) must not break the next stream's writes.
      Thread.interrupted();
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
        if (closed) {
          return;
        }
      }
    }
  }

  /** One stream: learn the acknowledged version, resynchronise if needed, then follow changes. */
  private void report() throws InterruptedException {
    Stream stream = new Stream();
    Deque<InFlight> inFlight = new ArrayDeque<>();
    try {
      ReportAggregateResponse hello = stream.call(b -> b.setHeartbeat(
          AggregateHeartbeat.newBuilder().setVersion(acknowledged)));
      long theirs = hello.getAcknowledgedVersion();
      long interval = Math.max(50, Durations.toMillis(hello.getHeartbeatInterval()));
      // Deltas up to `sent` carried ids that are dirty again, so any of them may be the base.
      boolean resync = theirs == 0 || theirs < acknowledged || theirs > sent;
      events.info("aggregation.uplink_connected", "acknowledged_version", theirs,
          "resume", !resync);
      acknowledged = theirs;
      long next = theirs;
      long lastSentNanos = System.nanoTime();
      while (!closed) {
        if (resync && inFlight.isEmpty()) {
          snapshot(stream);
          next = sent = acknowledged;
          resync = false;
          continue;
        }
        boolean progressed = false;
        ReportAggregateResponse ack;
        while ((ack = stream.poll()) != null) {
          progressed = true;
          InFlight done = inFlight.poll();
          logRejections(ack);
          if (ack.getStatus() == AckStatus.ACK_STATUS_ACCEPTED) {
            acknowledged = Math.max(acknowledged, ack.getAcknowledgedVersion());
          } else {
            if (!resync) {
              events.warn("aggregation.resync", "status", ack.getStatus(),
                  "acknowledged_version", ack.getAcknowledgedVersion());
            }
            resync = true;
            acknowledged = ack.getAcknowledgedVersion();
          }
          if (resync && done != null) {
            changed(done.ids());
          }
        }
        if (resync) {
          if (!progressed) {
            stream.await(inFlight.peek());
          }
          continue;
        }
        if (inFlight.size() < WINDOW) {
          List<String> batch = takeBatch();
          if (batch != null) {
            long base = next++;
            sent = Math.max(sent, next);
            List<Resource> upserts = new ArrayList<>(batch.size());
            for (String id : batch) {
              inventory.get(id).ifPresent(upserts::add);
            }
            inFlight.add(new InFlight(System.nanoTime(), batch));
            stream.send(b -> b.setDelta(AggregateDelta.newBuilder().setBaseVersion(base)
                .setVersion(base + 1).addAllUpserts(upserts)));
            lastSentNanos = System.nanoTime();
            continue;
          }
        }
        if (progressed) {
          continue;
        }
        long idle = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastSentNanos);
        if (idle >= interval && inFlight.isEmpty()) {
          inFlight.add(new InFlight(System.nanoTime(), List.of()));
          long version = acknowledged;
          stream.send(b -> b.setHeartbeat(AggregateHeartbeat.newBuilder().setVersion(version)));
          lastSentNanos = System.nanoTime();
          continue;
        }
        stream.await(inFlight.peek(), inFlight.size() < WINDOW,
            inFlight.isEmpty() ? interval - idle : ACK_TIMEOUT.toMillis());
      }
    } finally {
      stream.close();
      // Not acknowledged: they go with the next delta or snapshot.
      for (InFlight f : inFlight) {
        changed(f.ids());
      }
    }
  }

  // Sends everything, one chunk at a time; changes made while reading go out as the next delta.
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
      ReportAggregateResponse ack = stream.call(b -> b.setSnapshot(snapshot));
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

  /** Up to one chunk of changed ids, or null if there are none now. */
  private List<String> takeBatch() {
    synchronized (lock) {
      if (dirty.isEmpty()) {
        return null;
      }
      List<String> batch = new ArrayList<>(Math.min(dirty.size(), CHUNK));
      Iterator<String> it = dirty.iterator();
      while (it.hasNext() && batch.size() < CHUNK) {
        batch.add(it.next());
        it.remove();
      }
      return batch;
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
        // close() interrupts; run() checks closed.
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
    // No interrupt first: the thread may be inside a same-thread server's fsync (in-process
    // tests), which an interrupt would turn into a closed store; every wait here is notified.
    thread.shutdown();
    try {
      if (!thread.awaitTermination(5, TimeUnit.SECONDS)) {
        thread.shutdownNow();
      }
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

  /** One ReportAggregate call; acks arrive in the order of the messages. */
  private final class Stream {
    private final Queue<Object> answers = new ConcurrentLinkedQueue<>();
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
              answer(value);
            }

            @Override
            public void onError(Throwable t) {
              answer(Status.fromThrowable(t));
            }

            @Override
            public void onCompleted() {
              answer(Status.UNAVAILABLE.withDescription("stream completed by the receiver"));
            }
          });
      requests = (ClientCallStreamObserver<ReportAggregateRequest>) holder[0];
      call = requests;
    }

    private void answer(Object answer) {
      answers.add(answer);
      synchronized (lock) {
        lock.notifyAll();
      }
    }

    void send(java.util.function.Consumer<ReportAggregateRequest.Builder> body) {
      ReportAggregateRequest.Builder request = ReportAggregateRequest.newBuilder()
          .setSourceNodeCode(self).setSequenceNumber(++sequence)
          .setSentAt(Timestamps.fromMillis(System.currentTimeMillis()));
      body.accept(request);
      requests.onNext(request.build());
    }

    /** The next ack if one arrived; throws if the stream failed. */
    ReportAggregateResponse poll() {
      Object answer = answers.poll();
      if (answer instanceof Status status) {
        throw new ReportFailed(status.getCode() + ": " + status.getDescription());
      }
      return (ReportAggregateResponse) answer;
    }

    /** Sends one message and waits for its ack (nothing else may be in flight). */
    ReportAggregateResponse call(java.util.function.Consumer<ReportAggregateRequest.Builder> body)
        throws InterruptedException {
      InFlight mine = new InFlight(System.nanoTime(), List.of());
      send(body);
      ReportAggregateResponse ack;
      while ((ack = poll()) == null) {
        await(mine);
      }
      return ack;
    }

    void await(InFlight oldest) throws InterruptedException {
      await(oldest, false, ACK_TIMEOUT.toMillis());
    }

    /**
     * Waits until an ack arrives, a change is waiting while {@code canSend}, or
     * {@code maxMillis} pass; fails if {@code oldest} waited longer than the ack timeout.
     */
    void await(InFlight oldest, boolean canSend, long maxMillis) throws InterruptedException {
      long wait = Math.max(1, maxMillis);
      if (oldest != null) {
        long overdue = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - oldest.sentNanos())
            - ACK_TIMEOUT.toMillis();
        if (overdue >= 0) {
          throw new ReportFailed("no acknowledgement within " + ACK_TIMEOUT);
        }
        wait = Math.min(wait, -overdue);
      }
      synchronized (lock) {
        if (answers.isEmpty() && !(canSend && !dirty.isEmpty()) && !closed) {
          lock.wait(wait);
        }
      }
    }

    void close() {
      requests.cancel("stream replaced", null);
    }
  }
}
