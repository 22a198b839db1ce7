package cn.cpin.node.selection;

import cn.cpin.node.selection.SelectionIndex.Bucket;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The matched rows of one request and the matched set's minimum and maximum of every criterion
 * (SEL-005), in segments of rows of one bucket. A segment scanned with dedicated lines has a line
 * (or -1 for the public network) for each row; one over the public network, a chunk's matches,
 * has instead its best price, performance and bandwidth, so that ranking can pass over segments
 * that cannot reach its best-list. Pooled, since a broad demand matches hundreds of thousands of
 * rows.
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
  int segments;
  Bucket[] segmentBucket = new Bucket[16];
  int[] segmentEnd = new int[16];
  boolean[] segmentWithLines = new boolean[16];
  double[] lowestPrice = new double[16];
  double[] highestPerformance = new double[16];
  double[] highestBandwidth = new double[16];
  final double[] min = new double[4];
  final double[] max = new double[4];

  static Matches[] take(int parts) {
    Matches[] out = new Matches[parts];
    for (int p = 0; p < parts; p++) {
      Matches m = POOL.poll();
      out[p] = m != null ? m : new Matches();
      out[p].size = 0;
      out[p].segments = 0;
      Arrays.fill(out[p].min, Double.POSITIVE_INFINITY);
      Arrays.fill(out[p].max, Double.NEGATIVE_INFINITY);
    }
    return out;
  }

  static void release(Matches[] parts) {
    for (Matches m : parts) {
      Arrays.fill(m.segmentBucket, 0, m.segments, null);
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

  /** The first row of segment {@code s}. */
  int segmentStart(int s) {
    return s == 0 ? 0 : segmentEnd[s - 1];
  }

  /** Closes the segment of matches of {@code b}, with lines, that began at {@code first}. */
  void endSegmentWithLines(Bucket b, int first) {
    if (size > first) {
      endSegment(b, true, Double.NaN, Double.NaN, Double.NaN);
    }
  }

  /**
   * Adds matched rows of {@code b} reached over the public network, whose latency is the
   * bucket's, as one segment: the common case, in one tight loop.
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
    endSegment(b, false, minPrice, maxPerformance, maxUplink);
  }

  /** Whether values in {@code [lowest, highest]} leave criterion {@code c}'s range as it is. */
  boolean within(int c, double lowest, double highest) {
    return lowest >= min[c] && highest <= max[c];
  }

  /**
   * As {@link #addPublic}, for rows whose values are known to lie within the ranges seen so far
   * ({@link #within}): only the rows are copied, and the segment's best values are the given
   * bounds of them.
   */
  void addWithin(Bucket b, int[] rows, int n, double lowestPrice, double highestPerformance,
      double highestBandwidth) {
    if (n == 0) {
      return;
    }
    System.arraycopy(rows, 0, row, size, n);
    size += n;
    endSegment(b, false, lowestPrice, highestPerformance, highestBandwidth);
  }

  void criterion(int c, double value) {
    min[c] = Math.min(min[c], value);
    max[c] = Math.max(max[c], value);
  }

  private void endSegment(Bucket b, boolean withLines, double price, double performance,
      double bandwidth) {
    if (segments == segmentBucket.length) {
      int n = segments * 2;
      segmentBucket = Arrays.copyOf(segmentBucket, n);
      segmentEnd = Arrays.copyOf(segmentEnd, n);
      segmentWithLines = Arrays.copyOf(segmentWithLines, n);
      lowestPrice = Arrays.copyOf(lowestPrice, n);
      highestPerformance = Arrays.copyOf(highestPerformance, n);
      highestBandwidth = Arrays.copyOf(highestBandwidth, n);
    }
    segmentBucket[segments] = b;
    segmentEnd[segments] = size;
    segmentWithLines[segments] = withLines;
    lowestPrice[segments] = price;
    highestPerformance[segments] = performance;
    highestBandwidth[segments++] = bandwidth;
  }
}
