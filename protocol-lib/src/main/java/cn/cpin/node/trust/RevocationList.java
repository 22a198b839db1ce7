package cn.cpin.node.trust;

import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.trust.v1.RevocationEntry;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The revoked certificates this node knows of, from the national revocation feed (SEC-011), kept
 * in the node's store so that a restart does not forget them.
 *
 * <p>Certificates are keyed by serial number: CPIN serials are random 127-bit numbers, so two
 * certificates under the CPIN root do not share one. Thread-safe.
 */
public final class RevocationList {
  private static final String PREFIX = "trust/revoked/";
  private static final String LAST_SEQUENCE = "trust/revocation-sequence";

  private final KeyValueStore store;
  private final Set<String> revoked = ConcurrentHashMap.newKeySet();
  private volatile long lastSequence;

  public RevocationList(KeyValueStore store) {
    this.store = store;
    for (String key : store.scan(PREFIX).keySet()) {
      revoked.add(key.substring(PREFIX.length()));
    }
    lastSequence = store.get(LAST_SEQUENCE)
        .map(b -> Long.parseLong(new String(b, StandardCharsets.US_ASCII))).orElse(0L);
  }

  public boolean isRevoked(X509Certificate certificate) {
    return revoked.contains(key(certificate.getSerialNumber()));
  }

  /** The sequence number of the last feed entry applied; 0 before the first. */
  public long lastSequence() {
    return lastSequence;
  }

  /** Applies feed entries (in order) and records how far the feed has been read, durably. */
  public synchronized void apply(List<RevocationEntry> entries, long latestSequence) {
    Map<String, byte[]> puts = new HashMap<>();
    for (RevocationEntry entry : entries) {
      puts.put(PREFIX + key(new BigInteger(1, entry.getSerialNumber().toByteArray())),
          entry.toByteArray());
    }
    long sequence = Math.max(lastSequence, latestSequence);
    puts.put(LAST_SEQUENCE, Long.toString(sequence).getBytes(StandardCharsets.US_ASCII));
    store.write(puts, List.of(), List.of());
    for (String key : puts.keySet()) {
      if (key.startsWith(PREFIX)) {
        revoked.add(key.substring(PREFIX.length()));
      }
    }
    lastSequence = sequence;
  }

  static String key(BigInteger serial) {
    return serial.toString(16);
  }
}
