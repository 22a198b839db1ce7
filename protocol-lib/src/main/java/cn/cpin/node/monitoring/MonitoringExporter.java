package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.monitoring.v1.MonitoringUplinkServiceGrpc;
import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.error.ErrorDetails;
import com.google.protobuf.util.Durations;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sends a {@link MonitoringSpool} to the receiver over one long-lived ExportMonitoringData stream
 * (MON-003, MON-007).
 *
 * <p>Batches go out in sequence order, up to {@link Settings#window} unacknowledged at a time; each
 * acknowledgement releases every batch up to its number from the spool. When the stream fails the
 * exporter waits (exponential backoff with jitter on retryable codes, at least the RetryInfo delay,
 * at least a minute after PERMISSION_DENIED or UNAUTHENTICATED) and resends every unacknowledged
 * batch, unchanged, from the first. On INVALID_ARGUMENT it drops the points the BadRequest names
 * from the failed batch and resends it under the same number. Partial success is logged, never
 * retried. A stream that has batches out but no acknowledgement for {@link Settings#ackTimeout} is
 * cancelled and reopened, so a silently cut link does not stall the uplink.
 *
 * <p>Thread-safe: all state changes run on one scheduler thread.
 */
public final class MonitoringExporter implements AutoCloseable {
  // Batches go out as the spool stored them, encoded once (the wire format is the same).
  private static final MethodDescriptor<byte[], ExportMonitoringDataResponse> EXPORT =
      MonitoringUplinkServiceGrpc.getExportMonitoringDataMethod().toBuilder(RawBytes.MARSHALLER,
          ProtoUtils.marshaller(ExportMonitoringDataResponse.getDefaultInstance())).build();
  private static final Pattern POINT_FIELD = Pattern.compile("^data_points\\[(\\d+)]");
  private static final Duration AUTH_RETRY = Duration.ofMinutes(1);

  /** Retry and flow-control settings; {@link #standard()} are the spec's (MON-007). */
  public record Settings(Duration initialBackoff, Duration maxBackoff, Duration authRetry,
      int window, Duration ackTimeout) {
    public static Settings standard() {
      return new Settings(Duration.ofSeconds(1), Duration.ofSeconds(60), AUTH_RETRY, 16,
          Duration.ofSeconds(30));
    }
  }

  private final MonitoringSpool spool;
  private final Channel channel;
  private final EventLog events;
  private final Settings settings;
  private final ScheduledExecutorService scheduler;
  // Batches resent with points removed after INVALID_ARGUMENT, by sequence number (MON-007).
  private final Map<Long, ExportMonitoringDataRequest> corrected = new HashMap<>();
  private final Map<Long, byte[]> correctedEncoded = new HashMap<>();
  private final AtomicLong rejectedPoints = new AtomicLong();
  private final AtomicLong duplicates = new AtomicLong();
  private ClientCallStreamObserver<byte[]> stream;
  private long streamGeneration;
  private long nextToSend;
  private long lastProgressNanos;
  private Duration backoff;
  private boolean retryScheduled;
  private boolean wakeQueued;
  private volatile boolean closed;

  public MonitoringExporter(MonitoringSpool spool, Channel channel, EventLog events,
      Settings settings) {
    this.spool = spool;
    this.channel = channel;
    this.events = events;
    this.settings = settings;
    this.backoff = settings.initialBackoff();
    this.scheduler = Daemons.scheduler("monitoring-exporter");
  }

  /** Opens the stream and keeps it open until {@link #close}. */
  public void start() {
    spool.onAppend(this::wake);
    scheduler.execute(this::connect);
    long checkMillis = Math.max(100, settings.ackTimeout().toMillis() / 4);
    scheduler.scheduleWithFixedDelay(this::checkStalled, checkMillis, checkMillis,
        TimeUnit.MILLISECONDS);
  }

  /** Data points the receiver rejected so far (partial success and INVALID_ARGUMENT). */
  public long rejectedPoints() {
    return rejectedPoints.get();
  }

  /** Batches the receiver acknowledged as duplicates so far. */
  public long duplicates() {
    return duplicates.get();
  }

  /** Sends newly spooled batches soon; cheap, callable from any thread. */
  public void wake() {
    synchronized (this) {
      if (wakeQueued || closed) {
        return;
      }
      wakeQueued = true;
    }
    run(() -> {
      synchronized (this) {
        wakeQueued = false;
      }
      pump();
    });
  }

  // Runs on the exporter's thread; after close there is nothing left to do.
  private void run(Runnable task) {
    try {
      scheduler.execute(task);
    } catch (java.util.concurrent.RejectedExecutionException stopped) {
      // closed
    }
  }

  private void connect() {
    retryScheduled = false;
    if (closed) {
      return;
    }
    long generation = ++streamGeneration;
    nextToSend = spool.acknowledgedSequence() + 1;
    lastProgressNanos = System.nanoTime();
    ClientCalls.asyncBidiStreamingCall(channel.newCall(EXPORT, CallOptions.DEFAULT),
        new ClientResponseObserver<byte[], ExportMonitoringDataResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<byte[]> requestStream) {
            stream = requestStream; // runs on the scheduler thread, inside connect()
            requestStream.setOnReadyHandler(() -> run(() -> {
              if (generation == streamGeneration) {
                pump();
              }
            }));
          }

          @Override
          public void onNext(ExportMonitoringDataResponse ack) {
            run(() -> acknowledged(generation, ack));
          }

          @Override
          public void onError(Throwable t) {
            run(() -> failed(generation, t));
          }

          @Override
          public void onCompleted() {
            run(() -> failed(generation,
                Status.UNAVAILABLE.withDescription("receiver ended the stream").asException()));
          }
        });
  }

  /** Sends spooled batches while the window and the transport allow. */
  private void pump() {
    ClientCallStreamObserver<byte[]> out = stream;
    if (closed || out == null) {
      return;
    }
    while (nextToSend <= spool.lastSequence()
        && nextToSend - spool.acknowledgedSequence() <= settings.window()
        && out.isReady()) {
      long seq = nextToSend;
      byte[] batch = correctedEncoded.get(seq);
      if (batch == null) {
        Optional<byte[]> spooled = spool.encodedBatch(seq);
        if (spooled.isEmpty()) {
          // Acknowledged meanwhile (e.g. FAILED_PRECONDITION told us the receiver has it).
          nextToSend = Math.max(nextToSend + 1, spool.acknowledgedSequence() + 1);
          continue;
        }
        batch = spooled.get();
      }
      if (nextToSend - 1 == spool.acknowledgedSequence()) {
        lastProgressNanos = System.nanoTime();
      }
      out.onNext(batch);
      nextToSend++;
    }
  }

  private void acknowledged(long generation, ExportMonitoringDataResponse ack) {
    if (generation != streamGeneration) {
      return;
    }
    long seq = ack.getAcknowledgedSequenceNumber();
    if (ack.getDuplicate()) {
      duplicates.incrementAndGet();
    }
    if (ack.hasPartialSuccess() && ack.getPartialSuccess().getRejectedDataPoints() > 0) {
      // MON-007: partial success is reported, not retried.
      rejectedPoints.addAndGet(ack.getPartialSuccess().getRejectedDataPoints());
      events.warn("monitoring.uplink.points_rejected", "sequence_number", seq,
          "rejected", ack.getPartialSuccess().getRejectedDataPoints(),
          "error_message", ack.getPartialSuccess().getErrorMessage());
    }
    spool.acknowledge(seq);
    corrected.keySet().removeIf(s -> s <= seq);
    correctedEncoded.keySet().removeIf(s -> s <= seq);
    lastProgressNanos = System.nanoTime();
    backoff = settings.initialBackoff();
    pump();
  }

  private void failed(long generation, Throwable t) {
    if (generation != streamGeneration || closed) {
      return;
    }
    stream = null;
    streamGeneration++;
    Status status = Status.fromThrowable(t);
    Duration wait = nextBackoff();
    long failedSeq = spool.acknowledgedSequence() + 1;
    switch (status.getCode()) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, CANCELLED -> { }
      case RESOURCE_EXHAUSTED -> {
        Optional<Duration> asked = ErrorDetails.retryInfo(t)
            .map(info -> Duration.ofMillis(Durations.toMillis(info.getRetryDelay())));
        if (asked.isPresent() && asked.get().compareTo(wait) > 0) {
          wait = asked.get();
        }
      }
      case INVALID_ARGUMENT -> {
        if (!dropNamedPoints(failedSeq, t)) {
          wait = settings.authRetry();
        }
      }
      case FAILED_PRECONDITION -> {
        Optional<Long> expected = ErrorDetails.errorInfo(t)
            .map(ErrorInfo::getMetadataMap)
            .map(m -> m.get("expected_sequence_number"))
            .map(Long::parseLong);
        if (expected.isPresent() && expected.get() - 1 > spool.acknowledgedSequence()) {
          // The receiver stored more than we knew (our acknowledgements were lost).
          spool.acknowledge(expected.get() - 1);
          wait = Duration.ZERO;
        } else {
          events.error("monitoring.uplink.sequence_refused", "expected",
              expected.map(String::valueOf).orElse("?"), "first_unacknowledged", failedSeq,
              "description", String.valueOf(status.getDescription()));
          wait = settings.authRetry();
        }
      }
      case PERMISSION_DENIED, UNAUTHENTICATED -> {
        events.error("monitoring.uplink.refused", "status", status.getCode(),
            "description", String.valueOf(status.getDescription()),
            "unacknowledged_batches", spool.lastSequence() - spool.acknowledgedSequence());
        wait = wait.compareTo(settings.authRetry()) < 0 ? settings.authRetry() : wait;
      }
      default -> events.error("monitoring.uplink.failed", "status", status.getCode(),
          "description", String.valueOf(status.getDescription()));
    }
    events.warn("monitoring.uplink.retrying", "status", status.getCode(),
        "retry_in_ms", wait.toMillis(),
        "unacknowledged_batches", spool.lastSequence() - spool.acknowledgedSequence());
    scheduleConnect(wait);
  }

  // Removes the points named by the BadRequest from the failed batch; false if none were named.
  private boolean dropNamedPoints(long seq, Throwable t) {
    Set<Integer> bad = new TreeSet<>();
    for (BadRequest.FieldViolation v : ErrorDetails.fieldViolations(t)) {
      Matcher m = POINT_FIELD.matcher(v.getField());
      if (m.find()) {
        bad.add(Integer.parseInt(m.group(1)));
      }
    }
    Optional<ExportMonitoringDataRequest> original = Optional.ofNullable(corrected.get(seq))
        .or(() -> spool.batch(seq));
    if (bad.isEmpty() || original.isEmpty()) {
      events.error("monitoring.uplink.batch_refused", "sequence_number", seq,
          "violations", ErrorDetails.fieldViolations(t).toString());
      return false;
    }
    ExportMonitoringDataRequest.Builder fixed = original.get().toBuilder().clearDataPoints();
    for (int i = 0; i < original.get().getDataPointsCount(); i++) {
      if (bad.contains(i)) {
        events.error("monitoring.uplink.point_dropped", "sequence_number", seq, "index", i,
            "point", original.get().getDataPoints(i).toString().replace('\n', ' '));
      } else {
        fixed.addDataPoints(original.get().getDataPoints(i));
      }
    }
    rejectedPoints.addAndGet(bad.size());
    corrected.put(seq, fixed.build());
    correctedEncoded.put(seq, corrected.get(seq).toByteArray());
    return true;
  }

  private Duration nextBackoff() {
    Duration current = backoff;
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff() : doubled;
    // Full jitter on the upper half, so that senders cut off together do not return together.
    long half = current.toMillis() / 2;
    return Duration.ofMillis(half + ThreadLocalRandom.current().nextLong(half + 1));
  }

  private void scheduleConnect(Duration wait) {
    if (retryScheduled || closed) {
      return;
    }
    retryScheduled = true;
    scheduler.schedule(this::connect, wait.toMillis(), TimeUnit.MILLISECONDS);
  }

  // A stream with batches out and no acknowledgement for a while is presumed cut.
  private void checkStalled() {
    if (stream == null || closed) {
      return;
    }
    boolean waiting = nextToSend - 1 > spool.acknowledgedSequence();
    if (waiting && System.nanoTime() - lastProgressNanos > settings.ackTimeout().toNanos()) {
      ClientCallStreamObserver<byte[]> out = stream;
      events.warn("monitoring.uplink.stalled", "waited_ms", settings.ackTimeout().toMillis());
      out.cancel("no acknowledgement within " + settings.ackTimeout(), null);
    }
  }

  @Override
  public void close() {
    closed = true;
    scheduler.execute(() -> {
      if (stream != null) {
        stream.cancel("node stopping", null);
      }
    });
    scheduler.shutdown();
    try {
      scheduler.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    scheduler.shutdownNow();
  }
}
