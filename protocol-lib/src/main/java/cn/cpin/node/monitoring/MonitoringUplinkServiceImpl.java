package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.monitoring.v1.MonitoringUplinkServiceGrpc;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.error.ThrottledException;
import cn.cpin.protocol.pki.CpinIdentity;
import io.grpc.BindableService;
import io.grpc.MethodDescriptor;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * gRPC adapter of {@link MonitoringReceiver}: one acknowledgement per batch, in order; the first
 * refused batch fails the stream with the status {@link StatusMapping} gives its error.
 *
 * <p>Batches that arrive while the previous ones are being stored wait in a small per-stream queue
 * and are then stored together in one durable write (group commit), so the stream is not limited
 * to one fsync per batch. A sender keeps at most a window of batches unacknowledged; a stream that
 * queues more than {@value #MAX_QUEUED} is throttled (MON-009).
 */
public final class MonitoringUplinkServiceImpl implements BindableService {
  // Batches arrive as bytes: the receiver reads only what it checks and keeps the points' bytes
  // (ReceivedBatch), instead of protobuf decoding every point and its attribute map (MON-012).
  private static final MethodDescriptor<byte[], ExportMonitoringDataResponse> EXPORT =
      MonitoringUplinkServiceGrpc.getExportMonitoringDataMethod().toBuilder(
          RawBytes.MARSHALLER,
          ProtoUtils.marshaller(ExportMonitoringDataResponse.getDefaultInstance())).build();
  static final int MAX_QUEUED = 64;
  private static final Duration QUEUE_FULL_RETRY = Duration.ofSeconds(1);
  private static final ExecutorService STORING = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "monitoring-receiver");
    t.setDaemon(true);
    return t;
  });

  private final MonitoringReceiver receiver;

  public MonitoringUplinkServiceImpl(MonitoringReceiver receiver) {
    this.receiver = receiver;
  }

  @Override
  public ServerServiceDefinition bindService() {
    ServiceDescriptor standard = MonitoringUplinkServiceGrpc.getServiceDescriptor();
    return ServerServiceDefinition.builder(ServiceDescriptor.newBuilder(standard.getName())
            .setSchemaDescriptor(standard.getSchemaDescriptor()).addMethod(EXPORT).build())
        .addMethod(EXPORT, ServerCalls.asyncBidiStreamingCall(
            acks -> new Stream(AccessControlInterceptor.CALLER.get(), acks)))
        .build();
  }

  /** One ExportMonitoringData call; at most one thread stores and answers at a time. */
  private final class Stream implements StreamObserver<byte[]> {
    private final CpinIdentity caller;
    private final StreamObserver<ExportMonitoringDataResponse> acks;
    private final Object lock = new Object();
    // Guarded by lock.
    private List<byte[]> queued = new ArrayList<>();
    private boolean storing;
    private boolean halfClosed;
    private boolean done;

    Stream(CpinIdentity caller, StreamObserver<ExportMonitoringDataResponse> acks) {
      this.caller = caller;
      this.acks = acks;
      if (acks instanceof ServerCallStreamObserver<ExportMonitoringDataResponse> server) {
        // A cancelled call ignores late acknowledgements instead of throwing at the storer.
        server.setOnCancelHandler(() -> onError(io.grpc.Status.CANCELLED.asException()));
      }
    }

    @Override
    public void onNext(byte[] batch) {
      synchronized (lock) {
        if (done) {
          return;
        }
        if (queued.size() >= MAX_QUEUED) {
          done = true;
          if (!storing) {
            acks.onError(StatusMapping.toStatusRuntimeException(new ThrottledException(
                "more than " + MAX_QUEUED + " batches waiting to be stored", QUEUE_FULL_RETRY)));
          }
          queued.clear();
          return;
        }
        queued.add(batch);
        if (storing) {
          return;
        }
        storing = true;
      }
      STORING.execute(this::storeQueued);
    }

    private void storeQueued() {
      while (true) {
        List<byte[]> batches;
        synchronized (lock) {
          if (queued.isEmpty() || done) {
            storing = false;
            if (done && !halfClosed) {
              // Throttled while storing: fail now that no other thread answers.
              acks.onError(StatusMapping.toStatusRuntimeException(new ThrottledException(
                  "more than " + MAX_QUEUED + " batches waiting to be stored",
                  QUEUE_FULL_RETRY)));
            } else if (halfClosed && !done) {
              done = true;
              acks.onCompleted();
            }
            return;
          }
          batches = queued;
          queued = new ArrayList<>();
        }
        MonitoringReceiver.Outcome outcome;
        try {
          outcome = receiver.receiveEncoded(caller, batches);
        } catch (RuntimeException e) {
          // A bug: INTERNAL without detail (StatusMapping), never a hang.
          fail(e);
          return;
        }
        for (ExportMonitoringDataResponse ack : outcome.acks()) {
          acks.onNext(ack);
        }
        if (outcome.failure() != null) {
          fail(outcome.failure());
          return;
        }
      }
    }

    private void fail(RuntimeException e) {
      synchronized (lock) {
        done = true;
        halfClosed = true; // nothing more is answered
        storing = false;
        queued.clear();
      }
      acks.onError(StatusMapping.toStatusRuntimeException(e));
    }

    @Override
    public void onError(Throwable t) {
      synchronized (lock) {
        done = true; // the sender went away; it resends what was not acknowledged
        halfClosed = true;
        queued.clear();
      }
    }

    @Override
    public void onCompleted() {
      synchronized (lock) {
        if (done) {
          return;
        }
        halfClosed = true;
        if (!storing) {
          done = true;
          acks.onCompleted();
        }
      }
    }
  }
}
