package cn.cpin.protocol.store;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A store in etcd, for several replicas of one node sharing one etcd cluster.
 *
 * <p>Every key is stored under {@code keyPrefix} (for instance {@code /cpin/86.44/}), which
 * namespaces one node's state; replicas of that node use the same prefix. A write is one etcd
 * transaction: its conditions are compares ({@code version == 0} for an absent key, value
 * equality for an expected value) and its changes are put and delete operations, so it applies
 * atomically or not at all, and etcd acknowledges it only once a quorum has it in its fsynced
 * write-ahead log. A scan reads every page at one revision, so it is a consistent snapshot. Reads
 * are linearizable.
 *
 * <p>Limits come from the etcd server: a write may hold at most {@code --max-txn-ops} operations
 * (default 128) and {@code --max-request-bytes} bytes (default 1.5 MiB). Every call waits at most
 * the configured timeout and then throws {@link KeyValueStoreException}; a write that timed out
 * may or may not have been applied.
 */
public final class EtcdKeyValueStore implements KeyValueStore {
  /** How long one call waits for etcd by default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private static final int SCAN_PAGE = 128;
  private static final int MAX_INBOUND_MESSAGE = 256 * 1024 * 1024;

  private final Client client;
  private final KV kv;
  private final String endpoints;
  private final String keyPrefix;
  private final ByteSequence prefixBytes;
  private final Duration timeout;

  private EtcdKeyValueStore(Client client, List<String> endpoints, String keyPrefix,
      Duration timeout) {
    this.client = client;
    this.kv = client.getKVClient();
    this.endpoints = String.join(",", endpoints);
    this.keyPrefix = keyPrefix;
    this.prefixBytes = ByteSequence.from(keyPrefix, StandardCharsets.UTF_8);
    this.timeout = timeout;
  }

  /** {@link #connect(List, String, Duration)} with {@link #DEFAULT_TIMEOUT}. */
  public static EtcdKeyValueStore connect(List<String> endpoints, String keyPrefix) {
    return connect(endpoints, keyPrefix, DEFAULT_TIMEOUT);
  }

  /**
   * Connects to etcd at {@code endpoints} (such as {@code http://127.0.0.1:2379}) and checks that
   * it answers; every key is stored under {@code keyPrefix}.
   *
   * @throws KeyValueStoreException if etcd does not answer within {@code timeout}
   */
  public static EtcdKeyValueStore connect(List<String> endpoints, String keyPrefix,
      Duration timeout) {
    Objects.requireNonNull(keyPrefix, "keyPrefix");
    Objects.requireNonNull(timeout, "timeout");
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("no etcd endpoints");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive: " + timeout);
    }
    Client client = Client.builder()
        .endpoints(endpoints.toArray(String[]::new))
        .connectTimeout(timeout)
        .retryMaxDuration(timeout)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE)
        .build();
    EtcdKeyValueStore store = new EtcdKeyValueStore(client, List.copyOf(endpoints), keyPrefix,
        timeout);
    try {
      store.await("connect", store.kv.get(store.prefixBytes,
          GetOption.builder().withCountOnly(true).build()), false);
    } catch (RuntimeException e) {
      client.close();
      throw e;
    }
    return store;
  }

  /** The prefix under which this store keeps its keys. */
  public String keyPrefix() {
    return keyPrefix;
  }

  @Override
  public Optional<byte[]> get(String key) {
    GetResponse response = await("get " + key, kv.get(full(key)), false);
    List<KeyValue> kvs = response.getKvs();
    return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.get(0).getValue().getBytes());
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix) {
    ByteSequence start = full(prefix);
    ByteSequence end = rangeEnd(start);
    SortedMap<String, byte[]> out = new TreeMap<>();
    long revision = 0;
    while (true) {
      GetOption.Builder option = GetOption.builder()
          .withRange(end)
          .withLimit(SCAN_PAGE)
          .withSortField(GetOption.SortTarget.KEY)
          .withSortOrder(GetOption.SortOrder.ASCEND);
      if (revision != 0) {
        option.withRevision(revision);
      }
      GetResponse page = await("scan " + prefix, kv.get(start, option.build()), false);
      if (revision == 0) {
        revision = page.getHeader().getRevision();
      }
      ByteSequence last = null;
      for (KeyValue entry : page.getKvs()) {
        out.put(strip(entry.getKey()), entry.getValue().getBytes());
        last = entry.getKey();
      }
      if (!page.isMore() || last == null) {
        return out;
      }
      // The next page starts just after the last key: the key with a zero byte appended.
      start = last.concat(ByteSequence.from(new byte[] {0}));
    }
  }

  @Override
  public boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Map<String, Optional<byte[]>> expected) {
    List<Cmp> conditions = new ArrayList<>();
    for (Map.Entry<String, Optional<byte[]>> e : expected.entrySet()) {
      ByteSequence key = full(e.getKey());
      conditions.add(e.getValue().isEmpty()
          ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0))
          : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.value(ByteSequence.from(e.getValue().get()))));
    }
    List<Op> ops = new ArrayList<>();
    Set<String> deleted = new LinkedHashSet<>();
    for (String key : deletes) {
      // etcd refuses a transaction that both puts and deletes one key; the put wins, as documented.
      if (!puts.containsKey(Objects.requireNonNull(key, "key")) && deleted.add(key)) {
        ops.add(Op.delete(full(key), DeleteOption.DEFAULT));
      }
    }
    puts.forEach((key, value) -> ops.add(
        Op.put(full(key), ByteSequence.from(Objects.requireNonNull(value, "value")),
            PutOption.DEFAULT)));
    TxnResponse response = await("write " + describe(puts.keySet(), deleted),
        kv.txn().If(conditions.toArray(Cmp[]::new)).Then(ops.toArray(Op[]::new)).commit(), true);
    return response.isSucceeded();
  }

  @Override
  public void close() {
    client.close();
  }

  private ByteSequence full(String key) {
    return prefixBytes.concat(ByteSequence.from(Objects.requireNonNull(key, "key"),
        StandardCharsets.UTF_8));
  }

  private String strip(ByteSequence key) {
    return key.substring(prefixBytes.size()).toString(StandardCharsets.UTF_8);
  }

  /** The smallest key greater than every key starting with {@code prefix} (etcd's range end). */
  static ByteSequence rangeEnd(ByteSequence prefix) {
    byte[] bytes = prefix.getBytes();
    for (int i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i] != (byte) 0xff) {
        byte[] end = Arrays.copyOf(bytes, i + 1);
        end[i]++;
        return ByteSequence.from(end);
      }
    }
    // Empty or all 0xff: to the end of the keyspace.
    return ByteSequence.from(new byte[] {0});
  }

  private static String describe(Set<String> puts, Set<String> deletes) {
    List<String> keys = new ArrayList<>(puts);
    keys.addAll(deletes);
    return keys.size() <= 3 ? keys.toString()
        : keys.subList(0, 3) + " and " + (keys.size() - 3) + " more";
  }

  private <T> T await(String what, CompletableFuture<T> future, boolean isWrite) {
    String where = "etcd at " + endpoints + " (prefix " + keyPrefix + ")";
    try {
      return future.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      future.cancel(true);
      throw new KeyValueStoreException(where + " did not answer " + what + " within " + timeout
          + (isWrite ? "; the write may or may not have been applied" : ""), e);
    } catch (InterruptedException e) {
      future.cancel(true);
      Thread.currentThread().interrupt();
      throw new KeyValueStoreException("interrupted waiting for " + where + " to answer " + what
          + (isWrite ? "; the write may or may not have been applied" : ""), e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() == null ? e : e.getCause();
      throw new KeyValueStoreException(where + " failed " + what + ": " + cause
          + (isWrite ? " (the write may or may not have been applied)" : ""), cause);
    }
  }
}
