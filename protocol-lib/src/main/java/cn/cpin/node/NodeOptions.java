package cn.cpin.node;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The command line every node program shares (NOD-006), mixed into each node's command.
 *
 * <p>Fields are filled by picocli; {@link NodeRuntime} validates them before anything starts.
 */
public final class NodeOptions {
  @Option(names = "--node-code", paramLabel = "CODE",
      description = "This node's code as allocated by the national node, e.g. 86.44 (regional) "
          + "or 86.44.C (industry). The national stub is always 86.")
  String nodeCode;

  @Option(names = "--listen", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:0",
      description = "Address to serve gRPC on (default: ${DEFAULT-VALUE}; port 0 picks a free one).")
  String listen;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Directory for this node's state (default: ./data/<node code>). "
          + "Only one process may use it at a time.")
  Path dataDir;

  @Option(names = "--parent", paramLabel = "HOST:PORT",
      description = "Endpoint of the node this node reports to: the national node for a regional "
          + "node, its regional node for an industry node.")
  String parent;

  @Option(names = "--national", paramLabel = "HOST:PORT",
      description = "Endpoint of the national node, for enrollment, certificate renewal and the "
          + "revocation feed (default for a regional node: its --parent).")
  String national;

  @Option(names = "--trust-anchor", paramLabel = "PEM",
      description = "The CPIN root certificate(s) to trust, needed on a node's first start "
          + "(afterwards kept in <data dir>/pki). The national stub creates its own root.")
  Path trustAnchor;

  @Option(names = "--enrollment-token-file", paramLabel = "FILE",
      description = "File holding the one-time enrollment token the national operator issued "
          + "for this node code; needed on first start only.")
  Path enrollmentTokenFile;

  @Option(names = "--test-trust-anchor", paramLabel = "PEM",
      description = "TESTING ONLY: also trust this CA, e.g. the conformance suite's test CA so "
          + "that it can present deliberately bad certificates. Logged as a warning.")
  Path testTrustAnchor;

  @Option(names = "--certificate-validity", paramLabel = "DURATION", defaultValue = "PT24H",
      description = "National stub: validity of the node certificates it issues (ISO-8601, "
          + "default: ${DEFAULT-VALUE}); nodes renew at two thirds of it.")
  java.time.Duration certificateValidity;

  @Option(names = "--etcd-endpoints", paramLabel = "URL[,URL...]", split = ",",
      description = "Keep the node's state in etcd instead of the embedded store, e.g. "
          + "http://127.0.0.1:2379. Several replicas of one node share one etcd cluster; each "
          + "still needs its own --data-dir (for its keys) with the node's enrolled credentials.")
  java.util.List<String> etcdEndpoints;

  @Option(names = "--insecure-plaintext-dev",
      description = "DEVELOPMENT ONLY: serve and call plaintext gRPC on loopback addresses, "
          + "without mutual TLS. Logged as a warning at start.")
  boolean insecurePlaintextDev;

  @Option(names = "--monitoring-interval", paramLabel = "DURATION", defaultValue = "PT15S",
      description = "How often the node spools its own monitoring indicators (ISO-8601, default: "
          + "${DEFAULT-VALUE}; MON-002 asks for at most 60 s).")
  java.time.Duration monitoringInterval;

  @Option(names = "--monitoring-spool-max-bytes", paramLabel = "BYTES",
      defaultValue = "1073741824",
      description = "Bound of the monitoring spool's unacknowledged batches (default: "
          + "${DEFAULT-VALUE}); a warning is logged at 80 %%, and when full gauges are dropped "
          + "first (MON-011).")
  long monitoringSpoolMaxBytes;

  @Option(names = "--monitoring-synthetic-points", paramLabel = "N", defaultValue = "0",
      description = "TESTING ONLY: also produce N deterministic monitoring points in categories "
          + "7-10 (see SyntheticSource), resuming after a restart until N are produced.")
  long monitoringSyntheticPoints;

  @Option(names = "--monitoring-synthetic-rate", paramLabel = "PER_SECOND",
      defaultValue = "1000",
      description = "TESTING ONLY: points per second of --monitoring-synthetic-points.")
  long monitoringSyntheticRate;

  @Option(names = "--display-name", paramLabel = "NAME",
      description = "Human-readable node name reported by NodeInfoService.")
  String displayName;

  @Option(names = "--aggregation-heartbeat-interval", paramLabel = "DURATION",
      defaultValue = "PT10S",
      description = "Heartbeat interval asked of providers and industry nodes (ISO-8601, default: "
          + "${DEFAULT-VALUE}); after three silent intervals their resources read OFFLINE "
          + "(AGG-007).")
  java.time.Duration aggregationHeartbeatInterval;

  @Option(names = "--federated-node", paramLabel = "CODE=HOST:PORT",
      description = "Another node that federated selection consults (SEL-010), e.g. one of this "
          + "regional node's industry nodes; repeatable. An industry node always consults its "
          + "regional node.")
  java.util.List<String> federatedNodes = new java.util.ArrayList<>();

  /** The --federated-node entries by node code. */
  public java.util.Map<cn.cpin.protocol.identifier.NodeCode, InetSocketAddress> federatedNodes() {
    java.util.Map<cn.cpin.protocol.identifier.NodeCode, InetSocketAddress> out =
        new java.util.LinkedHashMap<>();
    for (String entry : federatedNodes == null ? java.util.List.<String>of() : federatedNodes) {
      int eq = entry.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("--federated-node must be CODE=HOST:PORT, got '"
            + entry + "'");
      }
      out.put(cn.cpin.protocol.identifier.NodeCode.parse(entry.substring(0, eq)),
          parseAddress("--federated-node", entry.substring(eq + 1)));
    }
    return out;
  }

  public java.time.Duration aggregationHeartbeatInterval() {
    return aggregationHeartbeatInterval == null ? java.time.Duration.ofSeconds(10)
        : aggregationHeartbeatInterval;
  }

  public java.time.Duration certificateValidity() {
    return certificateValidity == null ? java.time.Duration.ofHours(24) : certificateValidity;
  }

  public java.time.Duration monitoringInterval() {
    return monitoringInterval == null ? java.time.Duration.ofSeconds(15) : monitoringInterval;
  }

  public long monitoringSpoolMaxBytes() {
    return monitoringSpoolMaxBytes > 0 ? monitoringSpoolMaxBytes : 1L << 30;
  }

  public long monitoringSyntheticPoints() {
    return monitoringSyntheticPoints;
  }

  public long monitoringSyntheticRate() {
    return monitoringSyntheticRate > 0 ? monitoringSyntheticRate : 1000;
  }

  public Path trustAnchor() {
    return trustAnchor;
  }

  public Path enrollmentTokenFile() {
    return enrollmentTokenFile;
  }

  /** Parses {@code host:port}; a bare port means loopback. */
  public static InetSocketAddress parseAddress(String option, String value) {
    int colon = value.lastIndexOf(':');
    String host = colon < 0 ? "127.0.0.1" : value.substring(0, colon);
    String port = colon < 0 ? value : value.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    try {
      int p = Integer.parseInt(port);
      if (p < 0 || p > 65535 || host.isEmpty()) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(host, p);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          option + " must be HOST:PORT with a port from 0 to 65535, got '" + value + "'");
    }
  }
}
