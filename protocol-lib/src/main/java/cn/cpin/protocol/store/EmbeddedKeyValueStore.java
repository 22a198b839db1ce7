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
 * <p>Writes are serialised; each one is checked, applied, committed and forced to disk under an
 * exclusive lock, and reads take the shared side of that lock, so a reader sees all of a write or
 * none of it, and never a change that is not yet on disk. MVStore's own automatic commits are
 * turned off (both the background timer and the unsaved-memory threshold), so only whole writes
 * ever reach the file; a write that fails part-way is rolled back to the last commit.
 */
public final class EmbeddedKeyValueStore implements KeyValueStore {
  private final MVStore store;
  private final MVMap<String, byte[]> map;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed;

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
    lock.readLock().lock();
    try {
      checkOpen();
      SortedMap<String, byte[]> out = new TreeMap<>();
      for (var it = map.cursor(prefix); it.hasNext(); ) {
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
      apply(putCopies, deleteKeys.keySet());
      return true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** One locked read-modify-write, rather than the default's optimistic retries. */
  @Override
  public long increment(String key, long delta) {
    requireKey(key);
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
      long next = Math.addExact(value, delta);
      apply(Map.of(key, Long.toString(next).getBytes(StandardCharsets.US_ASCII)),
          java.util.Set.of());
      return next;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Applies, commits and syncs; on any failure, back to the last commit. Under the write lock. */
  private void apply(Map<String, byte[]> puts, Iterable<String> deletes) {
    try {
      for (String key : deletes) {
        map.remove(key);
      }
      puts.forEach(map::put);
      store.commit();
      store.sync();
    } catch (RuntimeException | Error e) {
      try {
        store.rollback();
      } catch (RuntimeException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
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
        closed = true;
        store.close();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }
}
