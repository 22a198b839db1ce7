package cn.cpin.protocol.identifier;

/**
 * ISO/IEC 7064 MOD 1271-36: the pure check-character system that protects identifiers (IDN-002).
 *
 * <p>Data and check characters are {@code 0-9} (values 0..9) and upper-case {@code A-Z} (values
 * 10..35). Two check characters detect every single-character substitution and every transposition
 * of two adjacent characters, because the modulus 1271 = 31·41 is coprime to 36 and to 35; the
 * hybrid MOD 37,36 system was not chosen because it misses some adjacent transpositions.
 *
 * <p>Stateless and thread-safe.
 */
public final class Mod1271_36 {

  /** The modulus of the system. */
  public static final int MODULUS = 1271;
  /** The radix: number of distinct characters. */
  public static final int RADIX = 36;

  private static final String CHARACTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

  private Mod1271_36() {}

  /**
   * Returns the two check characters for {@code data}.
   *
   * @throws IllegalArgumentException if {@code data} contains a character other than {@code 0-9}
   *     or upper-case {@code A-Z}
   */
  public static String compute(CharSequence data) {
    int p = 0;
    for (int i = 0; i < data.length(); i++) {
      int a = valueAt(data, i);
      if (a < 0) {
        throw new IllegalArgumentException(
            "character at position " + (i + 1) + " is not 0-9 or upper-case A-Z");
      }
      p = ((p + a) * RADIX) % MODULUS;
    }
    p = (p * RADIX) % MODULUS;
    int c = (MODULUS - p + 1) % MODULUS;
    return new String(new char[] {CHARACTERS.charAt(c / RADIX), CHARACTERS.charAt(c % RADIX)});
  }

  /**
   * Returns whether the last two characters of {@code dataWithCheck} are the check characters of
   * the characters before them.
   *
   * <p>Uses the verification form of the standard (the weighted sum including the check characters
   * is 1 modulo 1271) and, because two characters can express values up to 1295, additionally
   * requires the check pair to be below 1271 so that exactly one pair, the one {@link #compute}
   * returns, is accepted. Returns false for text shorter than two characters or containing a
   * character other than {@code 0-9} or upper-case {@code A-Z}.
   */
  public static boolean isValid(CharSequence dataWithCheck) {
    int n = dataWithCheck.length();
    if (n < 2) {
      return false;
    }
    int p = 0;
    for (int i = 0; i < n; i++) {
      int a = valueAt(dataWithCheck, i);
      if (a < 0) {
        return false;
      }
      p = (p * RADIX + a) % MODULUS;
    }
    int checkValue = valueAt(dataWithCheck, n - 2) * RADIX + valueAt(dataWithCheck, n - 1);
    return p == 1 && checkValue < MODULUS;
  }

  /** Returns the value of an upper-case alphanumeric character, or -1 for any other character. */
  static int value(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'Z') {
      return c - 'A' + 10;
    }
    return -1;
  }

  private static int valueAt(CharSequence s, int i) {
    return value(s.charAt(i));
  }
}
