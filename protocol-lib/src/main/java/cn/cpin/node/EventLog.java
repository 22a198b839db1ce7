package cn.cpin.node;

import java.io.PrintStream;
import java.time.Instant;
import java.util.Objects;

/**
 * Structured event log: one JSON object per line per significant event (NOD-004), so operators
 * can grep and ship it without a parser for free text.
 *
 * <p>Fields: {@code ts}, {@code level}, {@code node}, {@code event}, then the event's own
 * key/value pairs. Thread-safe: each line is written with one call.
 */
public final class EventLog {
  /** Event severity. */
  public enum Level { INFO, WARN, ERROR }

  /** Receives every event once it is written, e.g. to report security events (MON-010). */
  @FunctionalInterface
  public interface Listener {
    void logged(Level level, String event, Object[] keyValues);
  }

  private final String node;
  private final PrintStream out;
  private final java.util.List<Listener> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  public EventLog(String node, PrintStream out) {
    this.node = Objects.requireNonNull(node, "node");
    this.out = Objects.requireNonNull(out, "out");
  }

  public void info(String event, Object... keyValues) {
    log(Level.INFO, event, keyValues);
  }

  public void warn(String event, Object... keyValues) {
    log(Level.WARN, event, keyValues);
  }

  public void error(String event, Object... keyValues) {
    log(Level.ERROR, event, keyValues);
  }

  /** Logs {@code event} with alternating keys and values; a value may be any object. */
  public void log(Level level, String event, Object... keyValues) {
    if (keyValues.length % 2 != 0) {
      throw new IllegalArgumentException("keys and values must come in pairs");
    }
    StringBuilder line = new StringBuilder(128);
    line.append("{\"ts\":\"").append(Instant.now()).append('"');
    append(line, "level", level.name());
    append(line, "node", node);
    append(line, "event", event);
    for (int i = 0; i < keyValues.length; i += 2) {
      append(line, String.valueOf(keyValues[i]), keyValues[i + 1]);
    }
    line.append('}');
    out.println(line);
    for (Listener listener : listeners) {
      listener.logged(level, event, keyValues);
    }
  }

  /** Adds a listener; it runs on the logging thread and must not block. */
  public void addListener(Listener listener) {
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  private static void append(StringBuilder line, String key, Object value) {
    line.append(",\"");
    escape(line, key);
    line.append("\":");
    if (value instanceof Number || value instanceof Boolean) {
      line.append(value);
    } else {
      line.append('"');
      escape(line, String.valueOf(value));
      line.append('"');
    }
  }

  private static void escape(StringBuilder out, String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
  }
}
