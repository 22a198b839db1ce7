package cn.cpin.national;

import cn.cpin.node.Daemons;
import cn.cpin.node.NodeContext;
import cn.cpin.node.NodeKind;
import cn.cpin.node.monitoring.MonitoringReceiver;
import cn.cpin.node.monitoring.MonitoringUplinkServiceImpl;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.protocol.filing.TreeHeadSigner;
import io.grpc.BindableService;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/** The national stub as a node kind: root of trust, node codes, revocation feed. */
final class NationalNode implements NodeKind {
  // Background work of the revocation feed, stopped with the node (see started).
  private final List<AutoCloseable> background = new ArrayList<>();

  @Override
  public NodeProfile profile() {
    return NodeProfile.NATIONAL;
  }

  @Override
  public String softwareName() {
    return "cpin-national-stub";
  }

  @Override
  public NodeTrust trust(NodeContext context) throws Exception {
    return NationalTrust.open(context);
  }

  @Override
  public List<BindableService> services(NodeContext context, NodeTrust trust) {
    List<BindableService> services = new ArrayList<>();
    NodeRegistry registry = new NodeRegistry(context.store(), context.clock());
    services.add(new NodeCodeServiceImpl(registry));
    services.add(new PrefixServiceImpl(new PrefixRegistry(context.store(), registry,
        context.clock())));
    MonitoringArchive monitoring = new MonitoringArchive(context.store(), context.nodeCode());
    services.add(new MonitoringUplinkServiceImpl(new MonitoringReceiver(context.nodeCode(),
        monitoring, context.clock())));
    services.add(new MonitoringQueryServiceImpl(monitoring));
    if (trust instanceof NationalTrust national) {
      KeyPair logKey;
      try {
        logKey = national.filingLogKey();
      } catch (Exception e) {
        throw new IllegalStateException("cannot load the filing log key: " + e.getMessage(), e);
      }
      services.add(new FilingServiceImpl(new FilingLog(context.store(), new TreeHeadSigner(logKey),
          context.clock())));
      services.add(new EnrollmentServiceImpl(new EnrollmentAuthority(registry, national.root(),
          context.store(), national.validity(), logKey.getPublic())));
      ScheduledExecutorService heartbeats = Daemons.scheduler("revocation-heartbeat");
      RevocationFeed feed = new RevocationFeed(context.store(), context.revocations(),
          context.clock());
      services.add(new RevocationServiceImpl(feed, heartbeats));
      background.add(heartbeats::shutdownNow);
      background.add(feed);
    }
    return services;
  }

  @Override
  public List<AutoCloseable> started(NodeContext context, NodeTrust trust, String endpoint) {
    return List.copyOf(background);
  }
}
