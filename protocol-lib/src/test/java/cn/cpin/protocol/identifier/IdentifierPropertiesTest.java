package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Properties over valid identifiers: every node-code shape, every kind, all serial lengths.
 *
 * <p>Each property is checked on the same deterministic edge cases (every allocatable node code,
 * every kind, both ends of every serial length) followed by {@value #RANDOM_CASES} random
 * identifiers drawn from a {@link SplittableRandom} with a fixed seed, so every run checks the
 * same inputs and a failure names the seed and case that reproduce it.
 */
class IdentifierPropertiesTest {

  /** Random identifiers per property, on top of the edge cases. */
  static final int RANDOM_CASES = 1_000;

  private static final IdentifierKind[] KINDS = IdentifierKind.values();

  @Test
  void parseInvertsFormat() {
    long seed = 0x1D_0001L;
    forEachIdentifier(seed, (id, context) -> {
      String text = id.toString();
      Identifier parsed = Identifier.parse(text);
      assertThat(parsed).as(context).isEqualTo(id).hasSameHashCodeAs(id).hasToString(text);
      assertThat(parsed.nodeCode()).as(context).isSameAs(id.nodeCode());
      assertThat(parsed.kind()).as(context).isSameAs(id.kind());
      assertThat(parsed.serial()).as(context).isEqualTo(id.serial());
      assertThat(text).as(context).hasSizeLessThanOrEqualTo(Identifier.MAX_LENGTH);
    });
  }

  @Test
  void checkCharactersSatisfyTheVerificationForm() {
    long seed = 0x1D_0002L;
    forEachIdentifier(seed, (id, context) -> {
      String alnum = id.toString().replaceAll("[./-]", "");
      assertThat(Mod1271_36.isValid(alnum)).as(context).isTrue();
      assertThat(alnum).as(context).endsWith(id.checkCharacters());
    });
  }

  @Test
  void everySingleSubstitutionIsRejected() {
    long seed = 0x1D_0003L;
    forEachIdentifier(seed, (id, context) -> {
      for (String mutated : Mutations.substitutions(id.toString())) {
        assertRejected(mutated, id, context);
      }
    });
  }

  @Test
  void everyAdjacentTranspositionIsRejected() {
    long seed = 0x1D_0004L;
    forEachIdentifier(seed, (id, context) -> {
      for (String mutated : Mutations.adjacentTranspositions(id.toString())) {
        assertRejected(mutated, id, context);
      }
    });
  }

  @Test
  void casesCoverEveryShapeKindAndSerialLength() {
    List<Identifier> cases = identifiers(0x1D_0001L);
    assertThat(cases).hasSize(edgeCases().size() + RANDOM_CASES);
    assertThat(cases).extracting(Identifier::nodeCode).containsAll(allNodeCodes());
    assertThat(cases).extracting(Identifier::kind).contains(KINDS);
    for (int length = 1; length <= Identifier.MAX_SERIAL_LENGTH; length++) {
      assertThat(cases).extracting(Identifier::serial).contains(minSerial(length), maxSerial(length));
    }
    List<Identifier> random = cases.subList(cases.size() - RANDOM_CASES, cases.size());
    assertThat(random).anyMatch(id -> id.nodeCode().isNational());
    assertThat(random).anyMatch(id -> id.nodeCode().isRegional());
    assertThat(random).anyMatch(id -> id.nodeCode().isIndustry());
    for (int length = 1; length <= Identifier.MAX_SERIAL_LENGTH; length++) {
      int expected = length;
      assertThat(random).anyMatch(id -> id.serialText().length() == expected);
    }
  }

  /** A check on one identifier; {@code context} names the seed and case for failure messages. */
  interface IdentifierCheck {
    void check(Identifier id, String context);
  }

  /**
   * Runs {@code check} on every case of {@link #identifiers(long)}. The cases are independent, so
   * they are split over one fresh thread per processor: besides the parallelism, the shallow stack
   * of a fresh thread makes each of the millions of expected parse exceptions much cheaper to
   * create than under the test engine's deep stack. Reports the failing case with the lowest index.
   */
  private static void forEachIdentifier(long seed, IdentifierCheck check) {
    List<Identifier> cases = identifiers(seed);
    int threadCount = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 4));
    AssertionError[] failures = new AssertionError[cases.size()];
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      int first = t;
      Thread thread = new Thread(() -> {
        for (int i = first; i < cases.size(); i += threadCount) {
          Identifier id = cases.get(i);
          String context = "seed=0x" + Long.toHexString(seed) + " case=" + i + " identifier=" + id;
          try {
            check.check(id, context);
          } catch (AssertionError e) {
            failures[i] = e;
            return;
          } catch (Throwable e) {
            failures[i] = new AssertionError(context + ": " + e, e);
            return;
          }
        }
      }, "identifier-properties-" + t);
      thread.start();
      threads.add(thread);
    }
    for (Thread thread : threads) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
    for (AssertionError failure : failures) {
      if (failure != null) {
        throw failure;
      }
    }
  }

  /** The edge cases, then {@value #RANDOM_CASES} random identifiers from {@code seed}. */
  static List<Identifier> identifiers(long seed) {
    List<Identifier> result = new ArrayList<>(edgeCases());
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < RANDOM_CASES; i++) {
      result.add(Identifier.of(randomNodeCode(random), KINDS[random.nextInt(KINDS.length)],
          randomSerial(random)));
    }
    return result;
  }

  /**
   * Every allocatable node code once; kinds and the two ends of every serial length cycle along,
   * so that every (kind, boundary serial) pair occurs too (there are more node codes than pairs).
   */
  static List<Identifier> edgeCases() {
    List<Long> boundaries = new ArrayList<>();
    for (int length = 1; length <= Identifier.MAX_SERIAL_LENGTH; length++) {
      boundaries.add(minSerial(length));
      boundaries.add(maxSerial(length));
    }
    List<NodeCode> nodeCodes = allNodeCodes();
    List<Identifier> result = new ArrayList<>(nodeCodes.size());
    for (int i = 0; i < nodeCodes.size(); i++) {
      result.add(Identifier.of(nodeCodes.get(i), KINDS[i % KINDS.length],
          boundaries.get(i % boundaries.size())));
    }
    return result;
  }

  /** National, every regional and every industry node code. */
  static List<NodeCode> allNodeCodes() {
    List<NodeCode> result = new ArrayList<>();
    result.add(NodeCode.national());
    for (String province : NodeCode.provinceCodes()) {
      result.add(NodeCode.regional(province));
      for (char section = NodeCode.FIRST_SECTION; section <= NodeCode.LAST_SECTION; section++) {
        result.add(NodeCode.industry(province, section));
      }
    }
    return result;
  }

  /** National, regional or industry equally often; province and section uniform. */
  static NodeCode randomNodeCode(SplittableRandom random) {
    List<String> provinces = NodeCode.provinceCodes();
    switch (random.nextInt(3)) {
      case 0:
        return NodeCode.national();
      case 1:
        return NodeCode.regional(provinces.get(random.nextInt(provinces.size())));
      default:
        return NodeCode.industry(provinces.get(random.nextInt(provinces.size())),
            (char) random.nextInt(NodeCode.FIRST_SECTION, NodeCode.LAST_SECTION + 1));
    }
  }

  /** A serial of a uniformly chosen length 1..12, uniform within that length. */
  static long randomSerial(SplittableRandom random) {
    int length = random.nextInt(1, Identifier.MAX_SERIAL_LENGTH + 1);
    return random.nextLong(minSerial(length), maxSerial(length) + 1);
  }

  private static long minSerial(int length) {
    return pow36(length - 1);
  }

  private static long maxSerial(int length) {
    return length == Identifier.MAX_SERIAL_LENGTH ? Identifier.MAX_SERIAL : pow36(length) - 1;
  }

  private static long pow36(int exponent) {
    long result = 1;
    for (int i = 0; i < exponent; i++) {
      result *= 36;
    }
    return result;
  }

  private static void assertRejected(String mutated, Identifier original, String context) {
    try {
      Identifier parsed = Identifier.parse(mutated);
      throw new AssertionError(context + ": mutation \"" + mutated + "\" of " + original
          + " was accepted as " + parsed);
    } catch (MalformedIdentifierException expected) {
      // rejected, as it must be
    }
  }
}
