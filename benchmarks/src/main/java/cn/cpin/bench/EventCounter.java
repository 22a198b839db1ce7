package cn.cpin.bench;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A node's event log (one JSON object per line), read as it is written: sums the counts of
 * {@code filing.filed} and {@code filing.rejected} events, and keeps the last warnings and errors
 * for the report. Nothing is kept beyond that, so a long run does not grow the heap.
 */
final class EventCounter extends OutputStream {
  private static final Pattern COUNT = Pattern.compile("\"count\":(\\d+)");
  private static final int KEEP = 5;

  private final AtomicLong filed = new AtomicLong();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicLong problems = new AtomicLong();
  private final Deque<String> lastProblems = new ArrayDeque<>();
  private byte[] line = new byte[512];
  private int length;

  PrintStream stream() {
    return new PrintStream(this, true, StandardCharsets.UTF_8);
  }

  long filed() {
    return filed.get();
  }

  /** How many filing.filed events (one per batch accepted by the national node). */
  long batches() {
    return batches.get();
  }

  long rejected() {
    return rejected.get();
  }

  long problems() {
    return problems.get();
  }

  synchronized List<String> lastProblems() {
    return new ArrayList<>(lastProblems);
  }

  @Override
  public synchronized void write(int b) {
    if (b == '\n') {
      String text = new String(line, 0, length, StandardCharsets.UTF_8);
      length = 0;
      onLine(text);
      return;
    }
    if (length == line.length) {
      line = java.util.Arrays.copyOf(line, line.length * 2);
    }
    line[length++] = (byte) b;
  }

  @Override
  public synchronized void write(byte[] b, int off, int len) {
    for (int i = off; i < off + len; i++) {
      write(b[i]);
    }
  }

  private void onLine(String text) {
    if (text.contains("\"event\":\"filing.filed\"")) {
      filed.addAndGet(count(text));
      batches.incrementAndGet();
    } else if (text.contains("\"event\":\"filing.rejected\"")) {
      rejected.addAndGet(count(text));
    }
    if (text.contains("\"level\":\"WARN\"") || text.contains("\"level\":\"ERROR\"")) {
      problems.incrementAndGet();
      if (lastProblems.size() == KEEP) {
        lastProblems.removeFirst();
      }
      lastProblems.addLast(text);
    }
  }

  private static long count(String text) {
    Matcher m = COUNT.matcher(text);
    return m.find() ? Long.parseLong(m.group(1)) : 0;
  }
}
