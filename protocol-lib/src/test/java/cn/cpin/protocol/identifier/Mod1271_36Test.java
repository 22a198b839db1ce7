package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class Mod1271_36Test {

  private static final String ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

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

  @Property
  void computeAndVerifyAgree(@ForAll("alnum") String data) {
    String check = Mod1271_36.compute(data);
    assertThat(check).hasSize(2);
    assertThat(Mod1271_36.isValid(data + check)).isTrue();
  }

  @Property
  void everyWrongCheckPairIsRejected(@ForAll("alnum") String data) {
    String check = Mod1271_36.compute(data);
    for (int i = 0; i < ALNUM.length(); i++) {
      for (int j = 0; j < ALNUM.length(); j++) {
        String pair = "" + ALNUM.charAt(i) + ALNUM.charAt(j);
        assertThat(Mod1271_36.isValid(data + pair)).isEqualTo(pair.equals(check));
      }
    }
  }

  @Property
  void detectsEverySubstitutionAndAdjacentTransposition(@ForAll("alnum") String data) {
    String valid = data + Mod1271_36.compute(data);
    for (String mutated : Mutations.substitutions(valid)) {
      assertThat(Mod1271_36.isValid(mutated)).as(mutated).isFalse();
    }
    for (String mutated : Mutations.adjacentTranspositions(valid)) {
      assertThat(Mod1271_36.isValid(mutated)).as(mutated).isFalse();
    }
  }

  @Provide
  Arbitrary<String> alnum() {
    return Arbitraries.strings().withChars(ALNUM.toCharArray()).ofMinLength(0).ofMaxLength(30);
  }
}
