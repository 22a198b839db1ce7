package cn.cpin.protocol.creditcode;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Properties over arbitrary valid credit codes built from arbitrary first 17 characters. */
class CreditCodePropertiesTest {

  @Property
  void parseAcceptsWhatCheckCharacterBuilds(@ForAll("first17") String first17) {
    String text = first17 + CreditCode.checkCharacter(first17);
    CreditCode code = CreditCode.parse(text);
    assertThat(code).hasToString(text);
    assertThat(code.registrationAuthorityCode()).isEqualTo(text.charAt(0));
    assertThat(code.institutionTypeCode()).isEqualTo(text.charAt(1));
    assertThat(code.divisionCode()).isEqualTo(text.substring(2, 8));
    assertThat(code.organisationCode()).isEqualTo(text.substring(8, 17));
  }

  // Each try checks 18 x 94 substitutions; 300 tries keep the run to a few seconds.
  @Property(tries = 300)
  void everySingleSubstitutionIsDetected(@ForAll("first17") String first17) {
    String valid = first17 + CreditCode.checkCharacter(first17);
    char[] chars = valid.toCharArray();
    for (int i = 0; i < chars.length; i++) {
      for (char c = 0x20; c <= 0x7E; c++) {
        if (c == valid.charAt(i)) {
          continue;
        }
        chars[i] = c;
        String mutated = new String(chars);
        // Plain checks rather than AssertJ: this loop runs 1.7 million times per property.
        if (CreditCode.isValid(mutated)) {
          throw new AssertionError("isValid accepted " + mutated);
        }
        MalformedCreditCodeException.Reason expected = CreditCode.ALPHABET.indexOf(c) >= 0
            ? MalformedCreditCodeException.Reason.CREDIT_CODE_CHECK_MISMATCH
            : MalformedCreditCodeException.Reason.CREDIT_CODE_FORBIDDEN_CHARACTER;
        try {
          CreditCode.parse(mutated);
          throw new AssertionError("parse accepted " + mutated);
        } catch (MalformedCreditCodeException e) {
          if (e.reason() != expected) {
            throw new AssertionError(mutated + ": " + e.reason() + ", expected " + expected);
          }
        }
      }
      chars[i] = valid.charAt(i);
    }
  }

  @Property
  void everyAdjacentTranspositionIsDetected(@ForAll("first17") String first17) {
    String valid = first17 + CreditCode.checkCharacter(first17);
    for (int i = 0; i + 1 < valid.length(); i++) {
      if (valid.charAt(i) != valid.charAt(i + 1)) {
        char[] chars = valid.toCharArray();
        chars[i] = valid.charAt(i + 1);
        chars[i + 1] = valid.charAt(i);
        assertThat(CreditCode.isValid(new String(chars))).isFalse();
      }
    }
  }

  @Provide
  Arbitrary<String> first17() {
    return Arbitraries.strings().withChars(CreditCode.ALPHABET.toCharArray()).ofLength(17);
  }
}
