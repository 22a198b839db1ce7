package cn.cpin.protocol.creditcode;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Properties over valid credit codes built from arbitrary first 17 characters.
 *
 * <p>Each property is checked on a few edge cases followed by {@value #RANDOM_CASES} random first
 * 17 characters drawn from a {@link SplittableRandom} with a fixed seed, so every run checks the
 * same inputs and a failure names the seed and case that reproduce it.
 */
class CreditCodePropertiesTest {

  /** Random first-17 strings per property, on top of {@link #EDGE_CASES}. */
  static final int RANDOM_CASES = 1_000;

  private static final int FIRST = CreditCode.LENGTH - 1;
  private static final String LAST_CHAR =
      CreditCode.ALPHABET.substring(CreditCode.ALPHABET.length() - 1);
  private static final List<String> EDGE_CASES = List.of(
      "0".repeat(FIRST),
      LAST_CHAR.repeat(FIRST),
      CreditCode.ALPHABET.substring(0, FIRST),
      CreditCode.ALPHABET.substring(CreditCode.ALPHABET.length() - FIRST),
      "91350100" + "0".repeat(FIRST - 8),
      "0".repeat(FIRST - 1) + LAST_CHAR,
      LAST_CHAR + "0".repeat(FIRST - 1));

  @Test
  void parseAcceptsWhatCheckCharacterBuilds() {
    forEachCode(0xCC_0001L, (text, context) -> {
      CreditCode code = CreditCode.parse(text);
      assertThat(code).as(context).hasToString(text);
      assertThat(code.registrationAuthorityCode()).as(context).isEqualTo(text.charAt(0));
      assertThat(code.institutionTypeCode()).as(context).isEqualTo(text.charAt(1));
      assertThat(code.divisionCode()).as(context).isEqualTo(text.substring(2, 8));
      assertThat(code.organisationCode()).as(context).isEqualTo(text.substring(8, 17));
    });
  }

  @Test
  void everySingleSubstitutionIsDetected() {
    forEachCode(0xCC_0002L, (valid, context) -> {
      char[] chars = valid.toCharArray();
      for (int i = 0; i < chars.length; i++) {
        for (char c = 0x20; c <= 0x7E; c++) {
          if (c == valid.charAt(i)) {
            continue;
          }
          chars[i] = c;
          String mutated = new String(chars);
          // Plain checks rather than AssertJ: this loop runs 1,692 times per case.
          if (CreditCode.isValid(mutated)) {
            throw new AssertionError(context + ": isValid accepted " + mutated);
          }
          MalformedCreditCodeException.Reason expected = CreditCode.ALPHABET.indexOf(c) >= 0
              ? MalformedCreditCodeException.Reason.CREDIT_CODE_CHECK_MISMATCH
              : MalformedCreditCodeException.Reason.CREDIT_CODE_FORBIDDEN_CHARACTER;
          try {
            CreditCode.parse(mutated);
            throw new AssertionError(context + ": parse accepted " + mutated);
          } catch (MalformedCreditCodeException e) {
            if (e.reason() != expected) {
              throw new AssertionError(
                  context + ": " + mutated + ": " + e.reason() + ", expected " + expected);
            }
          }
        }
        chars[i] = valid.charAt(i);
      }
    });
  }

  @Test
  void everyAdjacentTranspositionIsDetected() {
    forEachCode(0xCC_0003L, (valid, context) -> {
      for (int i = 0; i + 1 < valid.length(); i++) {
        if (valid.charAt(i) != valid.charAt(i + 1)) {
          char[] chars = valid.toCharArray();
          chars[i] = valid.charAt(i + 1);
          chars[i + 1] = valid.charAt(i);
          String mutated = new String(chars);
          assertThat(CreditCode.isValid(mutated)).as("%s: %s", context, mutated).isFalse();
        }
      }
    });
  }

  @Test
  void casesCoverTheAlphabetInEveryPosition() {
    List<String> cases = first17(0xCC_0001L);
    assertThat(cases).hasSize(EDGE_CASES.size() + RANDOM_CASES)
        .allMatch(s -> s.length() == FIRST
            && s.chars().allMatch(c -> CreditCode.ALPHABET.indexOf(c) >= 0));
    for (int position = 0; position < FIRST; position++) {
      for (char c : CreditCode.ALPHABET.toCharArray()) {
        int p = position;
        assertThat(cases).as("position %d, character %s", position, c)
            .anyMatch(s -> s.charAt(p) == c);
      }
    }
  }

  /** Edge cases, then {@value #RANDOM_CASES} random strings of 17 alphabet characters from {@code seed}. */
  private static List<String> first17(long seed) {
    List<String> result = new ArrayList<>(EDGE_CASES);
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < RANDOM_CASES; i++) {
      char[] chars = new char[FIRST];
      for (int j = 0; j < FIRST; j++) {
        chars[j] = CreditCode.ALPHABET.charAt(random.nextInt(CreditCode.ALPHABET.length()));
      }
      result.add(new String(chars));
    }
    return result;
  }

  /** A check on one valid credit code; {@code context} names the seed and case for failure messages. */
  interface CodeCheck {
    void check(String validCode, String context);
  }

  /**
   * Runs {@code check} on the valid code built from every case of {@link #first17(long)}. The cases
   * are independent, so they are split over one fresh thread per processor: besides the
   * parallelism, the shallow stack of a fresh thread makes each of the millions of expected parse
   * exceptions much cheaper to create than under the test engine's deep stack. Reports the failing
   * case with the lowest index.
   */
  private static void forEachCode(long seed, CodeCheck check) {
    List<String> cases = first17(seed);
    int threadCount = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(), 4));
    AssertionError[] failures = new AssertionError[cases.size()];
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < threadCount; t++) {
      int first = t;
      Thread thread = new Thread(() -> {
        for (int i = first; i < cases.size(); i += threadCount) {
          String first17 = cases.get(i);
          String context = "seed=0x" + Long.toHexString(seed) + " case=" + i + " first17=" + first17;
          try {
            check.check(first17 + CreditCode.checkCharacter(first17), context);
          } catch (AssertionError e) {
            failures[i] = e;
            return;
          } catch (Throwable e) {
            failures[i] = new AssertionError(context + ": " + e, e);
            return;
          }
        }
      }, "credit-code-properties-" + t);
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
}
