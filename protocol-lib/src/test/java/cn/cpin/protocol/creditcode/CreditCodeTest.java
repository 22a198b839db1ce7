package cn.cpin.protocol.creditcode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.creditcode.MalformedCreditCodeException.Reason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CreditCodeTest {

  /**
   * Published codes of well-known companies (national enterprise credit information publicity
   * system); each also checked against an independent implementation of the algorithm.
   */
  @ParameterizedTest
  @ValueSource(strings = {
      "914403001922038216", // Huawei Technologies Co., Ltd.
      "91440300708461136T", // Shenzhen Tencent Computer Systems Co., Ltd.
      "91110000802100433B", // Beijing Baidu Netcom Science and Technology Co., Ltd.
      "91440300192317458F", // BYD Company Limited
      "9144030027939873X7", // ZTE Corporation
      "91440300100012316L", // Ping An Insurance (Group) Company of China, Ltd.
      "9144030010001686XA", // China Merchants Bank Co., Ltd.
      "91440606722473344C", // Midea Group Co., Ltd.
      "91110000710926094P", // China Petroleum & Chemical Corporation (Sinopec)
  })
  void publishedCodesAreValid(String text) {
    CreditCode code = CreditCode.parse(text);
    assertThat(code).hasToString(text);
    assertThat(CreditCode.isValid(text)).isTrue();
    assertThat(CreditCode.checkCharacter(text.substring(0, 17))).isEqualTo(text.charAt(17));
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "91110108MA01C3K2X", // enterprise, Haidian district, Beijing, new-style organisation code
      "12100000400000624", // public institution registered by a central authority
      "52440300MA5DH7Q1P", // private non-enterprise unit, Shenzhen
      "91310115MA1K3YJ20", // enterprise, Pudong, Shanghai
      "93510100MAC2XWLQ5", // farmers' cooperative, Chengdu
      "91440300MA5F00008", // sum is a multiple of 31, so the check value 31 is written as 0
  })
  void constructedCodesAreValid(String first17) {
    char check = CreditCode.checkCharacter(first17);
    assertThat(CreditCode.ALPHABET).contains(String.valueOf(check));
    CreditCode code = CreditCode.parse(first17 + check);
    assertThat(code.checkCharacter()).isEqualTo(check);
    assertThat(CreditCode.isValid(first17 + check)).isTrue();
  }

  @Test
  void checkValueThirtyOneIsWrittenAsZero() {
    assertThat(CreditCode.checkCharacter("91440300MA5F00008")).isEqualTo('0');
    assertThat(CreditCode.checkCharacter("91110000802100433")).isEqualTo('B');
    assertThat(CreditCode.checkCharacter("12100000400000624")).isEqualTo('D');
  }

  @Test
  void accessorsSplitTheCode() {
    CreditCode code = CreditCode.parse("91440300708461136T");
    assertThat(code.registrationAuthorityCode()).isEqualTo('9');
    assertThat(code.institutionTypeCode()).isEqualTo('1');
    assertThat(code.divisionCode()).isEqualTo("440300");
    assertThat(code.organisationCode()).isEqualTo("708461136");
    assertThat(code.checkCharacter()).isEqualTo('T');
    assertThat(code).isEqualTo(CreditCode.parse("91440300708461136T"))
        .isNotEqualTo(CreditCode.parse("914403001922038216"));
  }

  @Test
  void everyWrongCheckCharacterIsAMismatch() {
    for (String valid : List.of("914403001922038216", "91440300708461136T", "91440300MA5F000080")) {
      int mismatches = 0;
      for (char c : CreditCode.ALPHABET.toCharArray()) {
        if (c != valid.charAt(17)) {
          assertReason(valid.substring(0, 17) + c, Reason.CREDIT_CODE_CHECK_MISMATCH);
          mismatches++;
        }
      }
      assertThat(mismatches).isEqualTo(30);
    }
    assertThatThrownBy(() -> CreditCode.parse("914403001922038217"))
        .hasMessage("check character (position 18) does not match the credit code");
  }

  @Test
  void wrongLengths() {
    String valid = "91440300708461136T";
    assertReason("", Reason.CREDIT_CODE_WRONG_LENGTH);
    assertReason(valid.substring(0, 17), Reason.CREDIT_CODE_WRONG_LENGTH);
    assertReason(valid + "0", Reason.CREDIT_CODE_WRONG_LENGTH);
    assertReason("0" + valid, Reason.CREDIT_CODE_WRONG_LENGTH);
    assertReason(" " + valid, Reason.CREDIT_CODE_WRONG_LENGTH);
    assertReason("9".repeat(10_000), Reason.CREDIT_CODE_WRONG_LENGTH);
    assertThatThrownBy(() -> CreditCode.parse(valid.substring(0, 17)))
        .hasMessageContaining("18 characters").hasMessageContaining("17");
  }

  @Test
  void forbiddenLettersInEveryPosition() {
    String valid = "914403001922038216";
    for (char forbidden : new char[] {'I', 'O', 'S', 'V', 'Z'}) {
      for (int i = 0; i < 18; i++) {
        String text = valid.substring(0, i) + forbidden + valid.substring(i + 1);
        assertReason(text, Reason.CREDIT_CODE_FORBIDDEN_CHARACTER);
        assertThatThrownBy(() -> CreditCode.parse(text))
            .hasMessageContaining("'" + forbidden + "'")
            .hasMessageContaining("position " + (i + 1));
      }
    }
  }

  @Test
  void otherForbiddenCharacters() {
    for (String text : List.of("9144030070846113 T", "91440300-08461136T", "91440300708461136\u0000",
        "91440300\uFF17\uFF10\uFF18461136T", "9144030070846113\u00C9T", "91440300708461136*")) {
      assertReason(text, Reason.CREDIT_CODE_FORBIDDEN_CHARACTER);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"91440300708461136t", "9144030010001686xa", "91440300ma5f000080", "a1440300708461136T"})
  void lowerCaseIsForbidden(String text) {
    assertReason(text, Reason.CREDIT_CODE_FORBIDDEN_CHARACTER);
    assertThatThrownBy(() -> CreditCode.parse(text)).hasMessageContaining("upper case");
  }

  @Test
  void checkCharacterRejectsBadInput() {
    assertThatThrownBy(() -> CreditCode.checkCharacter("9144030070846113"))
        .isInstanceOfSatisfying(MalformedCreditCodeException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.CREDIT_CODE_WRONG_LENGTH));
    assertThatThrownBy(() -> CreditCode.checkCharacter("91440300708461136T"))
        .isInstanceOfSatisfying(MalformedCreditCodeException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.CREDIT_CODE_WRONG_LENGTH));
    assertThatThrownBy(() -> CreditCode.checkCharacter("9144030070846113O"))
        .isInstanceOfSatisfying(MalformedCreditCodeException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.CREDIT_CODE_FORBIDDEN_CHARACTER));
  }

  @Test
  void nullIsAProgrammingError() {
    assertThatThrownBy(() -> CreditCode.parse(null)).isInstanceOf(NullPointerException.class);
    assertThat(CreditCode.isValid(null)).isFalse();
  }

  @Test
  void adjacentTranspositionsAreDetected() {
    // Weights 3^(i-1) mod 31 make adjacent transpositions of different characters detectable too,
    // including the last data character with the check character.
    List<String> mutated = new ArrayList<>();
    String valid = "91440300708461136T";
    for (int i = 0; i < 17; i++) {
      if (valid.charAt(i) != valid.charAt(i + 1)) {
        char[] chars = valid.toCharArray();
        chars[i] = valid.charAt(i + 1);
        chars[i + 1] = valid.charAt(i);
        mutated.add(new String(chars));
      }
    }
    assertThat(mutated).hasSizeGreaterThan(10);
    assertThat(mutated).noneMatch(CreditCode::isValid);
  }

  @Test
  void reasonNamesMatchTheErrorReasonEnum() {
    assertThat(Reason.values()).extracting(Enum::name).containsExactly(
        "CREDIT_CODE_WRONG_LENGTH", "CREDIT_CODE_FORBIDDEN_CHARACTER", "CREDIT_CODE_CHECK_MISMATCH");
  }

  private static void assertReason(String text, Reason expected) {
    assertThatThrownBy(() -> CreditCode.parse(text))
        .as("parse(\"%s\")", text)
        .isInstanceOfSatisfying(MalformedCreditCodeException.class,
            e -> assertThat(e.reason()).as("reason for \"%s\"", text).isEqualTo(expected));
    assertThat(CreditCode.isValid(text)).isFalse();
  }
}
