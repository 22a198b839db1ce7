package cn.cpin.protocol.store;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;

/**
 * A node's durable state: string keys, byte values, atomic multi-key writes.
 *
 * <p>Every write is durable when the method returns, so a node that acknowledges something after a
 * write never loses it (a kill -9 included). Implementations: {@link EmbeddedKeyValueStore}, the
 * default, and {@link EtcdKeyValueStore} for several replicas of one node sharing one etcd. The
 * conditional {@link #write(Map, Iterable, Map)} is a compare-and-set across all replicas, which is
 * what lets them never issue the same identifier twice (IDN-009). Thread-safe.
 *
 * <p>A reader never sees part of a write: {@link #get} and {@link #scan} observe either all of a
 * write's changes or none of them.
 */
public interface KeyValueStore extends AutoCloseable {
  /** The value of {@code key}, if present. */
  Optional<byte[]> get(String key);

  /** Every entry whose key starts with {@code prefix}, in key order, as of one point in time. */
  SortedMap<String, byte[]> scan(String prefix);

  /** The first {@code limit} entries whose key starts with {@code prefix}, in key order. */
  default SortedMap<String, byte[]> scan(String prefix, int limit) {
    SortedMap<String, byte[]> all = scan(prefix);
    if (all.size() <= limit) {
      return all;
    }
    SortedMap<String, byte[]> first = new java.util.TreeMap<>();
    for (Map.Entry<String, byte[]> e : all.entrySet()) {
      if (first.size() == limit) {
        break;
      }
      first.put(e.getKey(), e.getValue());
    }
    return first;
  }

  /**
   * Applies {@code puts} and {@code deletes} atomically, but only if every key of
   * {@code expected} currently has exactly the expected value ({@link Optional#empty()}: the key
   * must be absent); returns whether it did. Nothing is changed when it returns {@code false}.
   * A key both put and deleted ends up put.
   */
  boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Map<String, Optional<byte[]>> expected);

  /**
   * Applies {@code puts} and {@code deletes} atomically, but only if every key of
   * {@code absent} is absent; returns whether it did.
   */
  default boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Iterable<String> absent) {
    Map<String, Optional<byte[]>> expected = new LinkedHashMap<>();
    for (String key : absent) {
      expected.put(key, Optional.empty());
    }
    return write(puts, deletes, expected);
  }

  /**
   * Writes {@code puts} and {@code deletes} without waiting for them to be durable: readers see
   * them at once; a crash may lose them (with any later unsynced write), never a write that
   * returned or a sync that returned after them. For state that is redone after a loss, e.g. a
   * filing answer that refiling gets again. Stores without group commit write durably.
   */
  default void writeUnsynced(Map<String, byte[]> puts, Iterable<String> deletes) {
    write(puts, deletes, Map.of());
  }

  /** Stores {@code value} under {@code key}. */
  default void put(String key, byte[] value) {
    write(Map.of(key, value), List.of(), Map.of());
  }

  /** Stores {@code value} under {@code key} unless the key exists; returns whether it did. */
  default boolean putIfAbsent(String key, byte[] value) {
    return write(Map.of(key, value), List.of(), Map.of(key, Optional.empty()));
  }

  /**
   * Atomically adds {@code delta} to the counter under {@code key} (absent counts as 0) and
   * returns the new value. The value is stored as decimal ASCII. Concurrent callers, in this
   * process or in other replicas on the same store, never get the same result for the same
   * delta, which is how issuers reserve blocks of serials.
   *
   * @throws IllegalStateException if the key holds something other than a decimal number
   * @throws ArithmeticException if the counter would overflow
   */
  default long increment(String key, long delta) {
    for (int attempt = 0; ; attempt++) {
      Optional<byte[]> current = get(key);
      long value = current.map(bytes -> parseCounter(key, bytes)).orElse(0L);
      long next = Math.addExact(value, delta);
      byte[] encoded = Long.toString(next).getBytes(StandardCharsets.US_ASCII);
      if (write(Map.of(key, encoded), List.of(), Map.of(key, current))) {
        return next;
      }
      // Someone else won this round; back off a little, with jitter, so contenders spread out.
      long maxMicros = 1L << Math.min(attempt, 10);
      LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(maxMicros + 1) * 1_000L);
    }
  }

  private static long parseCounter(String key, byte[] bytes) {
    try {
      return Long.parseLong(new String(bytes, StandardCharsets.US_ASCII));
    } catch (NumberFormatException e) {
      throw new IllegalStateException("not a counter at " + key + ": "
          + Arrays.toString(Arrays.copyOf(bytes, Math.min(bytes.length, 32))), e);
    }
  }

  /**
   * Returns once every write committed so far is durable. A store may let readers see a write a
   * moment before it is on disk (group commit); a caller about to acknowledge something it only
   * read calls this first.
   */
  default void sync() {}

  @Override
  void close();
}
