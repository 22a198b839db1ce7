package cn.cpin.conformance;

import java.util.Objects;

/** The few assertions checks need; failures are {@link AssertionError}s with a clear message. */
final class Assertions {
  private Assertions() {}

  static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  static void equal(String what, Object expected, Object actual) {
    if (!Objects.equals(expected, actual)) {
      throw new AssertionError(what + ": expected " + expected + ", got " + actual);
    }
  }
}
