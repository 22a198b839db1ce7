package cn.cpin.node.selection;

import cn.cpin.node.selection.SelectionIndex.Bucket;
import java.util.function.IntPredicate;

/** One constraint of a demand, applied to a chunk of a bucket's rows at a time. */
@FunctionalInterface
interface RowFilter {
  /** Moves the rows of {@code rows[0..n)} that meet the constraint to its front; how many. */
  int keep(Bucket b, int[] rows, int n);

  /**
   * The rows that {@code test} keeps: for the rarely set constraints (windows, budget, offer
   * constraints), whose test per row costs more than the call.
   */
  static int where(int[] rows, int n, IntPredicate test) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += test.test(i) ? 1 : 0;
    }
    return kept;
  }

  // The column tests selection uses, one loop each over primitives: branch-free, and monomorphic
  // for the JIT, which a shared loop calling a predicate per row would not be.

  static int equal(int[] column, int value, int[] rows, int n) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += column[i] == value ? 1 : 0;
    }
    return kept;
  }

  static int atLeast(int[] column, long min, int[] rows, int n) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += column[i] >= min ? 1 : 0;
    }
    return kept;
  }

  static int atLeast(long[] column, long min, int[] rows, int n) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += column[i] >= min ? 1 : 0;
    }
    return kept;
  }

  static int atLeast(double[] column, double min, int[] rows, int n) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += column[i] >= min ? 1 : 0;
    }
    return kept;
  }

  static int atMost(long[] column, long max, int[] rows, int n) {
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += column[i] <= max ? 1 : 0;
    }
    return kept;
  }

  /** Rows whose status is offered (SEL-001) with at least {@code free} units free now. */
  static int offered(Bucket b, long free, int[] rows, int n) {
    final byte[] status = b.status;
    final int[] freeUnits = b.freeUnits;
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += Bucket.offered(status[i]) & freeUnits[i] >= free ? 1 : 0;
    }
    return kept;
  }

  static int priceAtMost(Bucket b, int currency, long max, int[] rows, int n) {
    if (b.soleCurrency != SelectionIndex.MIXED) { // as most buckets: one loop on prices only
      return b.soleCurrency == currency ? atMost(b.price, max, rows, n) : 0;
    }
    short[] currencies = b.currency;
    long[] prices = b.price;
    int kept = 0;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      rows[kept] = i;
      kept += currencies[i] == currency && prices[i] <= max ? 1 : 0;
    }
    return kept;
  }
}
