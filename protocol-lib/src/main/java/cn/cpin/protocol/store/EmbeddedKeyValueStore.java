package cn.cpin.protocol.store;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The default store: H2's MVStore, a pure-Java, log-structured, copy-on-write file store that
 * recovers to its last committed version after a crash, with no server to run.
 *
 * <p>Writes are serialised: each one is checked and applied under an exclusive lock, and reads
 * take the shared side of that lock, so a reader sees all of a write or none of it. Durability is
 * shared (group commit): one writer at a time commits every write applied so far (one MVStore
 * chunk) and forces the file to disk, while the others keep applying theirs; a write returns once
 * a commit and fsync that include it have completed. A reader may therefore see a write a few
 * milliseconds before it is durable, never half of one; {@link #sync()} waits for that. MVStore's
 * own automatic commits are off (both the background timer and the unsaved-memory threshold), so
 * only whole writes ever reach the file. A write that fails part-way closes the store
 * (fail-stop); reopening recovers the last commit.
 */
public final class EmbeddedKeyValueStore implements KeyValueStore {
  private final MVStore store;
  private final MVMap<String, byte[]> map;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private volatile boolean closed;
  // Group commit: writes counted as applied under the write lock; commit+fsync led by one writer.
  private volatile long committed;
  private final Object syncMonitor = new Object();
  private long synced;
  private boolean syncing;

  private EmbeddedKeyValueStore(MVStore store) {
    this.store = store;
    this.map = store.openMap("cpin");
  }

  /** Opens (or creates) the store in {@code file}; one process at a time. */
  public static EmbeddedKeyValueStore open(Path file) {
    MVStore store = new MVStore.Builder()
        .fileName(file.toString())
        .autoCommitDisabled()
        // 0: no commit when unsaved changes pile up, which could persist half of a write.
        .autoCommitBufferSize(0)
        .open();
    return new EmbeddedKeyValueStore(store);
  }

  @Override
  public Optional<byte[]> get(String key) {
    lock.readLock().lock();
    try {
      checkOpen();
      byte[] value = map.get(key);
      return value == null ? Optional.empty() : Optional.of(value.clone());
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix) {
    return scan(prefix, Integer.MAX_VALUE);
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix, int limit) {
    lock.readLock().lock();
    try {
      checkOpen();
      SortedMap<String, byte[]> out = new TreeMap<>();
      for (var it = map.cursor(prefix); it.hasNext() && out.size() < limit; ) {
        String key = it.next();
        if (!key.startsWith(prefix)) {
          break;
        }
        out.put(key, it.getValue().clone());
      }
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Map<String, Optional<byte[]>> expected) {
    // Copy everything first: the caller's arrays and iterables are not read under the lock.
    Map<String, byte[]> putCopies = new LinkedHashMap<>();
    puts.forEach((key, value) -> putCopies.put(requireKey(key), value.clone()));
    Map<String, Boolean> deleteKeys = new LinkedHashMap<>();
    for (Iterator<String> it = deletes.iterator(); it.hasNext(); ) {
      deleteKeys.put(requireKey(it.next()), Boolean.TRUE);
    }
    long mine;
    lock.writeLock().lock();
    try {
      checkOpen();
      for (Map.Entry<String, Optional<byte[]>> e : expected.entrySet()) {
        byte[] current = map.get(requireKey(e.getKey()));
        Optional<byte[]> want = e.getValue();
        boolean matches = want.isEmpty() ? current == null
            : current != null && Arrays.equals(current, want.get());
        if (!matches) {
          return false;
        }
      }
      mine = apply(putCopies, deleteKeys.keySet());
    } finally {
      lock.writeLock().unlock();
    }
    awaitDurable(mine);
    return true;
  }

  /** One locked read-modify-write, rather than the default's optimistic retries. */
  @Override
  public long increment(String key, long delta) {
    requireKey(key);
    long mine;
    long next;
    lock.writeLock().lock();
    try {
      checkOpen();
      byte[] current = map.get(key);
      long value = 0;
      if (current != null) {
        try {
          value = Long.parseLong(new String(current, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
          throw new IllegalStateException("not a counter at " + key, e);
        }
      }
      next = Math.addExact(value, delta);
      mine = apply(Map.of(key, Long.toString(next).getBytes(StandardCharsets.US_ASCII)),
          java.util.Set.of());
    } finally {
      lock.writeLock().unlock();
    }
    awaitDurable(mine);
    return next;
  }

  /**
   * Applies and commits; on any failure, back to the last commit. Under the write lock. Returns
   * the commit's number, for {@link #awaitDurable}.
   */
  private long apply(Map<String, byte[]> puts, Iterable<String> deletes) {
    try {
      for (String key : deletes) {
        map.remove(key);
      }
      puts.forEach(map::put);
      return ++committed;
    } catch (RuntimeException | Error e) {
      // Other writers' changes since the last commit are in the map too: rolling back would
      // lose them, so the store stops instead (fail-stop) and reopening recovers the last commit.
      closed = true;
      throw new KeyValueStoreException("write failed; the store is closed", e);
    }
  }

  @Override
  public void sync() {
    awaitDurable(committed);
  }

  /** Returns once commit {@code mine} is on disk; one caller at a time runs the fsync for all. */
  private void awaitDurable(long mine) {
    synchronized (syncMonitor) {
      while (true) {
        if (synced >= mine || closed) {
          return; // close() stores everything committed before it returns
        }
        if (!syncing) {
          syncing = true;
          break;
        }
        try {
          syncMonitor.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new KeyValueStoreException("interrupted before the write was durable", e);
        }
      }
    }
    // The fsync runs without the store's lock, so that writers keep committing meanwhile and the
    // next fsync covers all of them; close() waits for a running fsync (see syncing).
    long target = 0;
    boolean done = false;
    try {
      // One MVStore commit (a chunk written to the file) for every write applied so far, taken
      // under the write lock so that it holds whole writes only; then one fsync.
      lock.writeLock().lock();
      try {
        checkOpen();
        target = committed;
        store.commit();
      } finally {
        lock.writeLock().unlock();
      }
      store.sync();
      done = true;
    } finally {
      synchronized (syncMonitor) {
        syncing = false;
        if (done) {
          synced = Math.max(synced, target);
        }
        syncMonitor.notifyAll();
      }
    }
  }

  private static String requireKey(String key) {
    if (key == null) {
      throw new NullPointerException("key");
    }
    return key;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("store closed");
    }
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (!closed) {
        synchronized (syncMonitor) {
          while (syncing) {
            try {
              syncMonitor.wait();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              break;
            }
          }
          closed = true;
          syncMonitor.notifyAll();
        }
        store.close();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
