package cn.cpin.conformance;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/** Runs the {@link Check} methods of bound suites, one after another, and collects the results. */
public final class ConformanceRunner {
  private ConformanceRunner() {}

  /** Runs every check of every suite; never throws for a failing check. */
  public static List<CheckResult> run(List<? extends ConformanceSuite> suites) {
    List<CheckResult> results = new ArrayList<>();
    for (ConformanceSuite suite : suites) {
      for (Method method : checksOf(suite.getClass())) {
        results.add(runCheck(suite, method));
      }
    }
    return results;
  }

  /** The check methods of a suite class and its superclasses, ordered by name for stable output. */
  static List<Method> checksOf(Class<?> type) {
    List<Method> checks = new ArrayList<>();
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.isAnnotationPresent(Check.class)) {
          if (m.getParameterCount() != 0) {
            throw new IllegalStateException("check " + m + " must take no parameters");
          }
          m.setAccessible(true);
          checks.add(m);
        }
      }
    }
    checks.sort(Comparator.comparing(Method::getName));
    return checks;
  }

  private static CheckResult runCheck(ConformanceSuite suite, Method method) {
    Check check = method.getAnnotation(Check.class);
    long start = System.nanoTime();
    Outcome outcome;
    String message = "";
    try {
      method.invoke(suite);
      outcome = Outcome.PASSED;
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof CheckSkipped) {
        outcome = Outcome.SKIPPED;
      } else {
        outcome = check.level() == Level.MUST ? Outcome.FAILED : Outcome.WARNING;
      }
      message = cause instanceof AssertionError || cause instanceof CheckSkipped
          ? String.valueOf(cause.getMessage())
          : cause.toString();
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
    return new CheckResult(suiteName(suite.getClass()), method.getName(), check.title(),
        Arrays.asList(check.requirements()), check.level(), outcome, message,
        Duration.ofNanos(System.nanoTime() - start));
  }

  // Anonymous or nested binding subclasses report under the abstract suite's name.
  private static String suiteName(Class<?> type) {
    Class<?> c = type;
    while (c.getSuperclass() != null && c.getSuperclass() != ConformanceSuite.class
        && (c.isAnonymousClass() || !java.lang.reflect.Modifier.isAbstract(c.getModifiers()))) {
      c = c.getSuperclass();
    }
    return c.getSimpleName();
  }
}
