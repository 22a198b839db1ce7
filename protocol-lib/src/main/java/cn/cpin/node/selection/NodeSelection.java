package cn.cpin.node.selection;

import cn.cpin.aggregation.v1.Resource;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.node.aggregation.Inventory;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.servicecenter.DemandBook;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.DedicatedLine;
import cn.cpin.selection.v1.DedicatedLineStatus;
import cn.cpin.selection.v1.SelectResourcesRequest;
import io.grpc.BindableService;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * System C of one regional or industry node: selection over the node's aggregated inventory, kept
 * current by the inventory's change notifications, and the dedicated lines it uses (flow 11).
 */
public final class NodeSelection implements DemandBook.DemandMatcher {
  private static final int PAGE = 10_000;
  private final Selector selector;
  private final DedicatedLineBook lines;
  private final ServiceCenter serviceCenter;
  private final MonitoringCollector monitoring;

  public NodeSelection(NodeContext context, ServiceCenter serviceCenter, Inventory inventory,
      IdentifierIssuer issuer, MonitoringCollector monitoring) {
    this.serviceCenter = serviceCenter;
    this.monitoring = monitoring;
    this.lines = new DedicatedLineBook(context.store(), context.clock(),
        serviceCenter.participants(), issuer, id -> inventory.get(id).isPresent());
    this.selector = new Selector(NetworkModel.defaults(), inventory::get, lines::openLines,
        context.clock(), context.nodeCode().toString());
    inventory.onChange(ids -> ids.forEach(id -> refresh(inventory, id)));
    // What the inventory held before this node started serving, a page at a time.
    String after = "";
    for (List<Resource> page = inventory.list(Inventory.Filter.ALL, after, PAGE);
        !page.isEmpty(); page = inventory.list(Inventory.Filter.ALL, after, PAGE)) {
      page.forEach(selector::update);
      after = page.get(page.size() - 1).getResourceId();
    }
    monitoring.gauge(Indicators.LINES_OPEN, "1", () -> List.of(new MonitoringCollector.Sample(
        Map.of(), lines.openLines().size())));
    monitoring.gauge(Indicators.LINES_BANDWIDTH, "Mbit/s", () -> List.of(
        new MonitoringCollector.Sample(Map.of(), lines.openLines().stream()
            .filter(l -> l.getStatus() == DedicatedLineStatus.DEDICATED_LINE_STATUS_OPEN)
            .mapToLong(DedicatedLine::getAvailableBandwidthMbps).sum())));
  }

  private void refresh(Inventory inventory, String id) {
    Optional<Resource> current = inventory.get(id);
    if (current.isPresent()) {
      selector.update(current.get());
    } else {
      selector.remove(id);
    }
  }

  public Selector selector() {
    return selector;
  }

  public DedicatedLineBook lines() {
    return lines;
  }

  /** The services of system C this class serves. */
  public List<BindableService> services() {
    return List.of(new SelectionServiceImpl(selector, serviceCenter, response -> {
      monitoring.count(Indicators.SELECTIONS, "1", Map.of(), 1);
      if (response.getPartial().getPartial()) {
        monitoring.count(Indicators.SELECTIONS_PARTIAL, "1", Map.of(), 1);
      }
    }), new DedicatedLineServiceImpl(lines));
  }

  /** SVC-013: a demand's candidates from this node's own inventory. */
  @Override
  public List<Candidate> match(cn.cpin.servicecenter.v1.Demand demand, int max) {
    monitoring.count(Indicators.SELECTIONS, "1", Map.of(), 1);
    return selector.select(SelectResourcesRequest.newBuilder()
        .setConstraints(demand.getConstraints()).setPreferences(demand.getPreferences())
        .setMaxCandidates(max).build(), false).getCandidatesList();
  }
}
