package cn.cpin.protocol.store;

import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;

/**
 * A node's durable state: string keys, byte values, atomic multi-key writes.
 *
 * <p>Every write is durable when the method returns, so a node that acknowledges something after a
 * write never loses it (a kill -9 included). Implementations: {@link EmbeddedKeyValueStore}, the
 * default, and an etcd-backed store for several replicas of one node. Thread-safe.
 */
public interface KeyValueStore extends AutoCloseable {
  /** The value of {@code key}, if present. */
  Optional<byte[]> get(String key);

  /** Every entry whose key starts with {@code prefix}, in key order. */
  SortedMap<String, byte[]> scan(String prefix);

  /**
   * Applies {@code puts} and {@code deletes} atomically, but only if every key of
   * {@code absent} is absent; returns whether it did.
   */
  boolean write(Map<String, byte[]> puts, Iterable<String> deletes, Iterable<String> absent);

  /** Stores {@code value} under {@code key}. */
  default void put(String key, byte[] value) {
    write(Map.of(key, value), java.util.List.of(), java.util.List.of());
  }

  /** Stores {@code value} under {@code key} unless the key exists; returns whether it did. */
  default boolean putIfAbsent(String key, byte[] value) {
    return write(Map.of(key, value), java.util.List.of(), java.util.List.of(key));
  }

  @Override
  void close();
}
