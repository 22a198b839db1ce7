package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class Mod1271_36Test {

  private static final String ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  /** Random data strings per property, on top of {@link #EDGE_CASES}; seeds are fixed per property. */
  private static final int RANDOM_CASES = 1_000;
  private static final int MAX_DATA_LENGTH = 30;
  private static final List<String> EDGE_CASES = List.of(
      "", "0", "1", "Z", "0".repeat(MAX_DATA_LENGTH), "Z".repeat(MAX_DATA_LENGTH),
      ALNUM.substring(0, MAX_DATA_LENGTH), "8644R1");

  @Test
  void computesTheDecisionsExample() {
    // DECISIONS.md: "8644R1" -> "SF", cross-checked in Python.
    assertThat(Mod1271_36.compute("8644R1")).isEqualTo("SF");
    assertThat(Mod1271_36.isValid("8644R1SF")).isTrue();
  }

  @Test
  void emptyDataHasCheckCharacters() {
    assertThat(Mod1271_36.compute("")).isEqualTo("01");
    assertThat(Mod1271_36.isValid("01")).isTrue();
  }

  @Test
  void rejectsCharactersOutsideTheAlphabet() {
    assertThatThrownBy(() -> Mod1271_36.compute("86.44")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> Mod1271_36.compute("8644r1")).isInstanceOf(IllegalArgumentException.class);
    assertThat(Mod1271_36.isValid("8644r1SF")).isFalse();
    assertThat(Mod1271_36.isValid("8644R1sf")).isFalse();
    assertThat(Mod1271_36.isValid("S")).isFalse();
    assertThat(Mod1271_36.isValid("")).isFalse();
  }

  @Test
  void acceptsOnlyTheCanonicalPairWhenTwoPairsSatisfyTheSum() {
    // Check values 0..24 have a second spelling 1271..1295 that also makes the sum 1.
    String data = null;
    int c = -1;
    for (int i = 1; data == null; i++) {
      String candidate = Long.toString(i, 36).toUpperCase();
      String check = Mod1271_36.compute(candidate);
      int value = ALNUM.indexOf(check.charAt(0)) * 36 + ALNUM.indexOf(check.charAt(1));
      if (value < 1295 - 1270) {
        data = candidate;
        c = value;
      }
    }
    int alias = c + Mod1271_36.MODULUS;
    String aliasPair = "" + ALNUM.charAt(alias / 36) + ALNUM.charAt(alias % 36);
    assertThat(Mod1271_36.isValid(data + Mod1271_36.compute(data))).isTrue();
    assertThat(Mod1271_36.isValid(data + aliasPair)).isFalse();
  }

  @Test
  void computeAndVerifyAgree() {
    long seed = 0x1271_0001L;
    List<String> cases = alnum(seed);
    for (int i = 0; i < cases.size(); i++) {
      String data = cases.get(i);
      String context = context(seed, i, data);
      String check = Mod1271_36.compute(data);
      assertThat(check).as(context).hasSize(2);
      assertThat(Mod1271_36.isValid(data + check)).as(context).isTrue();
    }
  }

  @Test
  void everyWrongCheckPairIsRejected() {
    long seed = 0x1271_0002L;
    List<String> cases = alnum(seed);
    for (int n = 0; n < cases.size(); n++) {
      String data = cases.get(n);
      String check = Mod1271_36.compute(data);
      for (int i = 0; i < ALNUM.length(); i++) {
        for (int j = 0; j < ALNUM.length(); j++) {
          String pair = "" + ALNUM.charAt(i) + ALNUM.charAt(j);
          // Plain check rather than AssertJ: this loop runs 1,296 times per case.
          if (Mod1271_36.isValid(data + pair) != pair.equals(check)) {
            throw new AssertionError(context(seed, n, data) + ": isValid(" + data + pair
                + ") should be " + pair.equals(check) + " (check pair " + check + ")");
          }
        }
      }
    }
  }

  @Test
  void detectsEverySubstitutionAndAdjacentTransposition() {
    long seed = 0x1271_0003L;
    List<String> cases = alnum(seed);
    for (int i = 0; i < cases.size(); i++) {
      String data = cases.get(i);
      String context = context(seed, i, data);
      String valid = data + Mod1271_36.compute(data);
      for (String mutated : Mutations.substitutions(valid)) {
        assertThat(Mod1271_36.isValid(mutated)).as("%s: %s", context, mutated).isFalse();
      }
      for (String mutated : Mutations.adjacentTranspositions(valid)) {
        assertThat(Mod1271_36.isValid(mutated)).as("%s: %s", context, mutated).isFalse();
      }
    }
  }

  @Test
  void casesCoverEveryLength() {
    List<String> cases = alnum(0x1271_0001L);
    assertThat(cases).hasSize(EDGE_CASES.size() + RANDOM_CASES)
        .allMatch(s -> s.matches("[0-9A-Z]{0,30}"));
    for (int length = 0; length <= MAX_DATA_LENGTH; length++) {
      int expected = length;
      assertThat(cases.subList(EDGE_CASES.size(), cases.size()))
          .anyMatch(s -> s.length() == expected);
    }
  }

  /** Edge cases, then {@value #RANDOM_CASES} strings over 0-9A-Z of uniform length 0..30 from {@code seed}. */
  private static List<String> alnum(long seed) {
    List<String> result = new ArrayList<>(EDGE_CASES);
    SplittableRandom random = new SplittableRandom(seed);
    for (int i = 0; i < RANDOM_CASES; i++) {
      char[] chars = new char[random.nextInt(MAX_DATA_LENGTH + 1)];
      for (int j = 0; j < chars.length; j++) {
        chars[j] = ALNUM.charAt(random.nextInt(ALNUM.length()));
      }
      result.add(new String(chars));
    }
    return result;
  }

  private static String context(long seed, int index, String data) {
    return "seed=0x" + Long.toHexString(seed) + " case=" + index + " data=\"" + data + "\"";
  }
}
