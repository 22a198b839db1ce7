package cn.cpin.node.selection;

import cn.cpin.node.selection.SelectionIndex.Bucket;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The matched rows of one request: runs of rows of one bucket, each row of a run scanned with
 * dedicated lines also with its line (or -1 for the public network), and the matched set's minimum and maximum of every criterion
 * (SEL-005). Pooled, since a broad demand matches hundreds of thousands of rows.
 */
final class Matches {
  static final int CHUNK = 4096;
  private static final int POOLED = 4;
  private static final int KEPT_ROWS = 4 << 20;
  private static final ConcurrentLinkedQueue<Matches> POOL = new ConcurrentLinkedQueue<>();

  /** Scratch: the rows of the chunk being filtered. */
  final int[] chunk = new int[CHUNK];
  int size;
  int[] row = new int[CHUNK];
  int[] line = new int[CHUNK];
  int runs;
  Bucket[] runBucket = new Bucket[16];
  int[] runEnd = new int[16];
  boolean[] runWithLines = new boolean[16];
  final double[] min = new double[4];
  final double[] max = new double[4];

  static Matches[] take(int parts) {
    Matches[] out = new Matches[parts];
    for (int p = 0; p < parts; p++) {
      Matches m = POOL.poll();
      out[p] = m != null ? m : new Matches();
      out[p].size = 0;
      out[p].runs = 0;
      Arrays.fill(out[p].min, Double.POSITIVE_INFINITY);
      Arrays.fill(out[p].max, Double.NEGATIVE_INFINITY);
    }
    return out;
  }

  static void release(Matches[] parts) {
    for (Matches m : parts) {
      Arrays.fill(m.runBucket, 0, m.runs, null);
      if (m.row.length <= KEPT_ROWS && POOL.size() < POOLED) {
        POOL.offer(m);
      }
    }
  }

  static int total(Matches[] parts) {
    int n = 0;
    for (Matches m : parts) {
      n += m.size;
    }
    return n;
  }

  void ensureRoom(int more) {
    if (size + more > row.length) {
      int n = Math.max(size + more, row.length * 2);
      row = Arrays.copyOf(row, n);
      line = Arrays.copyOf(line, n);
    }
  }

  /**
   * Closes the run of matches of {@code b} that began at {@code first}, if any.
   *
   * @param withLines whether the run's rows have lines (else all are over the public network)
   */
  void endRun(Bucket b, int first, boolean withLines) {
    if (size == first) {
      return;
    }
    if (runs == runBucket.length) {
      runBucket = Arrays.copyOf(runBucket, runs * 2);
      runEnd = Arrays.copyOf(runEnd, runs * 2);
      runWithLines = Arrays.copyOf(runWithLines, runs * 2);
    }
    runWithLines[runs] = withLines;
    runBucket[runs] = b;
    runEnd[runs++] = size;
  }

  /**
   * Adds matched rows of {@code b} reached over the public network, whose latency is the
   * bucket's: the common case, in one tight loop.
   *
   * @param performance the column of the demand's performance criterion
   */
  void addPublic(Bucket b, int[] rows, int n, double[] performance, double latency) {
    if (n == 0) {
      return;
    }
    final long[] price = b.price;
    final int[] uplink = b.uplink;
    long minPrice = Long.MAX_VALUE;
    long maxPrice = Long.MIN_VALUE;
    double minPerformance = Double.POSITIVE_INFINITY;
    double maxPerformance = Double.NEGATIVE_INFINITY;
    int minUplink = Integer.MAX_VALUE;
    int maxUplink = Integer.MIN_VALUE;
    for (int j = 0; j < n; j++) {
      int i = rows[j];
      row[size + j] = i;
      long p = price[i];
      minPrice = Math.min(minPrice, p);
      maxPrice = Math.max(maxPrice, p);
      double f = performance[i];
      minPerformance = f < minPerformance ? f : minPerformance;
      maxPerformance = f > maxPerformance ? f : maxPerformance;
      int u = uplink[i];
      minUplink = Math.min(minUplink, u);
      maxUplink = Math.max(maxUplink, u);
    }
    size += n;
    criterion(Scoring.PRICE, minPrice);
    criterion(Scoring.PRICE, maxPrice);
    criterion(Scoring.PERFORMANCE, minPerformance);
    criterion(Scoring.PERFORMANCE, maxPerformance);
    criterion(Scoring.LATENCY, latency);
    criterion(Scoring.BANDWIDTH, minUplink);
    criterion(Scoring.BANDWIDTH, maxUplink);
  }

  void criterion(int c, double value) {
    min[c] = Math.min(min[c], value);
    max[c] = Math.max(max[c], value);
  }
}
