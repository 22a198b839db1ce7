package cn.cpin.node.monitoring;

import cn.cpin.protocol.error.ThrottledException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Where a regional node puts its industry nodes' batches (MON-001): into its own spool, points
 * unchanged (their source stays the industry node), with the child stream's highest sequence
 * number in the same atomic write, so that a relayed batch is forwarded exactly once even across
 * a crash between receiving and forwarding. A full spool throttles the child (MON-009), whose own
 * spool then holds the data.
 */
public final class RelayStore implements MonitoringReceiver.BatchStore {
  static final Duration FULL_RETRY = Duration.ofSeconds(30);
  private static final String RELAYED = "relayed/";

  private final MonitoringSpool spool;

  public RelayStore(MonitoringSpool spool) {
    this.spool = spool;
  }

  @Override
  public long highestStored(String senderNodeCode, String streamId) {
    return spool.get(key(senderNodeCode, streamId))
        .map(b -> Long.parseLong(new String(b, StandardCharsets.US_ASCII))).orElse(0L);
  }

  @Override
  public boolean store(String senderNodeCode, String streamId, long highest, long seq,
      EncodedPoints accepted) {
    String key = key(senderNodeCode, streamId);
    Optional<byte[]> expected = highest == 0 ? Optional.empty()
        : Optional.of(Long.toString(highest).getBytes(StandardCharsets.US_ASCII));
    try {
      return spool.append(accepted, -1,
          Map.of(key, Long.toString(seq).getBytes(StandardCharsets.US_ASCII)),
          Map.of(key, expected)) >= 0;
    } catch (MonitoringSpool.SpoolFullException e) {
      throw new ThrottledException("the relay spool is full: " + e.getMessage(), FULL_RETRY);
    }
  }

  // A relayed group becomes one batch of this node's stream, within the protocol's 10,000.
  @Override
  public int maxPointsPerWrite() {
    return 10_000;
  }

  @Override
  public void sync() {
    spool.sync();
  }

  private static String key(String sender, String streamId) {
    return RELAYED + sender + "/" + streamId;
  }
}
