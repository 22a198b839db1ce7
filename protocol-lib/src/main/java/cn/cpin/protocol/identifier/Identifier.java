package cn.cpin.protocol.identifier;

import cn.cpin.protocol.identifier.MalformedIdentifierException.Reason;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A CPIN identifier such as {@code 86.44/R-1SF} (IDN-001, IDN-002): the code of the issuing node,
 * a kind letter, a base-36 serial and two ISO/IEC 7064 MOD 1271-36 check characters.
 *
 * <pre>
 * identifier = node-code "/" kind "-" serial check
 * serial     = nzalnum 0*11alnum   ; base-36 upper case, 1..12 characters, no leading zero
 * check      = 2alnum              ; MOD 1271-36 over the alphanumeric characters, separators skipped
 * </pre>
 *
 * <p>There is exactly one text per identifier (upper case, at most {@value #MAX_LENGTH}
 * characters); {@link #parse} accepts nothing else, so two identifiers are equal exactly when their
 * texts are.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class Identifier {

  /** Maximum length of identifier text; longer input is rejected before any other work. */
  public static final int MAX_LENGTH = 24;
  /** Maximum number of base-36 digits in a serial. */
  public static final int MAX_SERIAL_LENGTH = 12;
  /** The largest serial, {@code 36^12 - 1} ("ZZZZZZZZZZZZ"). */
  public static final long MAX_SERIAL = 4_738_381_338_321_616_895L;

  private static final int CHECK_LENGTH = 2;

  private final NodeCode nodeCode;
  private final IdentifierKind kind;
  private final long serial;
  private final String text;
  private final String checkCharacters;

  private Identifier(NodeCode nodeCode, IdentifierKind kind, long serial, String checkCharacters) {
    this.nodeCode = nodeCode;
    this.kind = kind;
    this.serial = serial;
    this.checkCharacters = checkCharacters;
    this.text = nodeCode + "/" + kind.letter() + "-" + serialText(serial) + checkCharacters;
  }

  /**
   * Returns the identifier for a node code, kind and serial, computing its check characters.
   *
   * @throws IllegalArgumentException if {@code serial} is not in {@code 1..MAX_SERIAL}
   */
  public static Identifier of(NodeCode nodeCode, IdentifierKind kind, long serial) {
    Objects.requireNonNull(nodeCode, "nodeCode");
    Objects.requireNonNull(kind, "kind");
    if (serial < 1 || serial > MAX_SERIAL) {
      throw new IllegalArgumentException("serial must be between 1 and " + MAX_SERIAL + ": " + serial);
    }
    String data = checkInput(nodeCode, kind, serial);
    return new Identifier(nodeCode, kind, serial, Mod1271_36.compute(data));
  }

  /**
   * Parses canonical identifier text.
   *
   * <p>Checks in this order, reporting the first failure: empty, longer than {@value #MAX_LENGTH}
   * characters, grammar (including upper case and no leading zero in the serial), node code
   * allocatable, kind defined, check characters.
   *
   * @throws MalformedIdentifierException if {@code text} is not a canonical identifier
   */
  public static Identifier parse(String text) {
    Objects.requireNonNull(text, "text");
    Parsed parsed = tryParse(text);
    if (parsed.identifier == null) {
      throw new MalformedIdentifierException(parsed.reason, parsed.message);
    }
    return parsed.identifier;
  }

  /** Returns whether {@code text} is a canonical identifier; never throws. */
  public static boolean isValid(String text) {
    return text != null && tryParse(text).identifier != null;
  }

  /** Returns the code of the node that issued this identifier. */
  public NodeCode nodeCode() {
    return nodeCode;
  }

  /** Returns what this identifier names. */
  public IdentifierKind kind() {
    return kind;
  }

  /** Returns the serial, between 1 and {@link #MAX_SERIAL}. */
  public long serial() {
    return serial;
  }

  /** Returns the serial as upper-case base-36 text without leading zeros. */
  public String serialText() {
    return serialText(serial);
  }

  /** Returns the two MOD 1271-36 check characters. */
  public String checkCharacters() {
    return checkCharacters;
  }

  /** Returns the canonical text, e.g. {@code "86.44/R-1SF"}. */
  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Identifier other
        && serial == other.serial
        && kind == other.kind
        && nodeCode.equals(other.nodeCode);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  private static String serialText(long serial) {
    return Long.toString(serial, 36).toUpperCase(Locale.ROOT);
  }

  /** The check input: the identifier's alphanumeric characters in order, separators skipped. */
  private static String checkInput(NodeCode nodeCode, IdentifierKind kind, long serial) {
    StringBuilder sb = new StringBuilder(MAX_LENGTH);
    String node = nodeCode.toString();
    for (int i = 0; i < node.length(); i++) {
      if (node.charAt(i) != '.') {
        sb.append(node.charAt(i));
      }
    }
    return sb.append(kind.letter()).append(serialText(serial)).toString();
  }

  private static Parsed tryParse(String s) {
    int n = s.length();
    // Bounded length first, so that huge inputs cost nothing.
    if (n == 0) {
      return Parsed.failure(Reason.IDENTIFIER_EMPTY, "identifier is empty");
    }
    if (n > MAX_LENGTH) {
      return Parsed.failure(Reason.IDENTIFIER_TOO_LONG,
          "identifier is longer than " + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      if (c >= 'a' && c <= 'z') {
        return malformed("identifiers are upper case, found lower-case '" + c + "' at position "
            + (i + 1));
      }
    }

    // Grammar: node-code "/" kind "-" serial check
    int slash = s.indexOf('/');
    if (slash < 0) {
      return malformed("missing '/' between the node code and the kind");
    }
    String nodeProblem = NodeCode.grammarProblem(s, slash);
    if (nodeProblem != null) {
      return malformed(nodeProblem);
    }
    if (slash + 1 >= n) {
      return malformed("missing kind letter after '/'");
    }
    char kindLetter = s.charAt(slash + 1);
    if (kindLetter < 'A' || kindLetter > 'Z') {
      return malformed("kind after '/' must be one upper-case letter but found "
          + NodeCode.describe(kindLetter));
    }
    int dash = slash + 2;
    if (dash >= n || s.charAt(dash) != '-') {
      return malformed("expected '-' after the kind letter");
    }
    int serialStart = dash + 1;
    int serialLength = n - serialStart - CHECK_LENGTH;
    if (serialLength < 1) {
      return malformed("expected a serial and two check characters after '-'");
    }
    if (serialLength > MAX_SERIAL_LENGTH) {
      return malformed("serial is longer than " + MAX_SERIAL_LENGTH + " characters");
    }
    for (int i = serialStart; i < n; i++) {
      if (Mod1271_36.value(s.charAt(i)) < 0) {
        return malformed("serial and check characters must be 0-9 or A-Z but found "
            + NodeCode.describe(s.charAt(i)) + " at position " + (i + 1));
      }
    }
    if (s.charAt(serialStart) == '0') {
      return malformed("serial must not start with '0'");
    }

    // Semantics: node code allocatable, kind defined, check characters.
    String allocationProblem = NodeCode.allocationProblem(s, slash);
    if (allocationProblem != null) {
      return Parsed.failure(Reason.IDENTIFIER_UNKNOWN_NODE_CODE, allocationProblem);
    }
    NodeCode nodeCode = NodeCode.lookup(s, slash);
    Optional<IdentifierKind> kind = IdentifierKind.fromLetter(kindLetter);
    if (kind.isEmpty()) {
      return Parsed.failure(Reason.IDENTIFIER_UNKNOWN_KIND,
          "kind '" + kindLetter + "' is not defined; kinds are P, R, L, D and O");
    }
    long serial = Long.parseLong(s, serialStart, serialStart + serialLength, 36);
    String check = s.substring(n - CHECK_LENGTH);
    // Compare with the computed pair rather than only verifying the sum, so that the one canonical
    // pair is accepted (two characters can also express 1271..1295).
    if (!Mod1271_36.compute(checkInput(nodeCode, kind.get(), serial)).equals(check)) {
      // Never reveal the expected check characters.
      return Parsed.failure(Reason.IDENTIFIER_CHECK_MISMATCH,
          "check characters do not match the identifier");
    }
    return new Parsed(new Identifier(nodeCode, kind.get(), serial, check), null, null);
  }

  private static Parsed malformed(String message) {
    return Parsed.failure(Reason.IDENTIFIER_MALFORMED, message);
  }

  private record Parsed(Identifier identifier, Reason reason, String message) {
    static Parsed failure(Reason reason, String message) {
      return new Parsed(null, reason, message);
    }
  }
}
