package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;

/**
 * The rules one publication stream follows, shared by provider publication and node reports:
 * sequence numbers 1, 2, 3 … (AGG-001, AGG-009), snapshot chunks assembled until the last one
 * (AGG-002), and the version checks that make replays harmless (AGG-003, AGG-004).
 *
 * <p>Not thread-safe: gRPC delivers one stream's messages one at a time.
 */
final class FeedStream {
  /** What to do with a snapshot chunk or delta. */
  enum Decision {
    /** Apply now: a delta, or the last chunk of a snapshot. */
    APPLY,
    /** Keep the chunk; the snapshot is not complete yet. */
    KEEP,
    /** Already applied; acknowledge without effect. */
    DUPLICATE,
    /** Out of order; the publisher must send a snapshot. */
    RESYNC;

    AckStatus ack() {
      return switch (this) {
        case APPLY, KEEP -> AckStatus.ACK_STATUS_ACCEPTED;
        case DUPLICATE -> AckStatus.ACK_STATUS_DUPLICATE;
        case RESYNC -> AckStatus.ACK_STATUS_RESYNC_REQUIRED;
      };
    }
  }

  private long nextSequence = 1;
  private long snapshotVersion = -1;
  private int nextChunk;
  private final List<Resource> snapshot = new ArrayList<>();

  /** Fails the stream unless {@code sequence} is the next one. */
  void sequence(long sequence) {
    if (sequence != nextSequence) {
      throw InvalidArgumentException.of("sequence_number", "expected " + nextSequence + ", got "
          + Long.toUnsignedString(sequence) + " (1 on a new stream, then +1 per message)",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    nextSequence++;
  }

  Decision snapshotChunk(long acknowledged, long version, int chunkIndex, boolean last) {
    if (snapshotVersion >= 0) {
      if (version != snapshotVersion || chunkIndex != nextChunk) {
        discard();
        return Decision.RESYNC;
      }
    } else {
      if (Long.compareUnsigned(version, acknowledged) <= 0) {
        return Decision.DUPLICATE;
      }
      if (chunkIndex != 0) {
        return Decision.RESYNC;
      }
      snapshotVersion = version;
      nextChunk = 0;
    }
    nextChunk++;
    return last ? Decision.APPLY : Decision.KEEP;
  }

  Decision delta(long acknowledged, long baseVersion, long version) {
    if (snapshotVersion >= 0) {
      discard();
      return Decision.RESYNC;
    }
    if (Long.compareUnsigned(version, acknowledged) <= 0) {
      return Decision.DUPLICATE;
    }
    if (baseVersion != acknowledged) {
      return Decision.RESYNC;
    }
    return Decision.APPLY;
  }

  /** The accepted resources of the snapshot being assembled. */
  List<Resource> snapshot() {
    return snapshot;
  }

  /** Whether {@code resourceId} is already in the snapshot being assembled. */
  boolean inSnapshot(String resourceId) {
    for (Resource r : snapshot) {
      if (r.getResourceId().equals(resourceId)) {
        return true;
      }
    }
    return false;
  }

  void discard() {
    snapshotVersion = -1;
    nextChunk = 0;
    snapshot.clear();
  }
}
