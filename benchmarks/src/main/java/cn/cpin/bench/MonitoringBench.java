package cn.cpin.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * (m) Monitoring uplink throughput (MON-012, target ≥ 200,000 points/s over one stream): a
 * {@link MonitoringSender} process, as node 86.44, appends batches to a spool as fast as its
 * exporter drains it over one ExportMonitoringData stream (mTLS) to the national node running in
 * this process, which stores each group of batches durably before acknowledging them. Sender and
 * receiver run in separate processes, as deployed, so each may get a core. Spool on: the
 * production spool (embedded store, fsync per batch). Baseline, same run, alternating phases: the
 * same spool code on a store in memory (no sender-side disk). The figures are points acknowledged
 * per second of wall time and per CPU-second of both processes together. Points are the synthetic
 * source's (indicator, category, source, time, value, unit, province) with
 * {@code --monitoring-attributes} attributes each (default 0).
 */
final class MonitoringBench {
  static final double TARGET = 200_000;

  /**
   * Per phase, spool on and spool off alternating: points acknowledged per second of wall time,
   * and per CPU-second of the sender and the receiver process together.
   */
  record Figures(List<Double> spooled, List<Double> baseline, List<Double> spooledPerCpu,
      List<Double> baselinePerCpu, int batchSize) {}

  /** One phase's figures. */
  private record Phase(double perSecond, double perCpuSecond, double senderCpu,
      double receiverCpu) {}

  private MonitoringBench() {}

  static Figures run(Federation federation, Path dir, int batchSize, int attributes,
      double warmupSeconds, double phaseSeconds, int pairs, PrintStream out) throws Exception {
    Process sender = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
        .toString(), "-Xmx2g", "-cp", System.getProperty("java.class.path"),
        MonitoringSender.class.getName(), Integer.toString(federation.nationalAddress().getPort()),
        federation.regionalDir().toString(), federation.trustAnchorsFile().toString(),
        dir.toString(), Integer.toString(batchSize), Integer.toString(attributes),
        Double.toString(warmupSeconds), Double.toString(phaseSeconds), Integer.toString(pairs))
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<Integer, Phase> phases = new HashMap<>();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(
        sender.getInputStream(), StandardCharsets.UTF_8))) {
      long receiverCpuAtBegin = 0;
      for (String line; (line = lines.readLine()) != null; ) {
        String[] f = line.trim().split(" ");
        if (f[0].equals("begin")) {
          receiverCpuAtBegin = processCpuNanos();
        } else if (f[0].equals("end")) {
          double receiverCpu = (processCpuNanos() - receiverCpuAtBegin) / 1e9;
          double points = Double.parseDouble(f[2]);
          double seconds = Double.parseDouble(f[3]);
          double senderCpu = Double.parseDouble(f[4]);
          phases.put(Integer.parseInt(f[1]), seconds <= 0 ? new Phase(0, 0, 0, 0)
              : new Phase(points / seconds, points / (senderCpu + receiverCpu),
                  senderCpu / seconds, receiverCpu / seconds));
        }
      }
    } finally {
      if (!sender.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)) {
        sender.destroyForcibly();
      }
    }
    List<Double> on = new ArrayList<>();
    List<Double> off = new ArrayList<>();
    List<Double> onCpu = new ArrayList<>();
    List<Double> offCpu = new ArrayList<>();
    for (int p = 0; p < pairs; p++) {
      Phase a = phases.getOrDefault(2 + 2 * p, new Phase(0, 0, 0, 0));
      Phase b = phases.getOrDefault(3 + 2 * p, new Phase(0, 0, 0, 0));
      on.add(a.perSecond());
      off.add(b.perSecond());
      onCpu.add(a.perCpuSecond());
      offCpu.add(b.perCpuSecond());
      out.printf(Locale.ROOT, "  pair %d: spool on %,.0f points/s (%,.0f per CPU-s; cores busy: "
          + "sender %.2f, receiver %.2f), spool in memory %,.0f points/s (%,.0f per CPU-s; "
          + "sender %.2f, receiver %.2f), ratio %.2f%n", p + 1, a.perSecond(), a.perCpuSecond(),
          a.senderCpu(), a.receiverCpu(), b.perSecond(), b.perCpuSecond(), b.senderCpu(),
          b.receiverCpu(), a.perSecond() / b.perSecond());
    }
    return new Figures(on, off, onCpu, offCpu, batchSize);
  }

  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }
}
