package cn.cpin.protocol.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.locks.StampedLock;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The default store: H2's MVStore (a pure-Java, copy-on-write file store that recovers to its
 * last committed version after a crash, with no server to run) made durable write by write by a
 * write-ahead log of its own, as RocksDB and LevelDB are.
 *
 * <p><b>Writes.</b> Each write (or increment) is checked, framed as one log record (length,
 * CRC32C, sequence number, all its deletes and puts) appended to the current WAL segment's buffer
 * in memory, and applied to the MVMap, all under the store's exclusive lock, which is therefore
 * held for memory work only. The caller then waits for a group commit that covers its record:
 * one waiting writer at a time writes every buffered record to the segment file and forces it
 * ({@code FileChannel.force}), while the others keep appending; the lock is not held meanwhile,
 * and no writer holding it ever waits in {@code write(2)} behind a running fsync. Readers first
 * read without the lock and keep the result if no writer took the lock meanwhile (a
 * {@link StampedLock} optimistic read), else read under its shared side; either way a reader sees
 * all of a write or none of it. It may see a write a few milliseconds before it is durable, and
 * {@link #sync()} waits for that.
 *
 * <p><b>Checkpoints.</b> MVStore commits are background checkpoints, every second or so, or
 * sooner when a segment grows past its size bound: under the write lock (briefly) the
 * checkpointer takes S, the last applied sequence number, starts a new segment and puts S in the
 * store's {@code cpin-wal} map; then, without the lock, it commits the MVStore (writing the pages
 * changed since the last checkpoint) and forces the file; then it deletes the segments that the
 * checkpoint {@value #CHECKPOINTS_COVERED} checkpoints back covers (an MVStore file killed
 * during a commit has been seen to reopen several commits before its last one, so the log keeps
 * covering the recent ones). Writers keep writing during the
 * commit, so it may catch a write after S half-applied; that is harmless, because recovery
 * replays every record after S in order, and puts and deletes are idempotent.
 *
 * <p><b>Recovery.</b> Opening reads S from the MVStore's last commit, replays every whole record
 * after S from the log, cuts the log at the first torn or CRC-failing frame (a crash during an
 * append: that record was never acknowledged, since a write returns only after the fsync), and
 * appends after it. A log that starts after S + 1 would mean lost writes: opening then fails
 * rather than guess. Closing checkpoints. A write that fails part-way (an I/O error on the log
 * or the file) closes the store (fail-stop); reopening recovers.
 *
 * <p>MVStore's own automatic commits are off; only checkpoints write its file.
 */
public final class EmbeddedKeyValueStore implements KeyValueStore {
  static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(1);
  /** Commits the log covers besides the last (see {@link #recentCheckpoints}). */
  static final int CHECKPOINTS_COVERED = 32;
  static final long DEFAULT_SEGMENT_BYTES = 32L << 20;
  private static final String CHECKPOINT = "checkpoint";
  private static final System.Logger LOG = System.getLogger(EmbeddedKeyValueStore.class.getName());

  private final MVStore store;
  private final MVMap<String, byte[]> map;
  private final MVMap<String, Long> walMeta;
  private final WriteAheadLog wal;
  private final long segmentBytes;
  private final long checkpointNanos;
  // Writers hold it exclusively, for memory work only; readers first try without it
  // (optimistic: valid if no writer took it meanwhile), so that they do not queue behind writers.
  private final StampedLock lock = new StampedLock();
  private volatile boolean closed;
  private volatile Throwable failure; // why the store stopped, if it failed
  private volatile long applied; // last sequence number appended and applied, under the write lock

  // Group commit: one leader at a time forces the log; the checkpointer takes this role to retire
  // segments, and close() to finish.
  private final Object syncMonitor = new Object();
  private long synced;
  private boolean syncing;

  // Checkpoints: one background thread; writers nudge it when a segment is full.
  private final Object checkpointMonitor = new Object();
  private boolean checkpointWanted;
  private boolean stopping;
  private final Thread checkpointer;
  private volatile long checkpointed;
  /**
   * The last checkpoints, oldest first, whose commits the log still covers: a file killed during
   * a commit may reopen at an older commit than its last, because MVStore finds its newest commit
   * from a header it rewrites only every so many commits (reopened 2 and more commits back in
   * {@code EmbeddedKeyValueStoreCrashTest}). Checkpointer thread only.
   */
  private final java.util.ArrayDeque<Long> recentCheckpoints = new java.util.ArrayDeque<>();
  /**
   * Writes and forces the log for the group-commit leader: the log's file channel is closed by an
   * interrupt of the thread using it, so a caller's interrupt must never reach it.
   */
  private final ExecutorService logWriter = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "cpin-store-log-writer");
    t.setDaemon(true);
    return t;
  });

  /** For tests: runs after each key a write applies, under the write lock. */
  volatile Runnable afterEachApply;

  private EmbeddedKeyValueStore(MVStore store, MVMap<String, byte[]> map,
      MVMap<String, Long> walMeta, WriteAheadLog wal, long checkpoint, long last,
      Duration checkpointInterval, long segmentBytes) {
    this.store = store;
    this.map = map;
    this.walMeta = walMeta;
    this.wal = wal;
    this.applied = last;
    this.synced = checkpoint; // the replayed records are forced again by the first leader
    this.checkpointed = checkpoint;
    this.segmentBytes = segmentBytes;
    this.checkpointNanos = checkpointInterval.toNanos();
    this.checkpointer = new Thread(this::checkpointLoop, "cpin-store-checkpoint");
    checkpointer.setDaemon(true);
    if (checkpointNanos > 0) {
      checkpointer.start();
    }
  }

  /**
   * Opens (or creates) the store in {@code file}, with its write-ahead log in the directory
   * {@code file + ".wal"} beside it, and recovers every acknowledged write; one process at a time.
   */
  public static EmbeddedKeyValueStore open(Path file) {
    return open(file, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_SEGMENT_BYTES);
  }

  /** As {@link #open(Path)}; a zero interval checkpoints only on demand and on close (tests). */
  static EmbeddedKeyValueStore open(Path file, Duration checkpointInterval, long segmentBytes) {
    MVStore store = new MVStore.Builder()
        .fileName(file.toString())
        .autoCommitDisabled()
        // 0: no commit when unsaved changes pile up; commits are the checkpointer's.
        .autoCommitBufferSize(0)
        .open();
    try {
      MVMap<String, byte[]> map = store.openMap("cpin");
      MVMap<String, Long> walMeta = store.openMap("cpin-wal");
      Path dir = walDirectory(file);
      Files.createDirectories(dir);
      long checkpoint = walMeta.getOrDefault(CHECKPOINT, 0L);
      WriteAheadLog.Replay[] replay = new WriteAheadLog.Replay[1];
      WriteAheadLog wal = WriteAheadLog.recover(dir, checkpoint, entry -> {
        entry.deletes().forEach(map::remove);
        entry.puts().forEach(map::put);
      }, r -> replay[0] = r);
      if (replay[0].tornTail()) {
        LOG.log(System.Logger.Level.WARNING, "write-ahead log {0} ended in a torn record after "
            + "sequence number {1}; it was never acknowledged and is dropped", dir,
            replay[0].lastSequence());
      }
      return new EmbeddedKeyValueStore(store, map, walMeta, wal, checkpoint,
          replay[0].lastSequence(), checkpointInterval, segmentBytes);
    } catch (IOException e) {
      store.closeImmediately();
      throw new KeyValueStoreException("cannot open the write-ahead log of " + file, e);
    } catch (RuntimeException | Error e) {
      store.closeImmediately();
      throw e;
    }
  }

  static Path walDirectory(Path file) {
    return file.resolveSibling(file.getFileName() + ".wal");
  }

  @Override
  public Optional<byte[]> get(String key) {
    long stamp = lock.tryOptimisticRead();
    if (stamp != 0) {
      checkOpen();
      try {
        byte[] value = map.get(key); // MVMap reads are safe beside a writer; validate tells
        if (lock.validate(stamp)) {
          return value == null ? Optional.empty() : Optional.of(value.clone());
        }
      } catch (RuntimeException closedMeanwhile) {
        // read again under the lock, which reports a closed store as such
      }
    }
    stamp = lock.readLock();
    try {
      checkOpen();
      byte[] value = map.get(key);
      return value == null ? Optional.empty() : Optional.of(value.clone());
    } finally {
      lock.unlockRead(stamp);
    }
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix) {
    return scan(prefix, Integer.MAX_VALUE);
  }

  @Override
  public SortedMap<String, byte[]> scan(String prefix, int limit) {
    long stamp = lock.tryOptimisticRead();
    if (stamp != 0) {
      checkOpen();
      try {
        SortedMap<String, byte[]> out = scanUnlocked(prefix, limit);
        if (lock.validate(stamp)) {
          return out;
        }
      } catch (RuntimeException closedMeanwhile) {
        // read again under the lock, which reports a closed store as such
      }
    }
    stamp = lock.readLock();
    try {
      checkOpen();
      return scanUnlocked(prefix, limit);
    } finally {
      lock.unlockRead(stamp);
    }
  }

  private SortedMap<String, byte[]> scanUnlocked(String prefix, int limit) {
    SortedMap<String, byte[]> out = new TreeMap<>();
    for (var it = map.cursor(prefix); it.hasNext() && out.size() < limit; ) {
      String key = it.next();
      if (!key.startsWith(prefix)) {
        break;
      }
      out.put(key, it.getValue().clone());
    }
    return out;
  }

  @Override
  public boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
      Map<String, Optional<byte[]>> expected) {
    long mine = logAndApply(puts, deletes, expected);
    if (mine < 0) {
      return false;
    }
    awaitDurable(mine);
    return true;
  }

  /** Logged and applied now; on disk with the next group commit (a later write's or sync's). */
  @Override
  public void writeUnsynced(Map<String, byte[]> puts, Iterable<String> deletes) {
    logAndApply(puts, deletes, Map.of());
  }

  // The record's sequence number, or -1 if an expected value did not match (nothing written).
  private long logAndApply(Map<String, byte[]> puts, Iterable<String> deletes,
      Map<String, Optional<byte[]>> expected) {
    // Copy and encode first: the caller's arrays and iterables are not read under the lock.
    Map<String, byte[]> putCopies = new LinkedHashMap<>();
    puts.forEach((key, value) -> putCopies.put(requireKey(key), value.clone()));
    Set<String> deleteKeys = new LinkedHashSet<>();
    for (Iterator<String> it = deletes.iterator(); it.hasNext(); ) {
      deleteKeys.add(requireKey(it.next()));
    }
    byte[] body = WriteAheadLog.encode(deleteKeys, putCopies);
    long mine;
    long stamp = lock.writeLock();
    try {
      checkOpen();
      for (Map.Entry<String, Optional<byte[]>> e : expected.entrySet()) {
        byte[] current = map.get(requireKey(e.getKey()));
        Optional<byte[]> want = e.getValue();
        boolean matches = want.isEmpty() ? current == null
            : current != null && Arrays.equals(current, want.get());
        if (!matches) {
          return -1;
        }
      }
      mine = logAndApply(body, deleteKeys, putCopies);
    } finally {
      lock.unlockWrite(stamp);
    }
    return mine;
  }

  /** One locked read-modify-write, rather than the default's optimistic retries. */
  @Override
  public long increment(String key, long delta) {
    requireKey(key);
    long mine;
    long next;
    long stamp = lock.writeLock();
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
      // Logged as the resulting put, so that replay needs no reads.
      Map<String, byte[]> put = Map.of(key, Long.toString(next).getBytes(StandardCharsets.US_ASCII));
      mine = logAndApply(WriteAheadLog.encode(Set.of(), put), Set.of(), put);
    } finally {
      lock.unlockWrite(stamp);
    }
    awaitDurable(mine);
    return next;
  }

  /**
   * Appends the record and applies it to the map; under the write lock. Returns its sequence
   * number, for {@link #awaitDurable}. Any failure stops the store: the log may hold part of a
   * frame, or the map part of a write, and reopening sorts out both.
   */
  private long logAndApply(byte[] body, Collection<String> deletes, Map<String, byte[]> puts) {
    long sequence = applied + 1;
    try {
      wal.append(sequence, body);
      Runnable hook = afterEachApply;
      for (String key : deletes) {
        map.remove(key);
        if (hook != null) {
          hook.run();
        }
      }
      for (Map.Entry<String, byte[]> e : puts.entrySet()) {
        map.put(e.getKey(), e.getValue());
        if (hook != null) {
          hook.run();
        }
      }
    } catch (RuntimeException | Error e) {
      throw failStop("write failed; the store is closed", e);
    }
    applied = sequence;
    if (wal.currentSize() >= segmentBytes) {
      requestCheckpoint();
    }
    return sequence;
  }

  @Override
  public void sync() {
    awaitDurable(applied);
  }

  /** Returns once record {@code mine} is on disk; one caller at a time forces the log for all. */
  private void awaitDurable(long mine) {
    if (!becomeLeader(mine)) {
      return;
    }
    // The force runs without the store's lock, so that writers keep appending meanwhile and the
    // next force covers all of them.
    long target = applied;
    boolean done = false;
    try {
      forceLog();
      done = true;
    } catch (IOException | RuntimeException | Error e) {
      throw failStop("could not force the write-ahead log; the store is closed", e);
    } finally {
      endLeadership(done ? target : -1);
    }
  }

  /**
   * Waits until record {@code upTo} is durable (false) or this caller is the one to force the log
   * (true, and it must call {@link #endLeadership}).
   */
  private boolean becomeLeader(long upTo) {
    synchronized (syncMonitor) {
      while (true) {
        if (synced >= upTo) {
          return false;
        }
        if (failure != null) {
          throw new KeyValueStoreException("the store failed before the write was durable",
              failure);
        }
        if (closed) {
          throw new IllegalStateException("store closed");
        }
        if (!syncing) {
          syncing = true;
          return true;
        }
        try {
          syncMonitor.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new KeyValueStoreException("interrupted before the write was durable", e);
        }
      }
    }
  }

  // On the log writer; the caller waits for it even when interrupted, and keeps its interrupt.
  private void forceLog() throws IOException {
    Future<?> forced = logWriter.submit(() -> {
      wal.force();
      return null;
    });
    boolean interrupted = false;
    try {
      while (true) {
        try {
          forced.get();
          return;
        } catch (InterruptedException e) {
          interrupted = true;
        } catch (ExecutionException e) {
          if (e.getCause() instanceof IOException io) {
            throw io;
          }
          if (e.getCause() instanceof Error error) {
            throw error;
          }
          if (e.getCause() instanceof RuntimeException r) {
            throw r;
          }
          throw new IOException(e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void endLeadership(long durable) {
    synchronized (syncMonitor) {
      syncing = false;
      synced = Math.max(synced, durable);
      syncMonitor.notifyAll();
    }
  }

  // ---- checkpoints ----

  private void requestCheckpoint() {
    synchronized (checkpointMonitor) {
      checkpointWanted = true;
      checkpointMonitor.notifyAll();
    }
  }

  private void checkpointLoop() {
    while (true) {
      synchronized (checkpointMonitor) {
        long deadline = System.nanoTime() + checkpointNanos;
        while (!checkpointWanted && !stopping) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          try {
            checkpointMonitor.wait(Math.max(1, left / 1_000_000));
          } catch (InterruptedException e) {
            return;
          }
        }
        if (stopping) {
          return;
        }
        checkpointWanted = false;
      }
      try {
        checkpoint();
      } catch (RuntimeException | Error e) {
        if (!closed) {
          LOG.log(System.Logger.Level.ERROR, "checkpoint failed; the store is closed", e);
        }
        return;
      }
    }
  }

  /**
   * Writes every write applied so far into the MVStore file and drops the log segments it
   * covers. Writers and readers are held up only while the log rotates.
   */
  void checkpoint() {
    long upTo = beginCheckpoint();
    if (upTo >= 0) {
      finishCheckpoint(upTo);
    }
  }

  /**
   * Under the write lock: the sequence number the checkpoint will cover (-1: nothing new), a new
   * log segment after it, and that number in the store's meta map.
   */
  long beginCheckpoint() {
    long stamp = lock.writeLock();
    try {
      checkOpen();
      long upTo = applied;
      if (upTo == checkpointed) {
        return -1;
      }
      wal.rotate(upTo + 1);
      walMeta.put(CHECKPOINT, upTo);
      return upTo;
    } catch (IOException e) {
      throw failStop("could not start a write-ahead log segment; the store is closed", e);
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /** Without the lock: the MVStore commit and fsync, then the covered segments go. */
  void finishCheckpoint(long upTo) {
    try {
      // Without the lock: pages of writes after upTo may be caught, whole or in part; replay
      // after upTo repairs that.
      store.commit();
      store.sync();
    } catch (RuntimeException | Error e) {
      throw failStop("checkpoint failed; the store is closed", e);
    }
    checkpointed = upTo;
    recentCheckpoints.addLast(upTo);
    if (recentCheckpoints.size() <= CHECKPOINTS_COVERED) {
      return;
    }
    long oldest = recentCheckpoints.removeFirst();
    // As the leader, so that no force runs over a segment being closed.
    if (!becomeLeaderForMaintenance()) {
      return;
    }
    try {
      wal.retireBefore(oldest + 1);
    } catch (IOException e) {
      throw failStop("could not delete old write-ahead log segments; the store is closed", e);
    } finally {
      endLeadership(-1);
    }
  }

  private boolean becomeLeaderForMaintenance() {
    synchronized (syncMonitor) {
      while (syncing) {
        try {
          syncMonitor.wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
      if (closed) {
        return false;
      }
      syncing = true;
      return true;
    }
  }

  private KeyValueStoreException failStop(String message, Throwable cause) {
    if (failure == null) {
      failure = cause;
    }
    closed = true;
    synchronized (syncMonitor) {
      syncMonitor.notifyAll();
    }
    return cause instanceof KeyValueStoreException k ? k : new KeyValueStoreException(message,
        cause);
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

  /** Checkpoints everything applied and closes; a write that returned is in the file. */
  @Override
  public void close() {
    synchronized (checkpointMonitor) {
      stopping = true;
      checkpointMonitor.notifyAll();
    }
    try {
      checkpointer.join(); // not under the lock: a running checkpoint takes it
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long stamp = lock.writeLock();
    try {
      if (failure != null) {
        // Stopped by a failure: keep the file at its last checkpoint; reopening replays the log.
        if (!store.isClosed()) {
          store.closeImmediately();
          closeLogQuietly();
        }
        return;
      }
      if (closed) {
        return;
      }
      synchronized (syncMonitor) {
        while (syncing) {
          try {
            syncMonitor.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            break;
          }
        }
        syncing = true; // no leader from now on
      }
      try {
        forceLog(); // the log stays whole, whatever the file reopens at
        walMeta.put(CHECKPOINT, applied);
        store.commit();
        store.sync();
        wal.retireBefore(checkpointed + 1);
        wal.close();
        store.close();
      } catch (IOException e) {
        store.closeImmediately();
        throw new UncheckedIOException(e);
      } finally {
        logWriter.shutdown();
        synchronized (syncMonitor) {
          closed = true;
          synced = Math.max(synced, applied);
          syncing = false;
          syncMonitor.notifyAll();
        }
      }
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  /**
   * For tests: stops as a kill -9 would, leaving the file at its last checkpoint and the log as
   * the operating system has it.
   */
  void crashForTest() {
    synchronized (checkpointMonitor) {
      stopping = true;
      checkpointMonitor.notifyAll();
    }
    try {
      checkpointer.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    long stamp = lock.writeLock();
    try {
      closed = true;
      failure = new IllegalStateException("crashed for a test");
      store.closeImmediately();
      closeLogQuietly();
    } finally {
      lock.unlockWrite(stamp);
    }
  }

  private void closeLogQuietly() {
    logWriter.shutdown();
    try {
      wal.close();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.WARNING, "closing the write-ahead log", e);
    }
  }
}
