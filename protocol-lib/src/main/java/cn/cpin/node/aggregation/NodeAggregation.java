package cn.cpin.node.aggregation;

import cn.cpin.node.Daemons;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.identifier.IdentifierKind;
import io.grpc.BindableService;
import io.grpc.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * System B of one regional or industry node: the inventory, the provider interface and inventory
 * queries both serve, the industry → regional reports a regional node receives, and what runs in
 * the background (the liveness sweep; an industry node's report to its regional node).
 */
public final class NodeAggregation {
  private final NodeContext context;
  private final Inventory inventory;
  private final ResourceIdentifiers identifiers;
  private final ProviderStanding standing;

  /**
   * @param issuer where resource identifiers come from (the regional library, IDN-008)
   * @param standing whether a provider is APPROVED, from the service center
   */
  public NodeAggregation(NodeContext context, IdentifierIssuer issuer, ProviderStanding standing,
      Duration heartbeatInterval) {
    this.context = context;
    this.inventory = new Inventory(context.nodeCode(), context.store(), context.clock(),
        heartbeatInterval);
    this.standing = standing;
    // One request id per (provider, local key): the library answers a repeat with the first
    // identifier, so the mapping is stable even if the node crashed before storing it (AGG-005).
    this.identifiers = (provider, localKey) -> issuer.issue(
        "agg-r-" + Sha256.hex(provider + "\n" + localKey).substring(0, 48),
        IdentifierKind.RESOURCE, provider, Map.of()).toString();
  }

  public Inventory inventory() {
    return inventory;
  }

  /** The gRPC services of system B at this node. */
  public List<BindableService> services() {
    List<BindableService> services = new ArrayList<>();
    services.add(new ProviderInventoryServiceImpl(inventory, identifiers, standing,
        context.clock()));
    services.add(new InventoryServiceImpl(new InventoryQueries(inventory, context.store())));
    if (context.nodeCode().isRegional()) {
      services.add(new NodeAggregationServiceImpl(inventory));
    }
    return services;
  }

  /**
   * Starts the liveness sweep and, at an industry node, the report to its regional node on
   * {@code parent}; returns what to close when the node stops.
   */
  public List<AutoCloseable> start(Channel parent) {
    List<AutoCloseable> running = new ArrayList<>();
    ScheduledExecutorService sweeper = Daemons.scheduler("aggregation-sweep");
    // A tenth of an interval: the bound AGG-007 states for reporting a silent provider upward.
    long period = Math.max(10, inventory.heartbeatInterval().toMillis() / 10);
    sweeper.scheduleWithFixedDelay(inventory::sweep, period, period, TimeUnit.MILLISECONDS);
    running.add(sweeper::shutdownNow);
    if (context.nodeCode().isIndustry()) {
      AggregateUplink uplink = new AggregateUplink(inventory, parent, context.events());
      uplink.start();
      running.add(uplink);
    }
    return running;
  }
}
