package cn.cpin.protocol.store;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What every {@link KeyValueStore} must do. A subclass supplies a fresh, empty store per test
 * and a way to reopen the same data after closing it.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
abstract class KeyValueStoreContractTest {
  /** The store under test; tests may replace it through {@link #closeAndReopen()}. */
  protected KeyValueStore store;

  /** A fresh, empty store, isolated from every other test's. */
  protected abstract KeyValueStore newStore();

  /**
   * The same data as the store last returned by {@link #newStore()} or {@code reopen()}, which
   * the caller has closed: for a file store the same file, for a server a new client.
   */
  protected abstract KeyValueStore reopen();

  @BeforeEach
  void openStore() {
    store = newStore();
  }

  @AfterEach
  void closeStore() {
    if (store != null) {
      store.close();
    }
  }

  private void closeAndReopen() {
    store.close();
    store = null;
    store = reopen();
  }

  private static byte[] b(String s) {
    return s.getBytes(UTF_8);
  }

  private static String s(byte[] bytes) {
    return new String(bytes, UTF_8);
  }

  private static Map<String, String> strings(SortedMap<String, byte[]> map) {
    Map<String, String> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(k, s(v)));
    return out;
  }

  // ---- get, put, overwrite, delete ----

  @Test
  void absentKeyHasNoValue() {
    assertThat(store.get("nothing/here")).isEmpty();
    assertThat(store.scan("")).isEmpty();
  }

  /** An interrupt belongs to its caller: it must not break the store for everyone else. */
  @Test
  void aCallerInterruptedWhileWritingLeavesTheStoreWorkingForOthers() {
    Thread.currentThread().interrupt();
    try {
      store.put("interrupted", b("v"));
    } catch (RuntimeException e) {
      // The store may report the interrupt to this caller; its write's outcome is then unknown.
    } finally {
      Thread.interrupted();
    }
    store.put("after", b("v2"));
    assertThat(store.get("after")).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v2")));
    store.close();
    store = reopen();
    assertThat(store.get("after")).hasValueSatisfying(v -> assertThat(v).isEqualTo(b("v2")));
  }

  @Test
  void putThenGet() {
    store.put("k", b("v"));
    assertThat(store.get("k")).hasValueSatisfying(v -> assertThat(s(v)).isEqualTo("v"));
  }

  @Test
  void putOverwrites() {
    store.put("k", b("one"));
    store.put("k", b("two"));
    assertThat(s(store.get("k").orElseThrow())).isEqualTo("two");
    assertThat(store.scan("k")).hasSize(1);
  }

  @Test
  void deleteRemovesOnlyThatKey() {
    store.put("k", b("v"));
    store.put("k2", b("v2"));
    assertThat(store.write(Map.of(), List.of("k"), Map.of())).isTrue();
    assertThat(store.get("k")).isEmpty();
    assertThat(s(store.get("k2").orElseThrow())).isEqualTo("v2");
    // Deleting what is not there is no error.
    assertThat(store.write(Map.of(), List.of("k", "never"), Map.of())).isTrue();
    assertThat(store.get("k")).isEmpty();
  }

  @Test
  void putAndDeleteOfOneKeyInOneWriteLeavesThePut() {
    store.put("k", b("old"));
    assertThat(store.write(Map.of("k", b("new")), List.of("k"), Map.of())).isTrue();
    assertThat(s(store.get("k").orElseThrow())).isEqualTo("new");
  }

  @Test
  void valuesAreCopiedInAndOut() {
    byte[] value = b("abc");
    store.put("k", value);
    value[0] = 'X';
    byte[] read = store.get("k").orElseThrow();
    assertThat(s(read)).isEqualTo("abc");
    read[0] = 'Y';
    assertThat(s(store.get("k").orElseThrow())).isEqualTo("abc");
    store.scan("k").get("k")[0] = 'Z';
    assertThat(s(store.get("k").orElseThrow())).isEqualTo("abc");
  }

  // ---- scan ----

  @Test
  void scanReturnsKeysWithThePrefixInKeyOrder() {
    List<String> keys = new ArrayList<>(List.of("a", "a/", "a/b", "a/b/c", "a/c", "a/b0", "a0",
        "a0/x", "ab", "b", "b/a", "A", "a.", "a//"));
    java.util.Collections.shuffle(keys, new Random(7));
    for (String key : keys) {
      store.put(key, b("v:" + key));
    }

    SortedMap<String, byte[]> slash = store.scan("a/");
    assertThat(new ArrayList<>(slash.keySet()))
        .containsExactly("a/", "a//", "a/b", "a/b/c", "a/b0", "a/c");
    assertThat(strings(slash)).containsEntry("a/b/c", "v:a/b/c");

    assertThat(new ArrayList<>(store.scan("a/b").keySet()))
        .containsExactly("a/b", "a/b/c", "a/b0");
    assertThat(new ArrayList<>(store.scan("a0").keySet())).containsExactly("a0", "a0/x");
    assertThat(new ArrayList<>(store.scan("a").keySet()))
        .containsExactly("a", "a.", "a/", "a//", "a/b", "a/b/c", "a/b0", "a/c", "a0", "a0/x", "ab");
    assertThat(new ArrayList<>(store.scan("").keySet()))
        .containsExactlyElementsOf(new TreeSet<>(keys));
    assertThat(store.scan("c")).isEmpty();
    assertThat(store.scan("a/b/c/")).isEmpty();
  }

  @Test
  void scanHandlesNonAsciiKeysAndBytePrefixBoundaries() {
    store.put("节点/86.44/一", b("1"));
    store.put("节点/86.44/二", b("2"));
    store.put("节点/86.440/三", b("3"));
    store.put("节点0", b("4"));
    store.put("z\u007f", b("5"));
    store.put("z\u0080", b("6"));
    assertThat(strings(store.scan("节点/86.44/")))
        .containsExactly(Map.entry("节点/86.44/一", "1"), Map.entry("节点/86.44/二", "2"));
    assertThat(store.scan("节点").keySet())
        .containsExactly("节点/86.44/一", "节点/86.44/二", "节点/86.440/三", "节点0");
    assertThat(store.scan("z\u007f").keySet()).containsExactly("z\u007f");
    assertThat(store.scan("z").keySet()).containsExactly("z\u007f", "z\u0080");
  }

  @Test
  void scanReturnsManyEntriesInOrder() {
    Map<String, byte[]> batch = new HashMap<>();
    for (int i = 0; i < 300; i++) {
      batch.put(String.format("many/%04d", i), b(Integer.toString(i)));
      if (batch.size() == 100) {
        assertThat(store.write(batch, List.of(), Map.of())).isTrue();
        batch.clear();
      }
    }
    store.put("many0", b("outside"));
    SortedMap<String, byte[]> all = store.scan("many/");
    assertThat(all).hasSize(300);
    int i = 0;
    for (Map.Entry<String, byte[]> e : all.entrySet()) {
      assertThat(e.getKey()).isEqualTo(String.format("many/%04d", i));
      assertThat(s(e.getValue())).isEqualTo(Integer.toString(i));
      i++;
    }
  }

  // ---- atomic and conditional writes ----

  @Test
  void multiKeyWriteAppliesAllOrNothing() {
    store.put("acct/a", b("10"));
    store.put("acct/b", b("20"));
    store.put("acct/gone", b("x"));

    Map<String, byte[]> puts = Map.of("acct/a", b("5"), "acct/b", b("25"), "acct/c", b("1"));
    // One failing condition among several passing ones: nothing at all changes.
    assertThat(store.write(puts, List.of("acct/gone"), Map.of(
        "acct/a", Optional.of(b("10")),
        "acct/b", Optional.of(b("20")),
        "acct/new", Optional.of(b("no such value"))))).isFalse();
    assertThat(strings(store.scan("acct/"))).containsExactly(
        Map.entry("acct/a", "10"), Map.entry("acct/b", "20"), Map.entry("acct/gone", "x"));

    assertThat(store.write(puts, List.of("acct/gone"), Map.of(
        "acct/a", Optional.of(b("10")),
        "acct/b", Optional.of(b("20")),
        "acct/c", Optional.empty()))).isTrue();
    assertThat(strings(store.scan("acct/"))).containsExactly(
        Map.entry("acct/a", "5"), Map.entry("acct/b", "25"), Map.entry("acct/c", "1"));
  }

  @Test
  void conditionalWriteComparesExpectedValues() {
    store.put("c", b("1"));
    assertThat(store.write(Map.of("c", b("2")), List.of(), Map.of("c", Optional.of(b("0")))))
        .isFalse();
    assertThat(s(store.get("c").orElseThrow())).isEqualTo("1");
    // A prefix or an extension of the current value is not equal to it.
    assertThat(store.write(Map.of("c", b("2")), List.of(), Map.of("c", Optional.of(b("10")))))
        .isFalse();
    assertThat(store.write(Map.of("c", b("2")), List.of(), Map.of("c", Optional.of(b("")))))
        .isFalse();
    assertThat(store.write(Map.of("c", b("2")), List.of(), Map.of("c", Optional.of(b("1")))))
        .isTrue();
    assertThat(s(store.get("c").orElseThrow())).isEqualTo("2");
    // The condition may be on keys the write does not touch.
    assertThat(store.write(Map.of("d", b("x")), List.of(), Map.of("c", Optional.of(b("2")))))
        .isTrue();
    assertThat(store.write(Map.of("d", b("y")), List.of(), Map.of("c", Optional.of(b("1")))))
        .isFalse();
    assertThat(s(store.get("d").orElseThrow())).isEqualTo("x");
    // A conditional delete.
    assertThat(store.write(Map.of(), List.of("c"), Map.of("c", Optional.of(b("1"))))).isFalse();
    assertThat(store.write(Map.of(), List.of("c"), Map.of("c", Optional.of(b("2"))))).isTrue();
    assertThat(store.get("c")).isEmpty();
  }

  @Test
  void conditionalWriteOnAbsence() {
    assertThat(store.write(Map.of("x", b("1")), List.of(), Map.of("x", Optional.empty())))
        .isTrue();
    assertThat(store.write(Map.of("x", b("2")), List.of(), Map.of("x", Optional.empty())))
        .isFalse();
    assertThat(s(store.get("x").orElseThrow())).isEqualTo("1");
    // Expecting a value on an absent key fails, whatever the value.
    assertThat(store.write(Map.of("y", b("1")), List.of(), Map.of("y", Optional.of(b("")))))
        .isFalse();
    assertThat(store.write(Map.of("y", b("1")), List.of(), Map.of("y", Optional.of(b("1")))))
        .isFalse();
    assertThat(store.get("y")).isEmpty();
    // Absent again after a delete.
    store.write(Map.of(), List.of("x"), Map.of());
    assertThat(store.write(Map.of("x", b("3")), List.of(), Map.of("x", Optional.empty())))
        .isTrue();
    assertThat(s(store.get("x").orElseThrow())).isEqualTo("3");
  }

  @Test
  void writeWithAbsentKeysStillWorks() {
    assertThat(store.write(Map.of("n/1", b("a"), "n/2", b("b")), List.of(), List.of("n/1")))
        .isTrue();
    assertThat(store.write(Map.of("n/3", b("c")), List.of("n/2"), List.of("n/1"))).isFalse();
    assertThat(store.scan("n/").keySet()).containsExactly("n/1", "n/2");
    assertThat(store.write(Map.of("n/3", b("c")), List.of("n/2"), List.of("n/3", "n/4")))
        .isTrue();
    assertThat(store.scan("n/").keySet()).containsExactly("n/1", "n/3");
    assertThat(store.write(Map.of("n/5", b("e")), List.of(), List.of())).isTrue();
  }

  @Test
  void putIfAbsent() {
    assertThat(store.putIfAbsent("p", b("first"))).isTrue();
    assertThat(store.putIfAbsent("p", b("second"))).isFalse();
    assertThat(s(store.get("p").orElseThrow())).isEqualTo("first");
  }

  @Test
  void readersNeverSeeHalfAWrite() throws Exception {
    store.write(Map.of("pair/a", b("0"), "pair/b", b("0")), List.of(), Map.of());
    AtomicBoolean done = new AtomicBoolean();
    ConcurrentLinkedQueue<String> torn = new ConcurrentLinkedQueue<>();
    ExecutorService readers = Executors.newFixedThreadPool(2);
    try {
      List<Future<Integer>> reads = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        reads.add(readers.submit(() -> {
          int n = 0;
          while (!done.get()) {
            Map<String, String> seen = strings(store.scan("pair/"));
            if (!seen.get("pair/a").equals(seen.get("pair/b")) || seen.size() != 2) {
              torn.add(seen.toString());
            }
            n++;
          }
          return n;
        }));
      }
      for (int i = 1; i <= 100; i++) {
        byte[] v = b(Integer.toString(i));
        assertThat(store.write(Map.of("pair/a", v, "pair/b", v), List.of(), Map.of())).isTrue();
      }
      done.set(true);
      for (Future<Integer> f : reads) {
        assertThat(f.get(1, TimeUnit.MINUTES)).isPositive();
      }
    } finally {
      done.set(true);
      readers.shutdownNow();
    }
    assertThat(torn).isEmpty();
  }

  // ---- increment ----

  @Test
  void incrementStartsFromAbsentAsZero() {
    assertThat(store.increment("ctr", 1)).isEqualTo(1);
    assertThat(store.increment("ctr", 1)).isEqualTo(2);
    assertThat(store.increment("ctr", 100)).isEqualTo(102);
    assertThat(new String(store.get("ctr").orElseThrow(), US_ASCII)).isEqualTo("102");
    assertThat(store.increment("other", 1000)).isEqualTo(1000);
    assertThat(store.increment("ctr", -2)).isEqualTo(100);
  }

  @Test
  void incrementContinuesFromAStoredDecimal() {
    store.put("ctr", "41".getBytes(US_ASCII));
    assertThat(store.increment("ctr", 1)).isEqualTo(42);
  }

  @Test
  void incrementRefusesANonCounter() {
    store.put("ctr", b("not a number"));
    assertThatThrownBy(() -> store.increment("ctr", 1)).isInstanceOf(IllegalStateException.class);
    assertThat(s(store.get("ctr").orElseThrow())).isEqualTo("not a number");
  }

  @Test
  void concurrentIncrementsNeverRepeatOrSkip() throws Exception {
    int threads = 16;
    int each = 200;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch start = new CountDownLatch(1);
    try {
      List<Future<long[]>> futures = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        futures.add(pool.submit(() -> {
          start.await();
          long[] got = new long[each];
          for (int i = 0; i < each; i++) {
            got[i] = store.increment("serial", 1);
          }
          return got;
        }));
      }
      start.countDown();
      List<Long> all = new ArrayList<>();
      for (Future<long[]> f : futures) {
        long[] got = f.get(4, TimeUnit.MINUTES);
        for (int i = 1; i < got.length; i++) {
          assertThat(got[i]).isGreaterThan(got[i - 1]);
        }
        for (long v : got) {
          all.add(v);
        }
      }
      assertThat(all).hasSize(threads * each);
      Set<Long> distinct = new TreeSet<>(all);
      assertThat(distinct).hasSize(threads * each);
      assertThat(distinct).containsExactlyElementsOf(
          LongStream.rangeClosed(1, threads * each).boxed().collect(Collectors.toList()));
      assertThat(new String(store.get("serial").orElseThrow(), US_ASCII))
          .isEqualTo(Integer.toString(threads * each));
    } finally {
      pool.shutdownNow();
    }
  }

  // ---- values ----

  @Test
  void binaryValuesRoundTrip() {
    byte[] all = new byte[256];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    store.put("bin", all);
    assertThat(store.get("bin").orElseThrow()).containsExactly(all);
    assertThat(store.scan("bin").get("bin")).containsExactly(all);
    byte[] reversed = new byte[256];
    for (int i = 0; i < 256; i++) {
      reversed[i] = (byte) (255 - i);
    }
    // Binary values compare exactly in conditions.
    assertThat(store.write(Map.of("bin", reversed), List.of(), Map.of("bin",
        Optional.of(reversed)))).isFalse();
    assertThat(store.write(Map.of("bin", reversed), List.of(), Map.of("bin",
        Optional.of(all.clone())))).isTrue();
    assertThat(store.get("bin").orElseThrow()).containsExactly(reversed);
  }

  @Test
  void emptyValueIsPresent() {
    store.put("e", new byte[0]);
    assertThat(store.get("e")).hasValueSatisfying(v -> assertThat(v).isEmpty());
    assertThat(store.scan("e")).containsOnlyKeys("e");
    assertThat(store.putIfAbsent("e", b("x"))).isFalse();
    assertThat(store.write(Map.of("e", b("x")), List.of(), Map.of("e", Optional.empty())))
        .isFalse();
    assertThat(store.write(Map.of("e", b("x")), List.of(), Map.of("e", Optional.of(new byte[0]))))
        .isTrue();
    assertThat(s(store.get("e").orElseThrow())).isEqualTo("x");
  }

  @Test
  void largeValueRoundTrips() {
    byte[] big = new byte[1024 * 1024];
    new Random(42).nextBytes(big);
    store.put("big", big);
    assertThat(store.get("big").orElseThrow()).isEqualTo(big);
    assertThat(store.scan("b").get("big")).isEqualTo(big);
    byte[] changed = big.clone();
    changed[changed.length - 1] ^= 1;
    assertThat(store.write(Map.of("big", b("small")), List.of(), Map.of("big",
        Optional.of(changed)))).isFalse();
    assertThat(store.write(Map.of("big", b("small")), List.of(), Map.of("big",
        Optional.of(big)))).isTrue();
  }

  // ---- durability ----

  @Test
  void anUnsyncedWriteIsSeenAtOnceAndDurableAfterALaterSync() {
    store.put("u/gone", b("old"));
    store.writeUnsynced(Map.of("u/a", b("1"), "u/b", b("2")), List.of("u/gone"));
    assertThat(store.scan("u/").keySet()).containsExactly("u/a", "u/b");
    assertThat(store.putIfAbsent("u/a", b("other"))).as("conditional writes see it").isFalse();
    store.sync();

    closeAndReopen();

    assertThat(store.scan("u/").keySet()).containsExactly("u/a", "u/b");
    assertThat(s(store.get("u/b").orElseThrow())).isEqualTo("2");
  }

  @Test
  void everythingSurvivesCloseAndReopen() {
    byte[] all = new byte[256];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    store.put("d/plain", b("v"));
    store.put("d/bin", all);
    store.put("d/empty", new byte[0]);
    store.write(Map.of("d/multi1", b("1"), "d/multi2", b("2")), List.of("d/plain"), Map.of());
    store.putIfAbsent("d/once", b("first"));
    store.increment("d/serial", 10);

    closeAndReopen();

    assertThat(store.scan("d/").keySet())
        .containsExactly("d/bin", "d/empty", "d/multi1", "d/multi2", "d/once", "d/serial");
    assertThat(store.get("d/plain")).isEmpty();
    assertThat(store.get("d/bin").orElseThrow()).containsExactly(all);
    assertThat(store.get("d/empty").orElseThrow()).isEmpty();
    assertThat(store.putIfAbsent("d/once", b("second"))).isFalse();
    assertThat(store.increment("d/serial", 10)).isEqualTo(20);

    closeAndReopen();
    assertThat(store.increment("d/serial", 1)).isEqualTo(21);
    assertThat(s(store.get("d/once").orElseThrow())).isEqualTo("first");
  }
}
