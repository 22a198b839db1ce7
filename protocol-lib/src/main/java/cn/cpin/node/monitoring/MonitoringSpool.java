package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A sender's durable spool of monitoring batches (MON-003, MON-011), kept in its own embedded store
 * (see docs/spec/system-e-monitoring.md §4.1 for why a store and not a segment log).
 *
 * <p>The spool has one {@code stream_id}, chosen at its creation, and numbers its batches 1, 2, 3, …
 * for ever. {@link #append} returns once the batch is on disk (one atomic write, fsynced, group
 * commit), so a batch the spool accepted survives kill -9; {@link #acknowledge} deletes what the
 * receiver has stored. Each write also records a producer's cursor, so a deterministic producer can
 * resume exactly after a crash, and may carry further keys written atomically with the batch (a
 * regional node records the child stream's sequence number it relayed, MON-004).
 *
 * <p>The disk bound counts the serialized bytes of unacknowledged batches. At 80 % the node logs
 * {@code monitoring.spool.near_full} (WARN); an append that would exceed the bound is refused with
 * {@link SpoolFullException} and nothing is written. Thread-safe: appends are serialized, and so
 * are acknowledgements, but an acknowledgement's write does not hold up appends; reads of batches
 * are lock-free.
 */
public final class MonitoringSpool implements AutoCloseable {
  /** Above this share of the bound the node raises the near-full alarm. */
  static final double ALARM_AT = 0.8;
  /** Below this share the alarm is cleared. */
  static final double CLEAR_AT = 0.7;

  private static final String STREAM_ID = "meta/stream_id";
  private static final String LAST = "meta/last_sequence";
  private static final String CURSOR = "meta/cursor";
  private static final String ACKNOWLEDGED = "meta/acknowledged";
  private static final String BATCH = "batch/";
  // Batches kept decoded in memory for the exporter, so that it rarely reads the store.
  private static final long CACHE_BYTES = 64L << 20;

  private final KeyValueStore store;
  private final String senderNodeCode;
  private final String streamId;
  private final long maxBytes;
  private final EventLog events;
  private final Clock clock;
  private final ConcurrentSkipListMap<Long, Integer> sizes = new ConcurrentSkipListMap<>();
  // Encoded, as the exporter sends them: no second serialization per batch.
  private final ConcurrentSkipListMap<Long, byte[]> cache = new ConcurrentSkipListMap<>();
  private final List<Runnable> appendListeners = new CopyOnWriteArrayList<>();
  // Serializes acknowledgements with each other, not with appends.
  private final Object acknowledging = new Object();
  private volatile long last;
  private volatile long acknowledged;
  private volatile long cursor;
  private long bytes;
  private long cachedBytes;
  private boolean alarmRaised;
  private boolean fullReported;

  private MonitoringSpool(KeyValueStore store, String senderNodeCode, String streamId,
      long maxBytes, EventLog events, Clock clock) {
    this.store = store;
    this.senderNodeCode = senderNodeCode;
    this.streamId = streamId;
    this.maxBytes = maxBytes;
    this.events = events;
    this.clock = clock;
  }

  /**
   * Opens the spool kept in {@code store} (which it then owns), creating its stream id on first
   * use, and recovers its unacknowledged batches.
   */
  public static MonitoringSpool open(KeyValueStore store, String senderNodeCode, long maxBytes,
      EventLog events, Clock clock) {
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("the spool bound must be positive, got " + maxBytes);
    }
    String streamId = store.get(STREAM_ID).map(MonitoringSpool::text).orElse(null);
    if (streamId == null) {
      streamId = UUID.randomUUID().toString();
      if (!store.putIfAbsent(STREAM_ID, streamId.getBytes(StandardCharsets.UTF_8))) {
        streamId = text(store.get(STREAM_ID).orElseThrow());
      }
    }
    MonitoringSpool spool = new MonitoringSpool(store, senderNodeCode, streamId, maxBytes, events,
        clock);
    spool.last = store.get(LAST).map(MonitoringSpool::number).orElse(0L);
    spool.cursor = store.get(CURSOR).map(MonitoringSpool::number).orElse(0L);
    spool.acknowledged = store.get(ACKNOWLEDGED).map(MonitoringSpool::number).orElse(0L);
    for (Map.Entry<String, byte[]> e : store.scan(BATCH).entrySet()) {
      long seq = Long.parseLong(e.getKey().substring(BATCH.length()));
      spool.sizes.put(seq, e.getValue().length);
      spool.bytes += e.getValue().length;
    }
    events.info("monitoring.spool.opened", "stream_id", streamId, "last_sequence", spool.last,
        "acknowledged", spool.acknowledged, "unacknowledged_batches", spool.sizes.size(),
        "bytes", spool.bytes, "max_bytes", maxBytes);
    return spool;
  }

  public String streamId() {
    return streamId;
  }

  public String senderNodeCode() {
    return senderNodeCode;
  }

  /** The highest sequence number spooled so far; 0 before the first batch. */
  public long lastSequence() {
    return last;
  }

  /** Every batch up to this number has been acknowledged by the receiver. */
  public long acknowledgedSequence() {
    return acknowledged;
  }

  /** The producer cursor stored with the latest append. */
  public long cursor() {
    return cursor;
  }

  /** Serialized bytes of the unacknowledged batches. */
  public synchronized long bytes() {
    return bytes;
  }

  public long maxBytes() {
    return maxBytes;
  }

  /** Runs {@code listener} after every append (e.g. to wake the exporter). */
  public void onAppend(Runnable listener) {
    appendListeners.add(listener);
  }

  /** Appends a batch of {@code points}, keeping the current cursor; see {@link #append(List,
   *  long, Map, Map)}. */
  public long append(List<DataPoint> points) throws SpoolFullException {
    return append(points, -1, Map.of(), Map.of());
  }

  /**
   * Appends {@code points} as the next batch, durably, together with {@code cursor} and
   * {@code alsoPut}, if every key of {@code expected} has its expected value. A negative
   * {@code cursor} keeps the current one.
   *
   * @return the batch's sequence number; 0 if {@code points} was empty (then only the cursor and
   *     {@code alsoPut} were written); -1 if an expectation failed (nothing was written)
   * @throws SpoolFullException if the batch would take the spool past its bound (nothing written)
   */
  public long append(List<DataPoint> points, long cursor,
      Map<String, byte[]> alsoPut, Map<String, Optional<byte[]>> expected)
      throws SpoolFullException {
    // Encoded before taking the lock, once: the spool, the exporter and the receiver all use
    // these bytes.
    return append(EncodedPoints.of(points), cursor, alsoPut, expected);
  }

  /** As {@link #append(List, long, Map, Map)}, for points already encoded (a relayed batch). */
  public synchronized long append(EncodedPoints points, long cursor,
      Map<String, byte[]> alsoPut, Map<String, Optional<byte[]>> expected)
      throws SpoolFullException {
    if (cursor < 0) {
      cursor = this.cursor;
    }
    Map<String, byte[]> puts = new HashMap<>(alsoPut);
    puts.put(CURSOR, decimal(cursor));
    if (points.isEmpty()) {
      if (!store.write(puts, List.of(), expected)) {
        return -1;
      }
      this.cursor = cursor;
      return 0;
    }
    long seq = last + 1;
    byte[] encoded = points.after(ExportMonitoringDataRequest.newBuilder()
        .setSenderNodeCode(senderNodeCode)
        .setStreamId(streamId)
        .setSequenceNumber(seq)
        .setCreatedAt(Timestamps.fromMillis(clock.millis()))
        .build().toByteArray());
    if (bytes + encoded.length > maxBytes) {
      if (!fullReported) {
        fullReported = true;
        events.error("monitoring.spool.full", "bytes", bytes, "max_bytes", maxBytes,
            "refused_points", points.count());
      }
      throw new SpoolFullException(bytes, maxBytes);
    }
    puts.put(key(seq), encoded);
    puts.put(LAST, decimal(seq));
    if (!store.write(puts, List.of(), expected)) {
      return -1;
    }
    last = seq;
    this.cursor = cursor;
    sizes.put(seq, encoded.length);
    bytes += encoded.length;
    if (cachedBytes + encoded.length <= CACHE_BYTES) {
      cache.put(seq, encoded);
      cachedBytes += encoded.length;
    }
    if (!alarmRaised && bytes >= ALARM_AT * maxBytes) {
      alarmRaised = true;
      events.warn("monitoring.spool.near_full", "bytes", bytes, "max_bytes", maxBytes,
          "unacknowledged_batches", sizes.size());
    }
    for (Runnable listener : appendListeners) {
      listener.run();
    }
    return seq;
  }

  /** The spooled batch {@code seq}, if it is still held (not yet acknowledged). */
  public Optional<ExportMonitoringDataRequest> batch(long seq) {
    return encodedBatch(seq).map(bytes -> {
      try {
        return ExportMonitoringDataRequest.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("spooled batch " + seq + " is corrupt", e);
      }
    });
  }

  /** The spooled batch {@code seq} as stored (an encoded ExportMonitoringDataRequest). */
  public Optional<byte[]> encodedBatch(long seq) {
    byte[] cached = cache.get(seq);
    return cached != null ? Optional.of(cached) : store.get(key(seq));
  }

  /** The value of a key written with {@code alsoPut}. */
  public Optional<byte[]> get(String key) {
    return store.get(key);
  }

  /** Every key written with {@code alsoPut} under {@code prefix}. */
  public SortedMap<String, byte[]> scan(String prefix) {
    return store.scan(prefix);
  }

  /** Returns once every write so far is durable. */
  public void sync() {
    store.sync();
  }

  /** The receiver stored every batch up to {@code seq}: forget them. */
  public void acknowledge(long seq) {
    synchronized (acknowledging) {
      long upTo;
      List<String> deletes = new ArrayList<>();
      synchronized (this) {
        upTo = Math.min(seq, last);
        if (upTo <= acknowledged) {
          return;
        }
        for (Long s : sizes.headMap(upTo, true).keySet()) {
          deletes.add(key(s));
        }
      }
      // Written without the spool's lock, so that an append waiting for its fsync and this
      // write share one (group commit) instead of queueing one behind the other.
      store.write(Map.of(ACKNOWLEDGED, decimal(upTo)), deletes, Map.of());
      forget(upTo);
    }
  }

  private synchronized void forget(long upTo) {
    acknowledged = upTo;
    for (Long s : new ArrayList<>(sizes.headMap(upTo, true).keySet())) {
      bytes -= sizes.remove(s);
      byte[] cached = cache.remove(s);
      if (cached != null) {
        cachedBytes -= cached.length;
      }
    }
    if (bytes < CLEAR_AT * maxBytes) {
      fullReported = false;
    }
    if (alarmRaised && bytes < CLEAR_AT * maxBytes) {
      alarmRaised = false;
      events.info("monitoring.spool.alarm_cleared", "bytes", bytes, "max_bytes", maxBytes);
    }
  }

  @Override
  public void close() {
    store.close();
  }

  private static String key(long seq) {
    return BATCH + String.format("%020d", seq);
  }

  private static byte[] decimal(long value) {
    return Long.toString(value).getBytes(StandardCharsets.US_ASCII);
  }

  private static long number(byte[] bytes) {
    return Long.parseLong(text(bytes));
  }

  private static String text(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }

  /** The spool has no room for a batch; nothing was written. */
  public static final class SpoolFullException extends Exception {
    private static final long serialVersionUID = 1L;

    SpoolFullException(long bytes, long maxBytes) {
      super("monitoring spool full: " + bytes + " of " + maxBytes + " bytes unacknowledged");
    }
  }
}
