package cn.cpin.protocol.identifier;

import cn.cpin.protocol.identifier.MalformedIdentifierException.Reason;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The code of a node in the CPIN hierarchy (IDN-004): national {@code "86"}, regional
 * {@code "86.PP"} or industry {@code "86.PP.S"}.
 *
 * <p>{@code PP} is one of the 31 GB/T 2260 province-level division codes and {@code S} one of the
 * 20 GB/T 4754-2017 sections {@code A..T}. Every allocatable node code has exactly one instance,
 * created when the class loads, so parsing never allocates a node code.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class NodeCode {

  /** The country code every node code starts with. */
  public static final String COUNTRY_CODE = "86";
  /** Length of the longest node code, an industry code such as {@code "86.44.C"}. */
  public static final int MAX_LENGTH = 7;
  /** The first GB/T 4754-2017 section. */
  public static final char FIRST_SECTION = 'A';
  /** The last GB/T 4754-2017 section. */
  public static final char LAST_SECTION = 'T';

  /**
   * The 31 province-level codes of GB/T 2260 (source: shared/data/provinces.csv); embedded rather
   * than read at runtime so that every node and vendor agrees without configuration.
   */
  private static final List<String> PROVINCE_CODES = List.of(
      "11", "12", "13", "14", "15",
      "21", "22", "23",
      "31", "32", "33", "34", "35", "36", "37",
      "41", "42", "43", "44", "45", "46",
      "50", "51", "52", "53", "54",
      "61", "62", "63", "64", "65");

  // Sections A..T of GB/T 4754-2017 (source: shared/data/industries.csv) are the contiguous range
  // FIRST_SECTION..LAST_SECTION, so no list is needed.

  private static final char NO_SECTION = 0;

  private static final NodeCode NATIONAL = new NodeCode(null, null, NO_SECTION);
  private static final Map<String, NodeCode> ALL = new HashMap<>();

  static {
    ALL.put(NATIONAL.text, NATIONAL);
    for (String province : PROVINCE_CODES) {
      NodeCode regional = new NodeCode(NATIONAL, province, NO_SECTION);
      ALL.put(regional.text, regional);
      for (char section = FIRST_SECTION; section <= LAST_SECTION; section++) {
        NodeCode industry = new NodeCode(regional, province, section);
        ALL.put(industry.text, industry);
      }
    }
  }

  private final NodeCode parent;
  private final String province;
  private final char section;
  private final String text;

  private NodeCode(NodeCode parent, String province, char section) {
    this.parent = parent;
    this.province = province;
    this.section = section;
    StringBuilder sb = new StringBuilder(MAX_LENGTH).append(COUNTRY_CODE);
    if (province != null) {
      sb.append('.').append(province);
    }
    if (section != NO_SECTION) {
      sb.append('.').append(section);
    }
    this.text = sb.toString();
  }

  /** Returns the national node code {@code "86"}. */
  public static NodeCode national() {
    return NATIONAL;
  }

  /**
   * Returns the regional node code for a GB/T 2260 province code such as {@code "44"}.
   *
   * @throws MalformedIdentifierException with reason NODE_CODE_MALFORMED if the province is unknown
   */
  public static NodeCode regional(String province) {
    Objects.requireNonNull(province, "province");
    if (!isKnownProvince(province)) {
      throw new MalformedIdentifierException(Reason.NODE_CODE_MALFORMED,
          "province must be one of the 31 GB/T 2260 province codes");
    }
    return ALL.get(COUNTRY_CODE + "." + province);
  }

  /**
   * Returns the industry node code for a province and a GB/T 4754 section {@code A..T}.
   *
   * @throws MalformedIdentifierException with reason NODE_CODE_MALFORMED if either is unknown
   */
  public static NodeCode industry(String province, char section) {
    NodeCode regional = regional(province);
    if (!isKnownSection(section)) {
      throw new MalformedIdentifierException(Reason.NODE_CODE_MALFORMED,
          "section must be a GB/T 4754 section letter A to T");
    }
    return ALL.get(regional.text + "." + section);
  }

  /**
   * Parses a node code in canonical form.
   *
   * @throws MalformedIdentifierException with reason NODE_CODE_MALFORMED if {@code text} is not an
   *     allocatable node code; the message says what is wrong
   */
  public static NodeCode parse(String text) {
    Objects.requireNonNull(text, "text");
    // Bounded length first, so that huge inputs cost nothing.
    if (text.isEmpty()) {
      throw new MalformedIdentifierException(Reason.NODE_CODE_MALFORMED, "node code is empty");
    }
    if (text.length() > MAX_LENGTH) {
      throw new MalformedIdentifierException(Reason.NODE_CODE_MALFORMED,
          "node code is longer than " + MAX_LENGTH + " characters");
    }
    String problem = grammarProblem(text, text.length());
    if (problem == null) {
      problem = allocationProblem(text, text.length());
    }
    if (problem != null) {
      throw new MalformedIdentifierException(Reason.NODE_CODE_MALFORMED, problem);
    }
    return ALL.get(text);
  }

  /** Returns whether {@code text} is an allocatable node code in canonical form. */
  public static boolean isValid(String text) {
    return text != null && text.length() <= MAX_LENGTH && ALL.containsKey(text);
  }

  /** Returns whether {@code code} is one of the 31 GB/T 2260 province codes. */
  public static boolean isKnownProvince(String code) {
    return code != null && PROVINCE_CODES.contains(code);
  }

  /** Returns whether {@code section} is a GB/T 4754-2017 section letter {@code A..T}. */
  public static boolean isKnownSection(char section) {
    return section >= FIRST_SECTION && section <= LAST_SECTION;
  }

  /** Returns the 31 GB/T 2260 province codes in ascending order. */
  public static List<String> provinceCodes() {
    return PROVINCE_CODES;
  }

  /** Returns whether this is the national node code {@code "86"}. */
  public boolean isNational() {
    return province == null;
  }

  /** Returns whether this is a regional node code {@code "86.PP"}. */
  public boolean isRegional() {
    return province != null && section == NO_SECTION;
  }

  /** Returns whether this is an industry node code {@code "86.PP.S"}. */
  public boolean isIndustry() {
    return section != NO_SECTION;
  }

  /** Returns the GB/T 2260 province code, empty for the national node code. */
  public Optional<String> province() {
    return Optional.ofNullable(province);
  }

  /** Returns the GB/T 4754 section letter, present only for industry node codes. */
  public Optional<Character> section() {
    return section == NO_SECTION ? Optional.empty() : Optional.of(section);
  }

  /** Returns the node one level up: regional for industry, national for regional, empty for national. */
  public Optional<NodeCode> parent() {
    return Optional.ofNullable(parent);
  }

  /**
   * Returns the regional node code this node belongs to: itself for a regional code, its parent
   * for an industry code, empty for the national code.
   */
  public Optional<NodeCode> regionalParent() {
    if (isNational()) {
      return Optional.empty();
    }
    return Optional.of(isIndustry() ? parent : this);
  }

  /** Returns the canonical text, e.g. {@code "86.44.C"}. */
  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NodeCode other && text.equals(other.text);
  }

  @Override
  public int hashCode() {
    return text.hashCode();
  }

  /** Returns the node code whose canonical text is {@code s[0, end)}, or null if there is none. */
  static NodeCode lookup(String s, int end) {
    return ALL.get(s.substring(0, end));
  }

  /**
   * Returns why {@code s[0, end)} does not follow the node-code grammar, or null if it does.
   * Province and section are checked for shape only.
   */
  static String grammarProblem(String s, int end) {
    if (end < 2 || s.charAt(0) != '8' || s.charAt(1) != '6') {
      return "node code must start with the country code \"86\"";
    }
    if (end == 2) {
      return null;
    }
    if (s.charAt(2) != '.') {
      return "expected '.' after the country code \"86\" but found " + describe(s.charAt(2));
    }
    if (end < 5 || !isDigit(s.charAt(3)) || !isDigit(s.charAt(4))) {
      return "province code after \"86.\" must be two digits";
    }
    if (end == 5) {
      return null;
    }
    if (s.charAt(5) != '.') {
      return "expected '.' after the province code but found " + describe(s.charAt(5));
    }
    if (end != 7 || s.charAt(6) < 'A' || s.charAt(6) > 'Z') {
      return "industry section after the province code must be one upper-case letter";
    }
    return null;
  }

  /** Returns why grammatical {@code s[0, end)} cannot be allocated, or null if it can. */
  static String allocationProblem(String s, int end) {
    if (end >= 5 && !PROVINCE_CODES.contains(s.substring(3, 5))) {
      return "province " + s.substring(3, 5) + " is not one of the 31 GB/T 2260 province codes";
    }
    if (end == 7 && !isKnownSection(s.charAt(6))) {
      return "section " + s.charAt(6) + " is not a GB/T 4754 section letter A to T";
    }
    return null;
  }

  /** Describes a character for an error message without echoing unprintable or non-ASCII text. */
  static String describe(char c) {
    if (c > 0x20 && c < 0x7F) {
      return "'" + c + "'";
    }
    return String.format("U+%04X", (int) c);
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }
}
