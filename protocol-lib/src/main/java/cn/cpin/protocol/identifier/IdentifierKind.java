package cn.cpin.protocol.identifier;

import java.util.Optional;

/**
 * What an identifier names: the letter between {@code "/"} and {@code "-"} (IDN-001).
 *
 * <p>Letters not listed here are reserved for future versions of the standard; parsing an
 * identifier that uses one fails with {@link MalformedIdentifierException.Reason#IDENTIFIER_UNKNOWN_KIND}.
 */
public enum IdentifierKind {
  /** A participant (provider, user or operator), letter {@code P}. */
  PARTICIPANT('P', 1),
  /** A compute, storage or network resource, letter {@code R}. */
  RESOURCE('R', 2),
  /** A dedicated line, letter {@code L}. */
  DEDICATED_LINE('L', 3),
  /** A demand, letter {@code D}. */
  DEMAND('D', 4),
  /** An order, letter {@code O}. */
  ORDER('O', 5);

  private final char letter;
  private final int number;

  IdentifierKind(char letter, int number) {
    this.letter = letter;
    this.number = number;
  }

  /**
   * Returns this kind's number in {@code cpin.identifier.v1.IdentifierKind}, which the filing
   * log's leaf encoding also uses (IDN-021).
   */
  public int number() {
    return number;
  }

  /** Returns the kind with a {@code cpin.identifier.v1.IdentifierKind} number, if any. */
  public static Optional<IdentifierKind> fromNumber(int number) {
    for (IdentifierKind kind : values()) {
      if (kind.number == number) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }

  /** Returns the upper-case letter that stands for this kind in identifier text. */
  public char letter() {
    return letter;
  }

  /** Returns the kind for a letter, or empty if the letter is not a kind of this version (case-sensitive). */
  public static Optional<IdentifierKind> fromLetter(char letter) {
    for (IdentifierKind kind : values()) {
      if (kind.letter == letter) {
        return Optional.of(kind);
      }
    }
    return Optional.empty();
  }
}
