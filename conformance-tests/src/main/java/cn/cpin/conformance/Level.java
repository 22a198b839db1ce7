package cn.cpin.conformance;

/** The RFC 2119 level of a requirement. */
public enum Level {
  MUST,
  SHOULD
}
