package cn.cpin.node.selection;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * What one resource (units) or one line (Mbit/s) has booked: one entry per live order, kept in one
 * store record so that a reservation is checked and written with one compare-and-set (SEL-015).
 * An entry whose hold has passed unconfirmed, or whose window has ended, no longer counts.
 * Immutable.
 */
record Bookings(List<Entry> entries) {
  /**
   * One order's booking; {@code holdUntilMillis} 0 means confirmed (binding until the window
   * ends).
   */
  record Entry(String orderId, long amount, long startMillis, long endMillis,
      long holdUntilMillis) {
    boolean liveAt(long now) {
      return endMillis > now && (holdUntilMillis == 0 || holdUntilMillis > now);
    }

    boolean expiredAt(long now) {
      return holdUntilMillis != 0 && holdUntilMillis <= now;
    }
  }

  static final Bookings NONE = new Bookings(List.of());

  static Bookings parse(byte[] bytes) {
    List<Entry> entries = new ArrayList<>();
    for (String line : new String(bytes, StandardCharsets.US_ASCII).split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",");
      entries.add(new Entry(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]),
          Long.parseLong(f[3]), Long.parseLong(f[4])));
    }
    return new Bookings(List.copyOf(entries));
  }

  byte[] encode() {
    StringBuilder out = new StringBuilder();
    for (Entry e : entries) {
      out.append(e.orderId()).append(',').append(e.amount()).append(',').append(e.startMillis())
          .append(',').append(e.endMillis()).append(',').append(e.holdUntilMillis()).append('\n');
    }
    return out.toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** The entries still live at {@code now}. */
  Bookings live(long now) {
    return new Bookings(entries.stream().filter(e -> e.liveAt(now)).toList());
  }

  /** The entries whose hold passed unconfirmed by {@code now}. */
  List<Entry> expired(long now) {
    return entries.stream().filter(e -> e.expiredAt(now)).toList();
  }

  /** The most booked at any instant of [start, end). */
  long peak(long start, long end) {
    TreeMap<Long, Long> delta = new TreeMap<>();
    for (Entry e : entries) {
      long from = Math.max(start, e.startMillis());
      long to = Math.min(end, e.endMillis());
      if (from < to) {
        delta.merge(from, e.amount(), Long::sum);
        delta.merge(to, -e.amount(), Long::sum);
      }
    }
    long level = 0;
    long peak = 0;
    for (long d : delta.values()) {
      level += d;
      peak = Math.max(peak, level);
    }
    return peak;
  }

  java.util.Optional<Entry> find(String orderId) {
    return entries.stream().filter(e -> e.orderId().equals(orderId)).findFirst();
  }

  Bookings with(Entry entry) {
    List<Entry> all = new ArrayList<>(without(entry.orderId()).entries());
    all.add(entry);
    return new Bookings(List.copyOf(all));
  }

  Bookings without(String orderId) {
    return new Bookings(entries.stream().filter(e -> !e.orderId().equals(orderId)).toList());
  }
}
