package cn.cpin.protocol.identifier;

import java.util.ArrayList;
import java.util.List;

/** Every single-character substitution and adjacent transposition of a text, for error-detection tests. */
final class Mutations {

  /**
   * Characters a typo, a bad copy or a confused encoder may put in: all printable ASCII plus
   * look-alikes and non-ASCII characters that case mapping or digit parsing might accept.
   */
  static final List<Character> REPLACEMENTS;

  static {
    List<Character> chars = new ArrayList<>();
    for (char c = 0x20; c <= 0x7E; c++) {
      chars.add(c);
    }
    for (char c : new char[] {
        '\u0000', '\t', '\n', '\u00A0', '\u00E9', '\u00DF', '\u0130', '\u0131', '\u017F', '\u212A',
        '\u0660', '\u0969', '\uFF10', '\uFF11', '\uFF21', '\uFF0F', '\uFF0E', '\u2010', '\u2215',
        '\u200B', '\u4E00', '\uD83D', '\uFFFD'}) {
      chars.add(c);
    }
    REPLACEMENTS = List.copyOf(chars);
  }

  private Mutations() {}

  /** Returns every text that differs from {@code text} in exactly one position. */
  static List<String> substitutions(String text) {
    List<String> result = new ArrayList<>(text.length() * REPLACEMENTS.size());
    char[] chars = text.toCharArray();
    for (int i = 0; i < chars.length; i++) {
      char original = chars[i];
      for (char replacement : REPLACEMENTS) {
        if (replacement != original) {
          chars[i] = replacement;
          result.add(new String(chars));
        }
      }
      chars[i] = original;
    }
    return result;
  }

  /** Returns every text obtained by swapping two adjacent, different characters of {@code text}. */
  static List<String> adjacentTranspositions(String text) {
    List<String> result = new ArrayList<>();
    for (int i = 0; i + 1 < text.length(); i++) {
      if (text.charAt(i) != text.charAt(i + 1)) {
        char[] chars = text.toCharArray();
        chars[i] = text.charAt(i + 1);
        chars[i + 1] = text.charAt(i);
        result.add(new String(chars));
      }
    }
    return result;
  }
}
