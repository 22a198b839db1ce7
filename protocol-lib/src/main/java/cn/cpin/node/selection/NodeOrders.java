package cn.cpin.node.selection;

import cn.cpin.aggregation.v1.Resource;
import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.servicecenter.v1.ParticipationKind;
import io.grpc.BindableService;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Orders of one regional or industry node under one set of rules for both node kinds
 * (SEL-014 to SEL-021), on the node's inventory and dedicated lines.
 */
public final class NodeOrders {
  private final OrderBook orders;
  private final EventLog events;

  /** @param resources this node's aggregated inventory: a resource by id */
  public NodeOrders(NodeContext context, IdentifierIssuer issuer, ServiceCenter center,
      DedicatedLineBook lines, Function<String, Optional<Resource>> resources) {
    // Orders are placed at the node that holds the resource: an industry node's resources in a
    // regional node's aggregated view are not bookable there (its capacity is booked at home).
    String self = context.nodeCode().toString();
    Function<String, Optional<Resource>> held = id -> resources.apply(id).filter(r ->
        r.getProvenance().getOriginNodeCode().isEmpty()
            || r.getProvenance().getOriginNodeCode().equals(self));
    this.events = context.events();
    this.orders = new OrderBook(context.store(), context.clock(), center.participants(),
        center.qualifications(), center.demands(), issuer, lines, held);
  }

  public OrderBook orders() {
    return orders;
  }

  /**
   * Starts announcing expiries as they happen (SEL-016): a sweep every second; returns what to
   * close when the node stops.
   */
  public List<AutoCloseable> start() {
    ScheduledExecutorService sweeper = Daemons.scheduler("order-expiry");
    sweeper.scheduleWithFixedDelay(() -> {
      try {
        orders.sweepExpired();
      } catch (RuntimeException e) { // a store hiccup: the next sweep tries again
        events.warn("orders.sweep_failed", "error", e.toString());
      }
    }, 1, 1, TimeUnit.SECONDS);
    return List.of(sweeper::shutdownNow);
  }

  /** The gRPC service of orders. */
  public List<BindableService> services() {
    return List.of(new OrderServiceImpl(orders));
  }

  /**
   * Reports every order event (MON-002): category 9 counts each event by kind, and a
   * confirmation also counts in category 8 (number and value) and, for application service
   * providers, category 10.
   */
  public void reportTo(MonitoringCollector collector) {
    orders.onEvent((event, order, user) -> {
      collector.count(Indicators.ORDER_EVENTS, "1", Map.of("event", event.name()), 1);
      if (event == OrderBook.Event.CONFIRMED) {
        collector.count(Indicators.ORDERS_CONFIRMED, "1", Map.of(), 1);
        collector.count(Indicators.ORDERS_VALUE, order.getTotalPrice().getCurrencyCode(),
            Map.of(), order.getTotalPrice().getMinorUnits());
        if (user != null && user.getKindsList()
            .contains(ParticipationKind.PARTICIPATION_KIND_APPLICATION_SERVICE)) {
          collector.count(Indicators.APPLICATION_ORDERS, "1", Map.of(), 1);
        }
      }
    });
  }
}
