package cn.cpin.node;

import cn.cpin.node.aggregation.InventoryIndicators;
import cn.cpin.node.aggregation.NodeAggregation;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.monitoring.NodeMonitoring;
import cn.cpin.node.selection.NodeOrders;
import cn.cpin.node.selection.NodeSelection;
import cn.cpin.node.selection.RemoteSelection;
import cn.cpin.node.servicecenter.ParticipantRegistry;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.node.trust.ChildNodeTrust;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.node.trust.ParticipantCertificateIssuer;
import cn.cpin.node.trust.ParticipantCertificateServiceImpl;
import cn.cpin.node.trust.ParticipantRoles;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.BindableService;
import java.util.ArrayList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * What regional and industry nodes share: enrollment with the national node, and the systems both
 * run (A, B, C, F). The two differ in profile, and a regional node adds its own systems.
 */
public class ChildNode implements NodeKind {
  private final NodeProfile profile;
  private final String softwareName;
  private NodeMonitoring monitoring;
  private ServiceCenter serviceCenter;
  private NodeAggregation aggregation;
  private volatile NodeSelection selection;
  private NodeOrders orders;
  private final List<Outbox> outboxes = new ArrayList<>();

  public ChildNode(NodeProfile profile, String softwareName) {
    this.profile = profile;
    this.softwareName = softwareName;
  }

  @Override
  public NodeProfile profile() {
    return profile;
  }

  @Override
  public String softwareName() {
    return softwareName;
  }

  @Override
  public NodeTrust trust(NodeContext context) throws Exception {
    return ChildNodeTrust.open(context);
  }

  @Override
  public List<BindableService> services(NodeContext context, NodeTrust trust) {
    List<BindableService> services = new ArrayList<>();
    // Demands are matched by this node's selection (SVC-013), built below.
    serviceCenter = new ServiceCenter(context, identifierIssuer(context, trust),
        (demand, max) -> selection == null ? List.of() : selection.match(demand, max),
        () -> outboxes.forEach(Outbox::wake));
    services.addAll(serviceCenter.services());
    aggregation = new NodeAggregation(context, identifierIssuer(context, trust),
        serviceCenter.participants()::checkApproved,
        context.options().aggregationHeartbeatInterval());
    services.addAll(aggregation.services());
    if (trust != null) {
      services.add(new ParticipantCertificateServiceImpl(
          new ParticipantCertificateIssuer(context.nodeCode(),
              () -> trust.issuingCa().orElseThrow(() -> new IllegalStateException(
                  "node " + context.nodeCode() + " has no issuing CA")),
              serviceCenter.participants()),
          trust::trustAnchors));
    }
    try {
      monitoring = NodeMonitoring.open(context);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot open the monitoring spool: " + e.getMessage(), e);
    }
    new InventoryIndicators(aggregation.inventory()).reportTo(monitoring.collector());
    serviceCenter.reportTo(monitoring.collector(), context.nodeCode());
    selection = new NodeSelection(context, serviceCenter, aggregation.inventory(),
        identifierIssuer(context, trust), monitoring.collector());
    services.addAll(selection.services());
    orders = new NodeOrders(context, identifierIssuer(context, trust), serviceCenter,
        selection.lines(), aggregation.inventory()::get);
    services.addAll(orders.services());
    selection.selector().followBookings(orders.orders());
    orders.reportTo(monitoring.collector());
    return services;
  }

  /**
   * Where this node's systems get identifiers: an industry node from its regional node
   * (IDN-008); a regional node overrides this with its own library.
   */
  protected IdentifierIssuer identifierIssuer(NodeContext context, NodeTrust trust) {
    return IdentifierIssuer.throughParent(() -> ((ChildNodeTrust) trust).parentChannel());
  }

  /** System A of this node; available once {@link #services} has run. */
  protected ServiceCenter serviceCenter() {
    return serviceCenter;
  }

  @Override
  public ParticipantRoles participantRoles() {
    return participant -> serviceCenter == null ? java.util.Set.of()
        : serviceCenter.rolesOf(participant);
  }

  /** System B of this node (AGG); available once {@link #services} has run. */
  protected NodeAggregation aggregation() {
    return aggregation;
  }

  /** System C of this node (SEL); available once {@link #services} has run. */
  protected NodeSelection selection() {
    return selection;
  }

  /** System E of this node (MON); available once {@link #services} has run. */
  protected NodeMonitoring monitoring() {
    return monitoring;
  }

  @Override
  public List<AutoCloseable> started(NodeContext context, NodeTrust trust, String endpoint)
      throws Exception {
    ChildNodeTrust child = (ChildNodeTrust) trust;
    List<AutoCloseable> running = new ArrayList<>(monitoring.start(child.parentChannel()));
    running.addAll(orders.start());
    // SEC-013: certificates of suspended participants into the national revocation feed.
    outboxes.add(new Outbox("participant-revocations", context.store(),
        ParticipantRegistry.REVOCATIONS, ParticipantDelivery.revocations(child.nationalChannel()),
        context.events()));
    if (context.nodeCode().isIndustry()) {
      // SVC-017: the regional node keeps a current copy of this node's participants.
      outboxes.add(new Outbox("participant-reports", context.store(),
          ParticipantRegistry.REPORTS, ParticipantDelivery.reports(child.parentChannel()),
          context.events()));
    }
    outboxes.forEach(Outbox::start);
    running.addAll(outboxes);
    running.addAll(aggregation.start(child.parentChannel()));
    running.addAll(federateSelection(context, child));
    return running;
  }

  // SEL-010: an industry node consults its regional node; any node its --federated-node entries.
  private List<AutoCloseable> federateSelection(NodeContext context, ChildNodeTrust child)
      throws javax.net.ssl.SSLException {
    Map<String, io.grpc.Channel> nodes = new java.util.LinkedHashMap<>();
    List<AutoCloseable> channels = new ArrayList<>();
    if (context.nodeCode().isIndustry()) {
      nodes.put(context.nodeCode().parent().orElseThrow().toString(), child.parentChannel());
    }
    for (var peer : context.options().federatedNodes().entrySet()) {
      io.grpc.ManagedChannel channel = child.channelTo(peer.getValue(), peer.getKey());
      channels.add(channel::shutdownNow);
      nodes.put(peer.getKey().toString(), channel);
    }
    Map<String, io.grpc.Channel> fixed = Map.copyOf(nodes);
    selection.selector().setRemoteNodes(new RemoteSelection(() -> fixed));
    return channels;
  }
}
