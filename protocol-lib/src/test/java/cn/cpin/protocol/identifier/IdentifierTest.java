package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import cn.cpin.protocol.identifier.MalformedIdentifierException.Reason;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdentifierTest {

  /** Fixed identifiers covering every node-code shape, every kind and the serial extremes. */
  private static final List<Identifier> FIXED = List.of(
      Identifier.of(NodeCode.regional("44"), IdentifierKind.RESOURCE, 1),
      Identifier.of(NodeCode.industry("44", 'C'), IdentifierKind.PARTICIPANT, 36L * 36 * 36 * 36),
      Identifier.of(NodeCode.regional("11"), IdentifierKind.DEDICATED_LINE, 1_000_000L),
      Identifier.of(NodeCode.national(), IdentifierKind.DEMAND, 35),
      Identifier.of(NodeCode.industry("65", 'T'), IdentifierKind.ORDER, Identifier.MAX_SERIAL),
      Identifier.of(NodeCode.industry("12", 'A'), IdentifierKind.RESOURCE, 36),
      Identifier.of(NodeCode.national(), IdentifierKind.PARTICIPANT, Identifier.MAX_SERIAL));

  @Test
  void decisionsExample() {
    Identifier id = Identifier.parse("86.44/R-1SF");
    assertThat(id.nodeCode()).isEqualTo(NodeCode.regional("44"));
    assertThat(id.kind()).isEqualTo(IdentifierKind.RESOURCE);
    assertThat(id.serial()).isEqualTo(1);
    assertThat(id.serialText()).isEqualTo("1");
    assertThat(id.checkCharacters()).isEqualTo("SF");
    assertThat(id).isEqualTo(Identifier.of(NodeCode.regional("44"), IdentifierKind.RESOURCE, 1));
    assertThat(id).hasToString("86.44/R-1SF");
    assertThat(Identifier.isValid("86.44/R-1SF")).isTrue();
  }

  @Test
  void fixedIdentifiersRoundTripAndFitTheLimit() {
    for (Identifier id : FIXED) {
      String text = id.toString();
      assertThat(text).hasSizeLessThanOrEqualTo(Identifier.MAX_LENGTH)
          .matches("86(\\.[0-9]{2}(\\.[A-T])?)?/[PRLDO]-[1-9A-Z][0-9A-Z]{0,11}[0-9A-Z]{2}");
      Identifier parsed = Identifier.parse(text);
      assertThat(parsed).isEqualTo(id).hasSameHashCodeAs(id).hasToString(text);
      assertThat(parsed.nodeCode()).isEqualTo(id.nodeCode());
      assertThat(parsed.kind()).isEqualTo(id.kind());
      assertThat(parsed.serial()).isEqualTo(id.serial());
      assertThat(parsed.checkCharacters()).isEqualTo(id.checkCharacters());
    }
    // The longest possible identifier is exactly the limit.
    assertThat(FIXED.get(4).toString()).hasSize(Identifier.MAX_LENGTH).contains("/O-ZZZZZZZZZZZZ");
  }

  @Test
  void fixedIdentifiersRejectEverySubstitution() {
    for (Identifier id : FIXED) {
      for (String mutated : Mutations.substitutions(id.toString())) {
        assertRejected(mutated);
      }
    }
  }

  @Test
  void fixedIdentifiersRejectEveryAdjacentTransposition() {
    for (Identifier id : FIXED) {
      List<String> transpositions = Mutations.adjacentTranspositions(id.toString());
      assertThat(transpositions).isNotEmpty();
      for (String mutated : transpositions) {
        assertRejected(mutated);
      }
    }
  }

  @Test
  void empty() {
    assertReason("", Reason.IDENTIFIER_EMPTY);
  }

  @Test
  void tooLong() {
    String valid = FIXED.get(4).toString();
    assertReason(valid + "0", Reason.IDENTIFIER_TOO_LONG);
    assertReason("86.44/R-1SF" + " ".repeat(14), Reason.IDENTIFIER_TOO_LONG);
    assertThatThrownBy(() -> Identifier.parse("x".repeat(25))).hasMessageContaining("longer than 24");
  }

  @Test
  void oversizeIsRejectedQuicklyByLength() {
    String tenThousand = "86.44/R-1SF".repeat(910).substring(0, 10_000);
    assertReason(tenThousand, Reason.IDENTIFIER_TOO_LONG);
    String tenMillion = "8".repeat(10_000_000);
    // Length is checked before anything else, so the size of the input does not matter.
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
      for (int i = 0; i < 10_000; i++) {
        assertThat(Identifier.isValid(tenMillion)).isFalse();
        assertThat(Identifier.isValid(tenThousand)).isFalse();
      }
    });
  }

  @ParameterizedTest
  @ValueSource(strings = {"86.44/r-1SF", "86.44/R-1sf", "86.44/R-1Sf", "86.44.c/P-1SF", "86.44/R-a1SF"})
  void lowerCaseIsMalformed(String text) {
    assertReason(text, Reason.IDENTIFIER_MALFORMED);
    assertThatThrownBy(() -> Identifier.parse(text)).hasMessageContaining("upper case");
  }

  @Test
  void leadingZeroSerialIsMalformed() {
    // Even with check characters that are right for the zero-padded text.
    String data = "8644R01";
    assertReason("86.44/R-01" + Mod1271_36.compute(data), Reason.IDENTIFIER_MALFORMED);
    assertReason("86.44/R-0" + "SF", Reason.IDENTIFIER_MALFORMED);
    assertThatThrownBy(() -> Identifier.parse("86.44/R-01SF")).hasMessageContaining("'0'");
  }

  @ParameterizedTest
  @ValueSource(strings = {"86.99/R-1SF", "86.00/R-1SF", "86.10/R-1SF", "86.71/R-1SF", "86.99.A/R-1SF"})
  void unknownProvince(String text) {
    assertReason(text, Reason.IDENTIFIER_UNKNOWN_NODE_CODE);
    assertThatThrownBy(() -> Identifier.parse(text)).hasMessageContaining("GB/T 2260");
  }

  @ParameterizedTest
  @ValueSource(strings = {"86.44.Z/R-1SF", "86.44.U/R-1SF", "86.11.Y/P-123AB"})
  void unknownSection(String text) {
    assertReason(text, Reason.IDENTIFIER_UNKNOWN_NODE_CODE);
    assertThatThrownBy(() -> Identifier.parse(text)).hasMessageContaining("GB/T 4754");
  }

  @Test
  void unknownKind() {
    for (char letter = 'A'; letter <= 'Z'; letter++) {
      String data = "8644" + letter + "1";
      String text = "86.44/" + letter + "-1" + Mod1271_36.compute(data);
      if ("PRLDO".indexOf(letter) >= 0) {
        assertThat(Identifier.parse(text).kind().letter()).isEqualTo(letter);
      } else {
        assertReason(text, Reason.IDENTIFIER_UNKNOWN_KIND);
      }
    }
  }

  @Test
  void checkMismatchDoesNotRevealTheExpectedCharacters() {
    assertReason("86.44/R-1SG", Reason.IDENTIFIER_CHECK_MISMATCH);
    assertReason("86.44/R-1FS", Reason.IDENTIFIER_CHECK_MISMATCH);
    assertThatThrownBy(() -> Identifier.parse("86.44/R-1SG"))
        .hasMessage("check characters do not match the identifier")
        .message().doesNotContain("SF");
  }

  @Test
  void everyWrongCheckPairIsAMismatch() {
    String alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (Identifier id : FIXED) {
      String text = id.toString();
      String body = text.substring(0, text.length() - 2);
      for (char a : alnum.toCharArray()) {
        for (char b : alnum.toCharArray()) {
          String candidate = body + a + b;
          if (!candidate.equals(text)) {
            assertReason(candidate, Reason.IDENTIFIER_CHECK_MISMATCH);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "86", "86.44", "86.44/", "86.44/R", "86.44/R-", "86.44/R-1", "86.44/R-1S", "/R-1SF", "R-1SF",
      "86.44-R/1SF", "86.44/-1SF", "86.44/R1SF", "86.44/RR-1SF", "86.44//R-1SF", "86./R-1SF",
      "86.4/R-1SF", "86.444/R-1SF", "86.44./R-1SF", "86.44.CC/R-1SF", "86.44.1/R-1SF", "8/R-1SF",
      "87/R-1SF", "68.44/R-1SF", "86,44/R-1SF", " 86.44/R-1SF", "86.44/R-1SF ", "86.44/R-1SF\n",
      "86.44/R-1 SF", "86.44/R-1-SF", "86.44/R-1.SF", "86.44/R-1/SF", "86.44/1-1SF", "86.44/-R1SF",
      "86/R-1234567890ABCXY", "86.44/R-\uFF11SF", "86.44/R-1S\u0000", "\u0038\u0036.44/R-1S\u00C9",
      "86.44/\u0130-1SF", "86.44/R-\u0661SF"})
  void grammarViolationsAreMalformed(String text) {
    assertReason(text, Reason.IDENTIFIER_MALFORMED);
  }

  @Test
  void ofRejectsSerialsOutOfRange() {
    NodeCode node = NodeCode.regional("44");
    for (long serial : new long[] {0, -1, Long.MIN_VALUE, Identifier.MAX_SERIAL + 1, Long.MAX_VALUE}) {
      assertThatThrownBy(() -> Identifier.of(node, IdentifierKind.ORDER, serial))
          .isInstanceOf(IllegalArgumentException.class);
    }
    assertThatThrownBy(() -> Identifier.of(null, IdentifierKind.ORDER, 1))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> Identifier.of(node, null, 1)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void nullIsAProgrammingError() {
    assertThatThrownBy(() -> Identifier.parse(null)).isInstanceOf(NullPointerException.class);
    assertThat(Identifier.isValid(null)).isFalse();
  }

  @Test
  void maxSerialIsTwelveZs() {
    assertThat(Long.toString(Identifier.MAX_SERIAL, 36)).isEqualTo("zzzzzzzzzzzz");
    assertThat(Identifier.of(NodeCode.national(), IdentifierKind.ORDER, 36).serialText()).isEqualTo("10");
  }

  @Test
  void reasonNamesMatchTheErrorReasonEnum() {
    // Names must equal cpin.common.v1.ErrorReason values without the ERROR_REASON_ prefix; the
    // codec deliberately does not depend on the generated code, so the names are listed here.
    assertThat(Reason.values()).extracting(Enum::name).containsExactly(
        "IDENTIFIER_EMPTY", "IDENTIFIER_TOO_LONG", "IDENTIFIER_MALFORMED",
        "IDENTIFIER_UNKNOWN_NODE_CODE", "IDENTIFIER_UNKNOWN_KIND", "IDENTIFIER_CHECK_MISMATCH",
        "NODE_CODE_MALFORMED");
  }

  private static void assertReason(String text, Reason expected) {
    assertThatThrownBy(() -> Identifier.parse(text))
        .as("parse(\"%s\")", text)
        .isInstanceOfSatisfying(MalformedIdentifierException.class,
            e -> assertThat(e.reason()).as("reason for \"%s\"", text).isEqualTo(expected))
        .message().isNotBlank();
    assertThat(Identifier.isValid(text)).isFalse();
  }

  private static void assertRejected(String text) {
    try {
      Identifier parsed = Identifier.parse(text);
      throw new AssertionError("accepted mutated text \"" + text + "\" as " + parsed);
    } catch (MalformedIdentifierException expected) {
      assertThat(Identifier.isValid(text)).isFalse();
    }
  }
}
