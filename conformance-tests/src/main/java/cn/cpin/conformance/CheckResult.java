package cn.cpin.conformance;

import java.time.Duration;
import java.util.List;

/**
 * What one check found.
 *
 * @param suite simple name of the suite class
 * @param check method name of the check
 * @param title what the check verifies
 * @param requirements requirement IDs the check verifies
 * @param level MUST or SHOULD
 * @param outcome PASSED, FAILED, WARNING or SKIPPED
 * @param message why it failed or was skipped; empty when passed
 * @param elapsed how long the check took
 */
public record CheckResult(String suite, String check, String title, List<String> requirements,
    Level level, Outcome outcome, String message, Duration elapsed) {}
