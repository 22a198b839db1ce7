package cn.cpin.protocol.creditcode;

import cn.cpin.protocol.creditcode.MalformedCreditCodeException.Reason;
import java.util.Arrays;
import java.util.Objects;

/**
 * A GB 32100-2015 Unified Social Credit Code (统一社会信用代码), e.g. {@code 91440300708461136T}
 * (SVC-001).
 *
 * <p>Eighteen characters from {@value #ALPHABET} (digits and upper-case letters without I, O, S,
 * V and Z): registration authority (position 1), institution type (2), administrative division
 * (3-8), organisation code (9-17) and a check character (18). Position {@code i} of the first 17
 * has weight {@code 3^(i-1) mod 31}; the check character has value {@code 31 - (sum mod 31)}, with
 * 31 written as 0.
 *
 * <p>Only the canonical upper-case form is accepted: lower case is rejected as
 * {@link Reason#CREDIT_CODE_FORBIDDEN_CHARACTER} rather than normalised, so that one participant
 * cannot be registered under two spellings.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class CreditCode {

  /** Number of characters in a credit code. */
  public static final int LENGTH = 18;
  /** The GB 32100 character set in value order (0..30). */
  public static final String ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";

  private static final int MODULUS = 31;
  private static final int[] WEIGHTS = new int[LENGTH - 1];
  private static final int[] VALUES = new int[128];

  static {
    int weight = 1;
    for (int i = 0; i < WEIGHTS.length; i++) {
      WEIGHTS[i] = weight;
      weight = weight * 3 % MODULUS;
    }
    Arrays.fill(VALUES, -1);
    for (int v = 0; v < ALPHABET.length(); v++) {
      VALUES[ALPHABET.charAt(v)] = v;
    }
  }

  private final String text;

  private CreditCode(String text) {
    this.text = text;
  }

  /**
   * Parses a credit code in canonical (upper-case) form.
   *
   * <p>Checks in this order, reporting the first failure: length, characters, check character.
   *
   * @throws MalformedCreditCodeException if {@code text} is not a valid credit code
   */
  public static CreditCode parse(String text) {
    Objects.requireNonNull(text, "text");
    if (text.length() != LENGTH) {
      throw new MalformedCreditCodeException(Reason.CREDIT_CODE_WRONG_LENGTH,
          "credit code must have " + LENGTH + " characters" + foundLength(text.length()));
    }
    checkCharacters(text, LENGTH);
    if (computeCheck(text) != text.charAt(LENGTH - 1)) {
      // Never reveal the expected check character.
      throw new MalformedCreditCodeException(Reason.CREDIT_CODE_CHECK_MISMATCH,
          "check character (position 18) does not match the credit code");
    }
    return new CreditCode(text);
  }

  /** Returns whether {@code text} is a valid credit code in canonical form; never throws. */
  public static boolean isValid(String text) {
    if (text == null || text.length() != LENGTH) {
      return false;
    }
    for (int i = 0; i < LENGTH; i++) {
      if (value(text.charAt(i)) < 0) {
        return false;
      }
    }
    return computeCheck(text) == text.charAt(LENGTH - 1);
  }

  /**
   * Returns the check character for the first 17 characters of a credit code.
   *
   * @throws MalformedCreditCodeException if {@code first17} does not have 17 characters or
   *     contains a character outside the alphabet
   */
  public static char checkCharacter(CharSequence first17) {
    Objects.requireNonNull(first17, "first17");
    if (first17.length() != LENGTH - 1) {
      throw new MalformedCreditCodeException(Reason.CREDIT_CODE_WRONG_LENGTH,
          "expected the first " + (LENGTH - 1) + " characters of a credit code"
              + foundLength(first17.length()));
    }
    checkCharacters(first17, LENGTH - 1);
    return computeCheck(first17);
  }

  /** Returns the registration authority code (position 1), e.g. {@code '9'} for market regulation. */
  public char registrationAuthorityCode() {
    return text.charAt(0);
  }

  /** Returns the institution type code (position 2), e.g. {@code '1'} for an enterprise. */
  public char institutionTypeCode() {
    return text.charAt(1);
  }

  /** Returns the GB/T 2260 administrative division code of the registering authority (positions 3-8). */
  public String divisionCode() {
    return text.substring(2, 8);
  }

  /** Returns the subject identification (organisation) code (positions 9-17). */
  public String organisationCode() {
    return text.substring(8, 17);
  }

  /** Returns the check character (position 18). */
  public char checkCharacter() {
    return text.charAt(LENGTH - 1);
  }

  /** Returns the canonical 18-character text. */
  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CreditCode other && text.equals(other.text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  private static int value(char c) {
    return c < VALUES.length ? VALUES[c] : -1;
  }

  /** Assumes the first 17 characters are in the alphabet. */
  private static char computeCheck(CharSequence s) {
    int sum = 0;
    for (int i = 0; i < LENGTH - 1; i++) {
      sum += value(s.charAt(i)) * WEIGHTS[i];
    }
    int check = MODULUS - sum % MODULUS;
    return ALPHABET.charAt(check == MODULUS ? 0 : check);
  }

  private static void checkCharacters(CharSequence s, int length) {
    for (int i = 0; i < length; i++) {
      char c = s.charAt(i);
      if (value(c) >= 0) {
        continue;
      }
      String position = " at position " + (i + 1);
      String message;
      if (c >= 'a' && c <= 'z') {
        message = "credit codes are upper case, found lower-case '" + c + "'" + position;
      } else if (c == 'I' || c == 'O' || c == 'S' || c == 'V' || c == 'Z') {
        message = "'" + c + "'" + position
            + " is not in the GB 32100 alphabet (I, O, S, V and Z are never used)";
      } else {
        message = describe(c) + position + " is not in the GB 32100 alphabet";
      }
      throw new MalformedCreditCodeException(Reason.CREDIT_CODE_FORBIDDEN_CHARACTER, message);
    }
  }

  private static String foundLength(int length) {
    return ", found " + length;
  }

  private static String describe(char c) {
    if (c > 0x20 && c < 0x7F) {
      return "'" + c + "'";
    }
    return String.format("U+%04X", (int) c);
  }
}
