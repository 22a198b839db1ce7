package cn.cpin.node.selection;

/**
 * SEL-005's score of a match: each criterion min–max normalised over the request's matched set,
 * weighted, and summed in a fixed order, so that equal input gives equal scores.
 *
 * <p>Also an estimate of the score for the ranking's hot loop: with each weight folded into one
 * multiplication it is a few ulps from the score at most, far less than {@link #MARGIN}.
 */
final class Scoring {
  static final int PRICE = 0;
  static final int PERFORMANCE = 1;
  static final int LATENCY = 2;
  static final int BANDWIDTH = 3;
  /** Scores are at most 1 (the weights sum to 1); their estimates are within 1e-14 of them. */
  static final double MARGIN = 1e-9;

  final double[] weights;
  final double[] min;
  final double[] max;
  final boolean network;
  /** The estimate: fixed + weighted latency + Σ (x − origin) × slope over the other three. */
  final double fixed;
  final double priceOrigin;
  final double priceSlope;
  final double performanceOrigin;
  final double performanceSlope;
  final double bandwidthOrigin;
  final double bandwidthSlope;

  /** @param network whether the demand names the user's province (else no network criteria) */
  Scoring(double[] weights, double[] min, double[] max, boolean network) {
    this.weights = weights;
    this.min = min;
    this.max = max;
    this.network = network;
    double constant = 0;
    double[] origin = new double[4];
    double[] slope = new double[4];
    for (int c : new int[] {PRICE, PERFORMANCE, BANDWIDTH}) {
      if (c == BANDWIDTH && !network || max[c] == min[c]) {
        constant += weights[c] * normalized(c, min[c]);
      } else {
        boolean lowerIsBetter = c == PRICE;
        origin[c] = lowerIsBetter ? max[c] : min[c];
        slope[c] = (lowerIsBetter ? -weights[c] : weights[c]) / (max[c] - min[c]);
      }
    }
    fixed = constant;
    priceOrigin = origin[PRICE];
    priceSlope = slope[PRICE];
    performanceOrigin = origin[PERFORMANCE];
    performanceSlope = slope[PERFORMANCE];
    bandwidthOrigin = origin[BANDWIDTH];
    bandwidthSlope = slope[BANDWIDTH];
  }

  /** The criterion's value normalised over the matched set: 1 is the best, 0 the worst. */
  double normalized(int criterion, double x) {
    if ((criterion == LATENCY || criterion == BANDWIDTH) && !network) {
      return 0;
    }
    if (max[criterion] == min[criterion]) {
      return 1;
    }
    boolean lowerIsBetter = criterion == PRICE || criterion == LATENCY;
    double range = max[criterion] - min[criterion];
    return lowerIsBetter ? (max[criterion] - x) / range : (x - min[criterion]) / range;
  }

  double score(double price, double performance, double latency, double bandwidth) {
    double total = 0;
    total += weights[PRICE] * normalized(PRICE, price);
    total += weights[PERFORMANCE] * normalized(PERFORMANCE, performance);
    total += weights[LATENCY] * normalized(LATENCY, latency);
    total += weights[BANDWIDTH] * normalized(BANDWIDTH, bandwidth);
    return total;
  }

  /** The part of the estimate that a bucket's rows over the public network share. */
  double estimateBase(double latency) {
    return fixed + weights[LATENCY] * normalized(LATENCY, latency);
  }
}
