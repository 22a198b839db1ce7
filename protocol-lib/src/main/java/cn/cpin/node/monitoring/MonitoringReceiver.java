package cn.cpin.node.monitoring;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.ExportMonitoringDataResponse;
import cn.cpin.monitoring.v1.ExportPartialSuccess;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The receiving side of the uplink (MON-004 to MON-006, MON-009), shared by the regional and the
 * national node; where accepted points go is the {@link BatchStore}'s business (the regional
 * node's spool for relaying, the national node's archive).
 *
 * <p>A batch is stored exactly once: its points and the stream's new highest sequence number are
 * written in one atomic write that succeeds only if the highest number is still the one read, and
 * the acknowledgement is returned only after that write is durable. Thread-safe if the store is.
 */
public final class MonitoringReceiver {
  /** Data points more than this far in the future are rejected (MON-006). */
  static final Duration MAX_FUTURE = Duration.ofHours(1);
  static final int MAX_ATTRIBUTES = 32;

  /** Durable storage of accepted batches with their streams' highest sequence numbers. */
  public interface BatchStore {
    /** The highest stored sequence number of the stream; 0 if none. */
    long highestStored(String senderNodeCode, String streamId);

    /**
     * Stores {@code accepted} (the points of batches {@code highest + 1} to {@code seq}, possibly
     * none) and makes {@code seq} the stream's highest stored number, atomically and durably, if
     * the highest is still {@code highest}; returns whether it did.
     *
     * @throws cn.cpin.protocol.error.ThrottledException if there is no room now (MON-009)
     */
    boolean store(String senderNodeCode, String streamId, long highest, long seq,
        EncodedPoints accepted);

    /** At most this many points are stored in one write; larger groups are split. */
    default int maxPointsPerWrite() {
      return 100_000;
    }

    /** Returns once everything read so far is durable (before a duplicate is acknowledged). */
    default void sync() {}
  }

  private final NodeCode self;
  private final BatchStore store;
  private final Clock clock;

  public MonitoringReceiver(NodeCode self, BatchStore store, Clock clock) {
    this.self = self;
    this.store = store;
    this.clock = clock;
  }

  /** What became of a group of batches: their acknowledgements, then the failure if any. */
  public record Outcome(List<ExportMonitoringDataResponse> acks, CpinException failure) {}

  /** Stores one batch; see {@link #receive(CpinIdentity, List)}. */
  public ExportMonitoringDataResponse receive(CpinIdentity caller,
      ExportMonitoringDataRequest batch) {
    Outcome outcome = receive(caller, List.of(ReceivedBatch.of(batch)));
    if (outcome.failure() != null) {
      throw outcome.failure();
    }
    return outcome.acks().get(0);
  }

  /**
   * Stores batches as received on the wire, as {@link #receive(CpinIdentity, List)} does; a batch
   * that is not a well-formed encoding fails the stream after the ones before it are stored.
   */
  public Outcome receiveEncoded(CpinIdentity caller, List<byte[]> encoded) {
    List<ReceivedBatch> batches = new ArrayList<>(encoded.size());
    CpinException malformed = null;
    for (byte[] bytes : encoded) {
      try {
        batches.add(ReceivedBatch.parse(bytes));
      } catch (CpinException e) {
        malformed = e;
        break;
      }
    }
    Outcome outcome = receive(caller, batches);
    return outcome.failure() == null && malformed != null
        ? new Outcome(outcome.acks(), malformed) : outcome;
  }

  /**
   * Stores consecutive batches of one stream from {@code caller} (null only in plaintext
   * development mode, where callers are not authenticated): the accepted points of as many as
   * fit go in one durable write (group commit), so a slow disk costs one fsync per group, not per
   * batch. Processing stops at the first batch that fails the stream; the batches before it are
   * stored and acknowledged.
   */
  public Outcome receive(CpinIdentity caller, List<ReceivedBatch> batches) {
    List<ExportMonitoringDataResponse> acks = new ArrayList<>();
    int i = 0;
    try {
      while (i < batches.size()) {
        i = receiveGroup(caller, batches, i, acks);
      }
      return new Outcome(acks, null);
    } catch (CpinException e) {
      return new Outcome(acks, e);
    }
  }

  // Stores the longest run of acceptable batches of one stream from index {@code from}; returns
  // the index after it. Acknowledgements are added only once the run is durable.
  private int receiveGroup(CpinIdentity caller, List<ReceivedBatch> batches,
      int from, List<ExportMonitoringDataResponse> acks) {
    ReceivedBatch first = batches.get(from);
    check(caller, first);
    String sender = first.senderNodeCode();
    String stream = first.streamId();
    for (int attempt = 0; ; attempt++) {
      long highest = store.highestStored(sender, stream);
      long effective = highest;
      EncodedPoints.Builder accepted = new EncodedPoints.Builder();
      List<ExportMonitoringDataResponse> pending = new ArrayList<>();
      boolean duplicates = false;
      CpinException stop = null;
      int next = from;
      long latest = clock.millis() + MAX_FUTURE.toMillis();
      while (next < batches.size()) {
        ReceivedBatch batch = batches.get(next);
        if (!batch.senderNodeCode().equals(sender) || !batch.streamId().equals(stream)) {
          break;
        }
        if (next > from) {
          try {
            check(caller, batch);
          } catch (CpinException e) {
            stop = e;
            break;
          }
        }
        long seq = batch.sequenceNumber();
        if (seq <= effective) {
          duplicates = true;
          pending.add(ExportMonitoringDataResponse.newBuilder().setStreamId(stream)
              .setAcknowledgedSequenceNumber(seq).setDuplicate(true).build());
          next++;
          continue;
        }
        if (seq > effective + 1) {
          stop = new CpinException(CpinException.Kind.FAILED_PRECONDITION,
              ErrorReason.ERROR_REASON_FAILED_PRECONDITION, "sequence_number " + seq
              + " skips ahead; the next expected is " + (effective + 1),
              Map.of("expected_sequence_number", Long.toString(effective + 1)));
          break;
        }
        if (effective > highest
            && accepted.count() + batch.pointCount() > store.maxPointsPerWrite()) {
          break; // the rest goes in the next write
        }
        int rejected = 0;
        String firstRejection = "";
        for (int i = 0; i < batch.pointCount(); i++) {
          String problem = batch.point(i).problem(latest);
          if (problem == null) {
            batch.copyPoint(i, accepted);
          } else {
            if (rejected == 0) {
              firstRejection = "data_points[" + i + "]: " + problem;
            }
            rejected++;
          }
        }
        ExportMonitoringDataResponse.Builder ack = ExportMonitoringDataResponse.newBuilder()
            .setStreamId(stream).setAcknowledgedSequenceNumber(seq);
        if (rejected > 0) {
          ack.setPartialSuccess(ExportPartialSuccess.newBuilder()
              .setRejectedDataPoints(rejected)
              .setErrorMessage(rejected + " data point(s) rejected; first: " + firstRejection));
        }
        pending.add(ack.build());
        effective = seq;
        next++;
      }
      boolean stored = effective == highest
          || store.store(sender, stream, highest, effective, accepted.build());
      if (stored) {
        if (duplicates) {
          store.sync(); // acknowledge only what is durable, not merely visible
        }
        acks.addAll(pending);
        if (stop != null) {
          throw stop;
        }
        return next;
      }
      if (attempt >= 3) {
        // Another connection keeps writing this stream: let the sender retry later.
        throw new CpinException(CpinException.Kind.UNAVAILABLE,
            ErrorReason.ERROR_REASON_FAILED_PRECONDITION,
            "stream " + stream + " is being written by another connection", Map.of());
      }
    }
  }

  // The checks that fail the stream (MON-005): field rules first, as at every other RPC.
  private void check(CpinIdentity caller, ReceivedBatch batch) {
    batch.checkFieldRules();
    NodeCode sender = NodeCode.parse(batch.senderNodeCode());
    checkSender(caller, sender);
    List<FieldViolation> violations = new ArrayList<>();
    if (batch.streamId().isEmpty()) {
      violations.add(new FieldViolation("stream_id", "must name the sender's stream",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    }
    if (batch.sequenceNumber() == 0) {
      violations.add(new FieldViolation("sequence_number", "batches are numbered from 1",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    String lastAllowed = null;
    for (int i = 0; i < batch.pointCount(); i++) {
      String code = batch.point(i).sourceNodeCode();
      if (code.equals(lastAllowed)) {
        continue; // points of a batch mostly share their source
      }
      NodeCode source = NodeCode.parse(code);
      if (!source.equals(sender) && !source.parent().map(sender::equals).orElse(false)) {
        throw new CpinException(CpinException.Kind.PERMISSION_DENIED,
            ErrorReason.ERROR_REASON_NOT_OWNER, "data_points[" + i + "].source_node_code "
            + source + " is neither the sender " + sender + " nor one of its children",
            Map.of("field", "data_points[" + i + "].source_node_code"));
      }
      lastAllowed = code;
    }
  }

  // MON-005: only a child node, for itself, may send (the interceptor already checked the role).
  private void checkSender(CpinIdentity caller, NodeCode sender) {
    if (caller == null) {
      return;
    }
    if (caller.kind() != CpinIdentity.Kind.NODE
        || !caller.nodeCode().parent().map(self::equals).orElse(false)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
          caller.uri() + " is not a child node of " + self);
    }
    if (!caller.nodeCode().equals(sender)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "sender_node_code " + sender + " is not the caller " + caller.nodeCode());
    }
  }
}
