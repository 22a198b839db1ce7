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
  PARTICIPANT('P'),
  /** A compute, storage or network resource, letter {@code R}. */
  RESOURCE('R'),
  /** A dedicated line, letter {@code L}. */
  DEDICATED_LINE('L'),
  /** A demand, letter {@code D}. */
  DEMAND('D'),
  /** An order, letter {@code O}. */
  ORDER('O');

  private final char letter;

  IdentifierKind(char letter) {
    this.letter = letter;
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
