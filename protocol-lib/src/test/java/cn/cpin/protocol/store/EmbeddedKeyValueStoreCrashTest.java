package cn.cpin.protocol.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash recovery of the embedded store's write-ahead log: a real kill -9 of a writing process,
 * torn and corrupted log tails, and a checkpoint that caught a write half-applied.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class EmbeddedKeyValueStoreCrashTest {
  @TempDir
  Path dir;

  private Path file() {
    return dir.resolve("state.mv");
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static String s(byte[] bytes) {
    return new String(bytes, UTF_8);
  }

  // ---- kill -9 of a writing process ----

  /**
   * Three rounds, each a child JVM writing from four threads with checkpoints every 20 ms and
   * 64 KiB segments (so that checkpoints and rotations race with the writers all the time),
   * killed with SIGKILL after a seeded number of acknowledged writes. After each kill every
   * acknowledged write of every round so far is present, whole, and nothing after it half.
   */
  @Test
  void killNineLosesNoAcknowledgedWriteAndLeavesNoneHalfPresent() throws Exception {
    Random random = new Random(20261126);
    int threads = 4;
    List<Map<Integer, Long>> ackedByRound = new ArrayList<>();
    List<Map<Integer, Long>> countedByRound = new ArrayList<>();
    for (int round = 0; round < 3; round++) {
      int killAfter = 300 + random.nextInt(1500);
      Map<Integer, Long> acked = new ConcurrentHashMap<>();
      Map<Integer, Long> counted = new ConcurrentHashMap<>();
      runAndKill(round, threads, killAfter, acked, counted);
      ackedByRound.add(acked);
      countedByRound.add(counted);
      assertThat(acked.values().stream().mapToLong(Long::longValue).sum())
          .as("acknowledged writes in round %d", round).isGreaterThanOrEqualTo(killAfter);

      try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file())) {
        for (int r = 0; r <= round; r++) {
          for (int t = 0; t < threads; t++) {
            verifyThread(store, r, t, ackedByRound.get(r).getOrDefault(t, 0L),
                countedByRound.get(r).getOrDefault(t, 0L));
          }
        }
      }
    }
  }

  private void runAndKill(int round, int threads, int killAfter, Map<Integer, Long> acked,
      Map<Integer, Long> counted) throws Exception {
    String classpath = Optional.ofNullable(System.getProperty("surefire.test.class.path"))
        .orElse(System.getProperty("java.class.path"));
    Path ackLog = file().resolveSibling("acks-" + round + ".log");
    Process child = new ProcessBuilder(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classpath, WalCrashWriter.class.getName(),
        file().toString(), "20", Integer.toString(64 << 10), Integer.toString(threads),
        Integer.toString(round))
        .redirectOutput(ProcessBuilder.Redirect.DISCARD)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (countAcks(ackLog) < killAfter) {
        assertThat(child.isAlive()).as("the writer is running").isTrue();
        assertThat(System.nanoTime()).as("%d acknowledgements within 60 s", killAfter)
            .isLessThan(deadline);
        Thread.sleep(5);
      }
    } finally {
      child.destroyForcibly(); // SIGKILL on Linux
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    // The child's acknowledgement log is in the page cache, which a kill -9 leaves intact.
    for (String line : Files.readAllLines(ackLog, UTF_8)) {
      record(line, acked, counted);
    }
  }

  private static long countAcks(Path ackLog) throws IOException {
    if (!Files.exists(ackLog)) {
      return 0;
    }
    try (var lines = Files.lines(ackLog, UTF_8)) {
      return lines.filter(l -> l.startsWith("ACK ")).count();
    }
  }

  private static boolean record(String line, Map<Integer, Long> acked,
      Map<Integer, Long> counted) {
    String[] words = line.split(" ");
    if (!words[0].equals("ACK")) {
      return false;
    }
    int thread = Integer.parseInt(words[1]);
    acked.merge(thread, Long.parseLong(words[2]), Math::max);
    if (words.length == 5) {
      counted.merge(thread, Long.parseLong(words[4]), Math::max);
    }
    return true;
  }

  /** Writes 1..last of a thread are whole, nothing after last exists, and the CAS chain holds. */
  private static void verifyThread(KeyValueStore store, int round, int thread, long acked,
      long countAcked) {
    String base = "w/" + round + "/" + thread + "/";
    long last = store.get("last/" + round + "/" + thread).map(v -> Long.parseLong(s(v)))
        .orElse(0L);
    // A write may be durable and the child killed before it printed it, never the other way.
    assertThat(last).as("last write of round %d thread %d ", round, thread)
        .isBetween(acked, acked + 1);
    Map<Long, Map<String, String>> writes = new HashMap<>();
    store.scan(base).forEach((key, value) -> {
      String[] parts = key.substring(base.length()).split("/");
      writes.computeIfAbsent(Long.parseLong(parts[0]), n -> new HashMap<>())
          .put(parts[1], s(value));
    });
    assertThat(writes).as("writes of round %d thread %d", round, thread).hasSize((int) last);
    for (long n = 1; n <= last; n++) {
      Map<String, String> keys = writes.get(n);
      String value = "v" + n + "-" + "x".repeat((int) (n % 50));
      assertThat(keys).as("write %d of round %d thread %d", n, round, thread).isNotNull();
      assertThat(keys.get("a")).isEqualTo(value);
      assertThat(keys.get("b")).isEqualTo(value);
      // Each write deletes the previous write's c.
      if (n == last) {
        assertThat(keys.get("c")).isEqualTo(value);
      } else {
        assertThat(keys).doesNotContainKey("c");
      }
    }
    long count = store.get("count/" + round + "/" + thread).map(v -> Long.parseLong(s(v)))
        .orElse(0L);
    assertThat(count).isGreaterThanOrEqualTo(countAcked);
    // The increment follows every tenth write; the kill may fall between the two.
    assertThat(count).isBetween(Math.max(0, last / 10 - 1), last / 10);
  }

  // ---- torn and corrupted tails ----

  @Test
  void anUnsyncedWriteFollowedByADurableOneSurvivesACrash() throws IOException {
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO, 1L << 20);
    store.writeUnsynced(Map.of("u/filed", b("receipt")), List.of("u/outbox"));
    store.write(Map.of("u/next", b("issued")), List.of(), Map.of());
    store.crashForTest();
    try (KeyValueStore reopened = EmbeddedKeyValueStore.open(file())) {
      assertThat(reopened.scan("u/").keySet()).containsExactly("u/filed", "u/next");
    }
  }

  /** Writes {@code count} records r/1..r/count, each acknowledged, then crashes. */
  private Path writeAndCrash(int count) throws IOException {
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO, 1L << 20);
    for (int i = 1; i <= count; i++) {
      store.write(Map.of("r/" + i, b("value " + i), "r/last", b(Integer.toString(i))),
          List.of(), Map.of());
    }
    store.crashForTest();
    List<Path> segments = WriteAheadLog.segmentFiles(EmbeddedKeyValueStore.walDirectory(file()));
    assertThat(segments).hasSize(1);
    return segments.get(0);
  }

  private void assertRecords(KeyValueStore store, int count) {
    assertThat(store.scan("r/")).hasSize(count + 1);
    assertThat(s(store.get("r/last").orElseThrow())).isEqualTo(Integer.toString(count));
    for (int i = 1; i <= count; i++) {
      assertThat(s(store.get("r/" + i).orElseThrow())).isEqualTo("value " + i);
    }
  }

  @Test
  void logAloneRecoversEveryWriteAfterACrash() throws IOException {
    writeAndCrash(50);
    try (KeyValueStore store = EmbeddedKeyValueStore.open(file())) {
      assertRecords(store, 50);
    }
  }

  @Test
  void truncatedLastRecordIsDroppedAndTheLogContinues() throws IOException {
    Path segment = writeAndCrash(10);
    long size = Files.size(segment);
    try (FileChannel ch = FileChannel.open(segment, StandardOpenOption.WRITE)) {
      ch.truncate(size - 3);
    }
    try (EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO,
        1L << 20)) {
      assertRecords(store, 9);
      assertThat(store.get("r/10")).isEmpty();
      store.put("r/10", b("value 10"));
      store.put("r/last", b("10"));
      store.crashForTest();
    }
    // The sequence goes on from the recovered record: a second crash loses nothing either.
    try (KeyValueStore store = EmbeddedKeyValueStore.open(file())) {
      assertRecords(store, 10);
    }
  }

  @Test
  void lastRecordWithAFlippedByteIsDropped() throws IOException {
    Path segment = writeAndCrash(10);
    long size = Files.size(segment);
    byte[] bytes = Files.readAllBytes(segment);
    bytes[(int) size - 2] ^= 0x40; // inside the last record's value
    Files.write(segment, bytes);
    try (KeyValueStore store = EmbeddedKeyValueStore.open(file())) {
      assertRecords(store, 9);
      assertThat(store.get("r/10")).isEmpty();
    }
  }

  @Test
  void partialFrameHeaderAfterTheLastRecordIsIgnored() throws IOException {
    Path segment = writeAndCrash(10);
    long whole = Files.size(segment);
    Files.write(segment, new byte[] {0, 0, 1}, StandardOpenOption.APPEND);
    try (KeyValueStore store = EmbeddedKeyValueStore.open(file())) {
      assertRecords(store, 10);
      // Recovery cut the torn frame off: appends go on after the last whole record.
      assertThat(Files.size(segment)).isEqualTo(whole);
    }
  }

  @Test
  void logStartingAfterTheFilesCheckpointIsRefusedNotGuessed() throws IOException {
    Path segment = writeAndCrash(10);
    // As if the records before 5 had been deleted although the file does not hold them.
    Files.move(segment, segment.resolveSibling(String.format("%020d.wal", 5)));
    assertThatThrownBy(() -> EmbeddedKeyValueStore.open(file()))
        .isInstanceOf(KeyValueStoreException.class).hasMessageContaining("lost");
  }

  @Test
  void crashRightAfterARotationRecoversAndCheckpointsAgain() throws IOException {
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO, 1L << 20);
    for (int i = 1; i <= 5; i++) {
      store.write(Map.of("r/" + i, b("value " + i), "r/last", b(Integer.toString(i))),
          List.of(), Map.of());
    }
    assertThat(store.beginCheckpoint()).isEqualTo(5); // a new, empty segment; no commit yet
    store.crashForTest();
    try (EmbeddedKeyValueStore reopened = EmbeddedKeyValueStore.open(file(), Duration.ZERO,
        1L << 20)) {
      assertRecords(reopened, 5);
      reopened.checkpoint(); // covers the replayed records, in the segment left empty
      reopened.put("r/6", b("value 6"));
      reopened.put("r/last", b("6"));
      reopened.crashForTest();
    }
    try (KeyValueStore reopened = EmbeddedKeyValueStore.open(file())) {
      assertRecords(reopened, 6);
    }
  }

  // ---- checkpoints racing with writers ----

  /**
   * A checkpoint commits while a write is applied up to its first key only (the writer is held
   * there); the MVStore file then holds half of that write. After a crash, replaying the log
   * from the checkpoint's sequence number makes it whole.
   */
  @Test
  void replayRepairsACheckpointThatCaughtAWriteHalfApplied() throws Exception {
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO, 1L << 20);
    store.write(Map.of("pair/a", b("0"), "pair/b", b("0")), List.of(), Map.of());
    long upTo = store.beginCheckpoint();
    assertThat(upTo).isEqualTo(1);

    CountDownLatch halfApplied = new CountDownLatch(1);
    CountDownLatch committed = new CountDownLatch(1);
    AtomicInteger applies = new AtomicInteger();
    store.afterEachApply = () -> {
      if (applies.incrementAndGet() == 1) {
        halfApplied.countDown();
        await(committed);
      }
    };
    Map<String, byte[]> puts = new LinkedHashMap<>();
    puts.put("pair/a", b("1"));
    puts.put("pair/b", b("1"));
    ExecutorService writer = Executors.newSingleThreadExecutor();
    try {
      Future<Boolean> write = writer.submit(() -> store.write(puts, List.of(), Map.of()));
      assertThat(halfApplied.await(30, TimeUnit.SECONDS)).isTrue();
      store.finishCheckpoint(upTo); // commits while the write holds pair/a=1, pair/b=0
      committed.countDown();
      assertThat(write.get(30, TimeUnit.SECONDS)).isTrue();
    } finally {
      committed.countDown();
      writer.shutdownNow();
    }
    store.afterEachApply = null;
    store.crashForTest();

    // The checkpoint really holds half of the write, and only the log has the rest.
    MVStore raw = new MVStore.Builder().fileName(file().toString()).readOnly().open();
    try {
      MVMap<String, byte[]> map = raw.openMap("cpin");
      assertThat(s(map.get("pair/a"))).isEqualTo("1");
      assertThat(s(map.get("pair/b"))).isEqualTo("0");
    } finally {
      raw.close();
    }
    try (KeyValueStore reopened = EmbeddedKeyValueStore.open(file())) {
      assertThat(s(reopened.get("pair/a").orElseThrow())).isEqualTo("1");
      assertThat(s(reopened.get("pair/b").orElseThrow())).isEqualTo("1");
    }
  }

  /** Writers, checkpoints in a loop and reads all at once; then a crash loses nothing. */
  @Test
  void checkpointsRacingWithWritersLoseNothingAtACrash() throws Exception {
    EmbeddedKeyValueStore store = EmbeddedKeyValueStore.open(file(), Duration.ZERO, 16 << 10);
    AtomicBoolean writing = new AtomicBoolean(true);
    ExecutorService pool = Executors.newFixedThreadPool(5);
    int writers = 4;
    int each = 400;
    try {
      Future<Integer> checkpoints = pool.submit(() -> {
        int n = 0;
        while (writing.get()) {
          store.checkpoint();
          n++;
        }
        return n;
      });
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < writers; t++) {
        int thread = t;
        done.add(pool.submit(() -> {
          for (int i = 1; i <= each; i++) {
            byte[] v = b(thread + ":" + i);
            assertThat(store.write(Map.of("x/" + thread + "/" + i, v, "y/" + thread + "/" + i, v),
                i == 1 ? List.of() : List.of("z/" + thread + "/" + (i - 1)), Map.of())).isTrue();
            store.put("z/" + thread + "/" + i, v);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(2, TimeUnit.MINUTES);
      }
      writing.set(false);
      assertThat(checkpoints.get(1, TimeUnit.MINUTES)).isPositive();
    } finally {
      writing.set(false);
      pool.shutdownNow();
    }
    // Checkpoints retired their segments: the log holds only what the recent ones need.
    assertThat(WriteAheadLog.segmentFiles(EmbeddedKeyValueStore.walDirectory(file())).size())
        .isLessThanOrEqualTo(EmbeddedKeyValueStore.CHECKPOINTS_COVERED + 2);
    // And a tail after the last checkpoint, which only the log holds.
    for (int t = 0; t < writers; t++) {
      store.put("z/" + t + "/" + (each + 1), b("tail"));
      store.write(Map.of(), List.of("z/" + t + "/" + each), Map.of());
    }
    store.crashForTest();
    try (KeyValueStore reopened = EmbeddedKeyValueStore.open(file())) {
      for (int t = 0; t < writers; t++) {
        assertThat(reopened.scan("x/" + t + "/")).hasSize(each);
        assertThat(reopened.scan("y/" + t + "/")).hasSize(each);
        assertThat(reopened.scan("z/" + t + "/").keySet())
            .containsExactly("z/" + t + "/" + (each + 1));
        assertThat(s(reopened.get("y/" + t + "/" + each).orElseThrow())).isEqualTo(t + ":" + each);
      }
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(30, TimeUnit.SECONDS)) {
        throw new IllegalStateException("not released");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
