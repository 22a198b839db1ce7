package cn.cpin.conformance;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a method of a conformance suite as a check of the requirements it names.
 *
 * <p>A check passes by returning, fails by throwing {@link AssertionError} (or any other
 * exception), and is skipped by throwing {@link CheckSkipped}. A failed check of a SHOULD
 * requirement is reported as WARNING.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Check {
  /** Requirement IDs of docs/spec that this check verifies, e.g. {@code "NOD-001"}. */
  String[] requirements();

  /** Whether the requirements are MUST or SHOULD level. */
  Level level() default Level.MUST;

  /** One line saying what is checked. */
  String title();
}
