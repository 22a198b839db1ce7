package cn.cpin.node.selection;

import cn.cpin.protocol.identifier.NodeCode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The public network between provinces as the standard estimates it when a node holds no
 * measurement (SEL-004): RTT = 2 ms + 3 · d / (200 km/ms), d the great-circle distance between
 * provincial capitals (haversine, Earth radius 6,371 km). Provinces are indexed as in
 * {@link NodeCode#provinceCodes()}. Immutable.
 */
public final class NetworkModel {
  private static final double EARTH_RADIUS_KM = 6371;
  private static final double FIBRE_KM_PER_MS = 200;
  private static final double ROUTE_FACTOR_TIMES_TWO = 3; // 1.5 × the straight line, both ways
  private static final double BASE_MS = 2;

  private final List<String> provinces = NodeCode.provinceCodes();
  private final double[][] latencyMs;

  private NetworkModel(double[] lat, double[] lon) {
    int n = provinces.size();
    latencyMs = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        latencyMs[i][j] = BASE_MS + ROUTE_FACTOR_TIMES_TWO * distanceKm(lat[i], lon[i], lat[j],
            lon[j]) / FIBRE_KM_PER_MS;
      }
    }
  }

  /** The defaults for the 31 provinces, from the capitals' coordinates shipped with CPIN. */
  public static NetworkModel defaults() {
    List<String> codes = NodeCode.provinceCodes();
    double[] lat = new double[codes.size()];
    double[] lon = new double[codes.size()];
    boolean[] seen = new boolean[codes.size()];
    try (InputStream in = NetworkModel.class.getResourceAsStream("provinces.csv");
        BufferedReader reader = new BufferedReader(new InputStreamReader(in,
            StandardCharsets.UTF_8))) {
      reader.readLine(); // code,name_zh,name_en,capital_en,lat,lon
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        String[] f = line.split(",");
        int i = codes.indexOf(f[0]);
        if (i >= 0) {
          lat[i] = Double.parseDouble(f[4]);
          lon[i] = Double.parseDouble(f[5]);
          seen[i] = true;
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    for (int i = 0; i < seen.length; i++) {
      if (!seen[i]) {
        throw new IllegalStateException("no coordinates for province " + codes.get(i));
      }
    }
    return new NetworkModel(lat, lon);
  }

  /** The number of provinces. */
  public int size() {
    return provinces.size();
  }

  /** The index of a GB/T 2260 code, or -1. */
  public int index(String province) {
    return provinces.indexOf(province);
  }

  public String code(int index) {
    return provinces.get(index);
  }

  /** Estimated round-trip time in milliseconds between two province indexes. */
  public double latencyMs(int from, int to) {
    return latencyMs[from][to];
  }

  private static double distanceKm(double lat1, double lon1, double lat2, double lon2) {
    double p1 = Math.toRadians(lat1);
    double p2 = Math.toRadians(lat2);
    double dp = p2 - p1;
    double dl = Math.toRadians(lon2 - lon1);
    double a = Math.sin(dp / 2) * Math.sin(dp / 2)
        + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) * Math.sin(dl / 2);
    return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(a)));
  }
}
