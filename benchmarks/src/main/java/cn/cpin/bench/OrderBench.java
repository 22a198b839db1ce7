package cn.cpin.bench;

import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.TimeWindow;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.node.selection.DedicatedLineBook;
import cn.cpin.node.selection.OrderBook;
import cn.cpin.node.servicecenter.ParticipantRegistry;
import cn.cpin.node.servicecenter.ServiceCenter;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.selection.v1.Order;
import cn.cpin.selection.v1.OrderStatus;
import cn.cpin.selection.v1.ReleaseOrderRequest;
import cn.cpin.selection.v1.ReserveOrderRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import com.google.protobuf.util.Timestamps;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * (o) Order throughput under contention (issue 7, SEL-015): many threads reserve one-unit,
 * one-hour slots of a few small resources through {@link OrderBook} on the node's durable
 * embedded store, each holding a few orders and releasing its oldest to reserve another, so that
 * they compete for the same booking records and capacity (many reservations are refused). The
 * baseline, in the same run, gives every thread a resource of its own (no contention, never
 * full). Afterwards every order is read back, and no slot was ever seen held by more orders than
 * it has units: the double-booking count must be 0.
 */
final class OrderBench {
  static final NodeCode NODE = NodeCode.regional("44");
  static final int SLOTS = 4;

  record Phase(double reservationsPerSecond, double refusalsPerSecond, long reservations) {}

  record Figures(List<Phase> contended, List<Phase> uncontended, long ordersChecked,
      long doubleBooked) {}

  private OrderBench() {}

  static Figures run(Path dir, int threads, int resources, int unitsEach, int heldEach,
      double seconds, int pairs, PrintStream out) throws Exception {
    try (KeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("orders.mv"))) {
      Clock clock = Clock.systemUTC();
      AtomicLong serials = new AtomicLong();
      Map<String, Identifier> issued = new ConcurrentHashMap<>();
      IdentifierIssuer issuer = (requestId, kind, owner, attributes) -> issued.computeIfAbsent(
          requestId, r -> Identifier.of(NODE, kind, serials.incrementAndGet()));
      ServiceCenter center = new ServiceCenter(new NodeContext(NODE, dir, null, store, null,
          clock, null), issuer, (demand, max) -> List.of(), () -> { });
      Map<String, Resource> inventory = new ConcurrentHashMap<>();
      DedicatedLineBook lines = new DedicatedLineBook(store, clock, center.participants(),
          issuer, inventory::containsKey);
      OrderBook book = new OrderBook(store, clock, center.participants(),
          center.qualifications(), center.demands(), issuer, lines,
          id -> Optional.ofNullable(inventory.get(id)));
      List<Identifier> users = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        users.add(approvedUser(center, i));
      }
      List<Resource> shared = new ArrayList<>();
      for (int i = 0; i < resources; i++) {
        shared.add(resource(inventory, serials, unitsEach));
      }
      List<Resource> own = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        own.add(resource(inventory, serials, heldEach)); // never full
      }
      long base = (clock.millis() / 3_600_000 + 1) * 3_600_000;
      ConcurrentLinkedQueue<Held> history = new ConcurrentLinkedQueue<>();
      List<Phase> contended = new ArrayList<>();
      List<Phase> uncontended = new ArrayList<>();
      double each = seconds / (2 * pairs);
      // Warm-up, then alternating phases so that drift of the shared machine hits both.
      phase(book, users, t -> shared, base, heldEach, each, history, "warm-up");
      for (int p = 0; p < pairs; p++) {
        contended.add(phase(book, users, t -> shared, base, heldEach, each, history,
            "p" + p + "c"));
        uncontended.add(phase(book, users, t -> List.of(own.get(t)), base, heldEach, each,
            history, "p" + p + "u"));
        out.printf("  pair %d: contended %.0f reservations/s (%.0f refused/s), own resource "
            + "%.0f reservations/s (%.0f refused/s)%n", p,
            contended.get(p).reservationsPerSecond(), contended.get(p).refusalsPerSecond(),
            uncontended.get(p).reservationsPerSecond(),
            uncontended.get(p).refusalsPerSecond());
      }
      // Zero double booking: every order read back; and per resource and slot, the orders
      // seen held at the same moment (from reserve's return to release's call, a sub-interval
      // of when the store held them) never exceed the units.
      CpinIdentity operator = CpinIdentity.operator(NODE);
      long checked = 0;
      Map<String, TreeMap<Long, Long>> levels = new java.util.HashMap<>();
      Map<String, Long> units = new java.util.HashMap<>();
      for (Held h : history) {
        Order o = book.get(operator, Identifier.parse(h.orderId()));
        if (o.getStatus() != OrderStatus.ORDER_STATUS_RELEASED) {
          throw new IllegalStateException("order " + h.orderId() + " is " + o.getStatus());
        }
        checked++;
        String key = o.getResourceId() + "@" + h.slot();
        units.put(key, (long) inventory.get(o.getResourceId()).getCapacity().getTotalUnits());
        TreeMap<Long, Long> level = levels.computeIfAbsent(key, k -> new TreeMap<>());
        level.merge(h.fromNanos(), 1L, Long::sum);
        level.merge(h.toNanos(), -1L, Long::sum);
      }
      long doubleBooked = 0;
      for (Map.Entry<String, TreeMap<Long, Long>> level : levels.entrySet()) {
        long held = 0;
        for (long delta : level.getValue().values()) {
          held += delta;
          if (held > units.get(level.getKey())) {
            doubleBooked++;
          }
        }
      }
      return new Figures(contended, uncontended, checked, doubleBooked);
    }
  }

  /** An order as one thread saw it held: from reserve's return until it called release. */
  record Held(String orderId, long slot, long fromNanos, long toNanos) {}

  // Each thread keeps at most heldEach orders, releasing its oldest to reserve another, and
  // releases the rest at the end.
  private static Phase phase(OrderBook book, List<Identifier> users,
      java.util.function.IntFunction<List<Resource>> resourcesOf, long base, int heldEach,
      double seconds, ConcurrentLinkedQueue<Held> history, String tag) throws Exception {
    int threads = users.size();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    AtomicLong reserved = new AtomicLong();
    AtomicLong refused = new AtomicLong();
    long end = System.nanoTime() + (long) (seconds * 1e9);
    long started = System.nanoTime();
    List<Future<?>> done = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      done.add(pool.submit(() -> {
        Random random = new Random(31L * thread + tag.hashCode());
        Identifier user = users.get(thread);
        CpinIdentity as = CpinIdentity.participant(NODE, user);
        List<Resource> mine = resourcesOf.apply(thread);
        java.util.ArrayDeque<Held> holding = new java.util.ArrayDeque<>();
        for (long i = 0; System.nanoTime() < end; i++) {
          if (holding.size() >= heldEach) {
            release(book, as, holding.poll(), tag + "-r-" + thread + "-" + i, history);
          }
          Resource r = mine.get(random.nextInt(mine.size()));
          long slot = random.nextInt(SLOTS);
          long from = base + slot * 3_600_000L;
          try {
            Order o = book.reserve(as, ReserveOrderRequest.newBuilder()
                .setRequestId(tag + "-" + thread + "-" + i).setUserId(user.toString())
                .setResourceId(r.getResourceId()).setUnitCount(1)
                .setTimeWindow(TimeWindow.newBuilder()
                    .setStartTime(Timestamps.fromMillis(from))
                    .setEndTime(Timestamps.fromMillis(from + 3_600_000L)))
                .build());
            holding.add(new Held(o.getOrderId(), slot, System.nanoTime(), 0));
            reserved.incrementAndGet();
          } catch (CpinException e) {
            if (e.kind() != CpinException.Kind.FAILED_PRECONDITION) {
              throw e;
            }
            refused.incrementAndGet();
            if (!holding.isEmpty()) { // gives up its oldest, so capacity keeps moving
              release(book, as, holding.poll(), tag + "-g-" + thread + "-" + i, history);
            }
          }
        }
        int n = 0;
        while (!holding.isEmpty()) {
          release(book, as, holding.poll(), tag + "-end-" + thread + "-" + n++, history);
        }
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(10, TimeUnit.MINUTES);
    }
    pool.shutdown();
    double elapsed = (System.nanoTime() - started) / 1e9;
    return new Phase(reserved.get() / elapsed, refused.get() / elapsed, reserved.get());
  }

  private static void release(OrderBook book, CpinIdentity as, Held held, String requestId,
      ConcurrentLinkedQueue<Held> history) {
    history.add(new Held(held.orderId(), held.slot(), held.fromNanos(), System.nanoTime()));
    book.release(as, ReleaseOrderRequest.newBuilder().setRequestId(requestId)
        .setOrderId(held.orderId()).build());
  }

  private static Resource resource(Map<String, Resource> inventory, AtomicLong serials,
      int units) {
    Resource r = Resource.newBuilder()
        .setResourceId(Identifier.of(NODE, IdentifierKind.RESOURCE, serials.incrementAndGet())
            .toString())
        .setProviderId(Identifier.of(NODE, IdentifierKind.PARTICIPANT, serials.incrementAndGet())
            .toString())
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(1000))
        .setCapacity(Capacity.newBuilder().setTotalUnits(units).setFreeUnits(units))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .build();
    inventory.put(r.getResourceId(), r);
    return r;
  }

  private static Identifier approvedUser(ServiceCenter center, int i) {
    String first17 = String.format("91440300MA5BNC%03d", i);
    CpinIdentity operator = CpinIdentity.operator(NODE);
    Identifier id = Identifier.parse(center.participants().register(operator,
        RegisterParticipantRequest.newBuilder().setRequestId("bench-user-" + i)
            .setOrganization(Organization.newBuilder()
                .setCreditCode(first17 + CreditCode.checkCharacter(first17))
                .setProvinceCode("44"))
            .setDisplayName("Bench user " + i)
            .addKinds(ParticipationKind.PARTICIPATION_KIND_USER)
            .addContacts(Contact.newBuilder().setName("Li Na")).build()).getParticipantId());
    center.participants().change(operator, ParticipantRegistry.Transition.APPROVE, id, "",
        "bench-approve-" + i, ApproveParticipantRequest.newBuilder()
            .setRequestId("bench-approve-" + i).build());
    return id;
  }
}
