package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;

/**
 * A node's aggregated inventory (system B): its own providers' resources and, at a regional node,
 * those its industry nodes report. Durable in the node's {@link KeyValueStore}, mirrored in memory
 * for reads.
 *
 * <p>Each resource is kept in memory as its serialized bytes plus the few fields the filters need,
 * so that a million resources fit in a few hundred MiB (see docs/benchmarks.md). Resources are
 * never deleted: withdrawn ones stay {@code OFFLINE} so orders can still resolve them (AGG-002).
 *
 * <p>A write is visible as a whole when applied, before its fsync, and durable before its version
 * counts as acknowledged (AGG-004, AGG-014: durability is owed to the acknowledgement, not to
 * readers); readers take a shared lock so a snapshot appears whole. A write the store refuses
 * is withdrawn from the view again. A source whose last message is
 * older than three heartbeat intervals reads as {@code OFFLINE} (AGG-007, AGG-011). Thread-safe;
 * writes of one source are serialised on its {@link Source}.
 */
public final class Inventory {
  static final String RESOURCE = "agg/res/";
  static final String SOURCE = "agg/src/";

  private final NodeCode self;
  private final KeyValueStore store;
  private final Clock clock;
  private final Duration heartbeatInterval;
  private final ConcurrentSkipListMap<String, Entry> entries = new ConcurrentSkipListMap<>();
  private final Map<String, Source> sources = new ConcurrentHashMap<>();
  private final Map<String, String> providerIds = new ConcurrentHashMap<>();
  private final ReadWriteLock visibility = new ReentrantReadWriteLock();
  private final List<Consumer<Collection<String>>> listeners = new CopyOnWriteArrayList<>();

  /** One resource as held in memory: its bytes and what the filters and gauges look at. */
  private record Entry(Source source, String providerId, byte[] body, byte kind, byte status,
      short province, int totalUnits, int freeUnits, float fp16Tflops, float fp64Tflops) {}

  /**
   * A publisher into this inventory: a provider publishing at this node, or an industry node
   * reporting to it. Holds the acknowledged version and when it was last heard.
   */
  public static final class Source {
    private final String key;
    private final String providerId;
    private final NodeCode node;
    /** Provider sources: local_key → resource_id (AGG-005). Guarded by this. */
    private final Map<String, String> localKeys;
    /** Node sources: the resources reported. Guarded by this. */
    private final Set<String> reported;
    private long acknowledgedVersion;
    private volatile long lastHeardMillis;
    private volatile boolean silent;

    private Source(String key, String providerId, NodeCode node, long now) {
      this.key = key;
      this.providerId = providerId;
      this.node = node;
      this.localKeys = providerId != null ? new HashMap<>() : null;
      this.reported = providerId == null ? new HashSet<>() : null;
      this.lastHeardMillis = now;
    }

    /** The provider's participant id, or null for a node source. */
    public String providerId() {
      return providerId;
    }

    /** The reporting node, or null for a provider source. */
    public NodeCode node() {
      return node;
    }

    /** Highest version durably applied (AGG-004). */
    public synchronized long acknowledgedVersion() {
      return acknowledgedVersion;
    }

    /** The resource id issued to this provider for {@code localKey}, if any. */
    public synchronized Optional<String> resourceIdOf(String localKey) {
      return Optional.ofNullable(localKeys.get(localKey));
    }

    synchronized Collection<String> resourceIds() {
      return new ArrayList<>(localKeys != null ? localKeys.values() : reported);
    }

    synchronized boolean owns(String resourceId) {
      return localKeys != null ? localKeys.containsValue(resourceId) : reported.contains(resourceId);
    }
  }

  public Inventory(NodeCode self, KeyValueStore store, Clock clock, Duration heartbeatInterval) {
    this.self = self;
    this.store = store;
    this.clock = clock;
    this.heartbeatInterval = heartbeatInterval;
    load();
  }

  public NodeCode nodeCode() {
    return self;
  }

  public Duration heartbeatInterval() {
    return heartbeatInterval;
  }

  /** Calls {@code listener} with the ids of resources whose visible state changed. */
  public void onChange(Consumer<Collection<String>> listener) {
    listeners.add(listener);
  }

  /** The source for a provider publishing at this node, created on first use. */
  public Source provider(String providerId) {
    return sources.computeIfAbsent("provider/" + providerId,
        k -> new Source(k, intern(providerId), null, clock.millis()));
  }

  /** The source for an industry node reporting to this node, created on first use. */
  public Source node(NodeCode node) {
    return sources.computeIfAbsent("node/" + node, k -> new Source(k, null, node, clock.millis()));
  }

  /** Records that {@code source} was heard from now; it reads as published again (AGG-007). */
  public void heard(Source source) {
    source.lastHeardMillis = clock.millis();
    if (source.silent) {
      source.silent = false;
      notifyChanged(source.resourceIds());
    }
  }

  /**
   * Flags sources silent for more than three heartbeat intervals and tells listeners that their
   * resources now read OFFLINE; the node calls it periodically.
   */
  public void sweep() {
    for (Source source : sources.values()) {
      if (!source.silent && isSilent(source, clock.millis())) {
        source.silent = true;
        notifyChanged(source.resourceIds());
      }
    }
  }

  private boolean isSilent(Source source, long now) {
    return now - source.lastHeardMillis > 3 * heartbeatInterval.toMillis();
  }

  /**
   * Remembers the identifier issued for a provider's local key (AGG-005). It becomes durable with
   * the resource; until then the identifier issuer, idempotent per request, would return it again.
   */
  void rememberResourceId(Source provider, String localKey, String resourceId) {
    synchronized (provider) {
      provider.localKeys.put(localKey, resourceId);
    }
  }

  /**
   * Applies a complete snapshot of {@code source} at {@code version}: afterwards its offered
   * resources are exactly {@code resources}; the others become OFFLINE (AGG-002). The resources
   * carry their resource_id and provenance already.
   */
  public void applySnapshot(Source source, long version, List<Resource> resources) {
    synchronized (source) {
      Map<String, Resource> changed = new HashMap<>();
      for (Resource r : resources) {
        changed.put(r.getResourceId(), r);
      }
      for (String id : source.resourceIds()) {
        if (!changed.containsKey(id)) {
          Entry old = entries.get(id);
          if (old != null && old.status != ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE) {
            changed.put(id, parse(old.body).toBuilder()
                .setStatus(ResourceStatus.RESOURCE_STATUS_OFFLINE).build());
          }
        }
      }
      commit(source, version, changed.values());
    }
  }

  /**
   * Applies a delta of {@code source}: upserts replace resources whole; removed ones become
   * OFFLINE (AGG-003).
   */
  public void applyDelta(Source source, long version, List<Resource> upserts,
      Collection<String> removedIds) {
    synchronized (source) {
      Map<String, Resource> changed = new HashMap<>();
      for (String id : removedIds) {
        Entry old = entries.get(id);
        if (old != null && old.source == source) {
          changed.put(id, parse(old.body).toBuilder()
              .setStatus(ResourceStatus.RESOURCE_STATUS_OFFLINE).build());
        }
      }
      for (Resource r : upserts) {
        changed.put(r.getResourceId(), r);
      }
      commit(source, version, changed.values());
    }
  }

  // Visible as a whole first, so that readers and the industry node's report need not wait for
  // the fsync; the version is acknowledged only once durable (AGG-004, AGG-014).
  private void commit(Source source, long version, Collection<Resource> changed) {
    Map<String, byte[]> puts = new HashMap<>(changed.size() * 2 + 1);
    Map<String, Entry> next = new HashMap<>(changed.size() * 2 + 1);
    for (Resource r : changed) {
      byte[] body = r.toByteArray();
      puts.put(RESOURCE + r.getResourceId(), body);
      next.put(r.getResourceId(), entryOf(source, r, body));
    }
    puts.put(SOURCE + source.key, Long.toString(version).getBytes(StandardCharsets.US_ASCII));
    Map<String, Entry> previous = new HashMap<>(next.size() * 2 + 1);
    visibility.writeLock().lock();
    try {
      for (Map.Entry<String, Entry> e : next.entrySet()) {
        previous.put(e.getKey(), entries.put(e.getKey(), e.getValue()));
      }
    } finally {
      visibility.writeLock().unlock();
    }
    notifyChanged(next.keySet());
    try {
      store.write(puts, List.of(), Map.of());
    } catch (RuntimeException e) {
      withdraw(previous);
      throw e;
    }
    synchronized (source) {
      if (source.reported != null) {
        source.reported.addAll(next.keySet());
      } else {
        for (Resource r : changed) {
          source.localKeys.put(r.getLocalKey(), r.getResourceId());
        }
      }
      source.acknowledgedVersion = version;
    }
  }

  // The store failed: readers see again what they saw before the write; the publisher, never
  // acknowledged, sends it again.
  private void withdraw(Map<String, Entry> previous) {
    visibility.writeLock().lock();
    try {
      for (Map.Entry<String, Entry> e : previous.entrySet()) {
        if (e.getValue() == null) {
          entries.remove(e.getKey());
        } else {
          entries.put(e.getKey(), e.getValue());
        }
      }
    } finally {
      visibility.writeLock().unlock();
    }
    notifyChanged(previous.keySet());
  }

  private void notifyChanged(Collection<String> ids) {
    if (ids.isEmpty()) {
      return;
    }
    for (Consumer<Collection<String>> listener : listeners) {
      listener.accept(ids);
    }
  }

  /** The resource as readers see it (OFFLINE if its source is silent), including OFFLINE ones. */
  public Optional<Resource> get(String resourceId) {
    visibility.readLock().lock();
    try {
      Entry entry = entries.get(resourceId);
      return entry == null ? Optional.empty() : Optional.of(visible(entry, clock.millis()));
    } finally {
      visibility.readLock().unlock();
    }
  }

  /** Which resources a listing returns; null or empty fields match everything (AGG-013). */
  public record Filter(ComputeKind kind, Set<String> provinces, String providerId,
      String originNodeCode, ResourceStatus status, String acceleratorModel) {
    public static final Filter ALL = new Filter(null, Set.of(), null, null, null, null);
  }

  /** Up to {@code limit} resources after {@code afterId} in resource_id order that pass the filter. */
  public List<Resource> list(Filter filter, String afterId, int limit) {
    List<Resource> page = new ArrayList<>(Math.min(limit, 1024));
    visibility.readLock().lock();
    try {
      long now = clock.millis();
      Map<String, Entry> tail = afterId == null || afterId.isEmpty() ? entries
          : entries.tailMap(afterId, false);
      for (Entry entry : tail.values()) {
        if (page.size() >= limit) {
          break;
        }
        if (!matchesCheaply(entry, filter, now)) {
          continue;
        }
        Resource resource = visible(entry, now);
        if (filter.originNodeCode() != null && !filter.originNodeCode().isEmpty()
            && !filter.originNodeCode().equals(resource.getProvenance().getOriginNodeCode())) {
          continue;
        }
        if (filter.acceleratorModel() != null && !filter.acceleratorModel().isEmpty()
            && !filter.acceleratorModel().equals(resource.getAccelerator().getModel())) {
          continue;
        }
        page.add(resource);
      }
    } finally {
      visibility.readLock().unlock();
    }
    return page;
  }

  private boolean matchesCheaply(Entry entry, Filter filter, long now) {
    if (filter.kind() != null && filter.kind() != ComputeKind.COMPUTE_KIND_UNSPECIFIED
        && filter.kind().getNumber() != entry.kind) {
      return false;
    }
    if (filter.status() != null && filter.status() != ResourceStatus.RESOURCE_STATUS_UNSPECIFIED
        && filter.status().getNumber() != statusOf(entry, now)) {
      return false;
    }
    if (filter.providerId() != null && !filter.providerId().isEmpty()
        && !filter.providerId().equals(entry.providerId)) {
      return false;
    }
    if (filter.provinces() != null && !filter.provinces().isEmpty()) {
      return entry.province >= 0 && filter.provinces().contains(provinceText(entry.province));
    }
    return true;
  }

  /** What the inventory holds of one compute kind, as monitoring reports it (MON-002). */
  public record KindTotals(long registered, long offered, long totalUnits, long freeUnits,
      double fp16Tflops, double fp64Tflops) {}

  /**
   * Per compute kind, over the resources of providers publishing at this node (an industry
   * node's reported resources are its own to count): resources held (OFFLINE included), those
   * offered (not OFFLINE as readers see them), and units and peak throughput over the offered
   * ones. One pass over the memory view.
   */
  public Map<ComputeKind, KindTotals> totalsByKind() {
    Map<ComputeKind, long[]> counts = new java.util.EnumMap<>(ComputeKind.class);
    Map<ComputeKind, double[]> peaks = new java.util.EnumMap<>(ComputeKind.class);
    visibility.readLock().lock();
    try {
      long now = clock.millis();
      for (Entry e : entries.values()) {
        if (e.source.providerId == null) {
          continue;
        }
        ComputeKind kind = ComputeKind.forNumber(e.kind);
        if (kind == null) {
          kind = ComputeKind.COMPUTE_KIND_UNSPECIFIED;
        }
        long[] c = counts.computeIfAbsent(kind, k -> new long[4]);
        double[] p = peaks.computeIfAbsent(kind, k -> new double[2]);
        c[0]++;
        if (statusOf(e, now) != ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE) {
          c[1]++;
          c[2] += e.totalUnits;
          c[3] += e.freeUnits;
          p[0] += (double) e.totalUnits * e.fp16Tflops;
          p[1] += (double) e.totalUnits * e.fp64Tflops;
        }
      }
    } finally {
      visibility.readLock().unlock();
    }
    Map<ComputeKind, KindTotals> totals = new java.util.EnumMap<>(ComputeKind.class);
    counts.forEach((kind, c) -> totals.put(kind, new KindTotals(c[0], c[1], c[2], c[3],
        peaks.get(kind)[0], peaks.get(kind)[1])));
    return totals;
  }

  /** Providers publishing at this node that are not silent (AGG-007). */
  public int providersOnline() {
    long now = clock.millis();
    int online = 0;
    for (Source source : sources.values()) {
      if (source.providerId != null && !isSilent(source, now)) {
        online++;
      }
    }
    return online;
  }

  /** Number of resources held, OFFLINE included. */
  public int size() {
    return entries.size();
  }

  /** Every resource id of {@code source}. */
  public Collection<String> resourceIdsOf(Source source) {
    return source.resourceIds();
  }

  private int statusOf(Entry entry, long now) {
    return isSilent(entry.source, now) ? ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE
        : entry.status;
  }

  private Resource visible(Entry entry, long now) {
    Resource resource = parse(entry.body);
    if (entry.status != ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE && isSilent(entry.source, now)) {
      return resource.toBuilder().setStatus(ResourceStatus.RESOURCE_STATUS_OFFLINE).build();
    }
    return resource;
  }

  private Entry entryOf(Source source, Resource r, byte[] body) {
    int status = r.getStatusValue() == 0 ? ResourceStatus.RESOURCE_STATUS_AVAILABLE_VALUE
        : r.getStatusValue();
    return new Entry(source, intern(r.getProvenance().getProviderId()), body,
        (byte) r.getComputeKindValue(), (byte) status, province(r.getSite().getProvinceCode()),
        r.getCapacity().getTotalUnits(), r.getCapacity().getFreeUnits(),
        (float) Throughputs.tflops(r.getFp16Peak()),
        (float) Throughputs.tflops(r.getFp64Peak()));
  }

  private String intern(String providerId) {
    return providerIds.computeIfAbsent(providerId, p -> p);
  }

  private static short province(String code) {
    if (code.length() != 2 || !Character.isDigit(code.charAt(0))
        || !Character.isDigit(code.charAt(1))) {
      return -1;
    }
    return Short.parseShort(code);
  }

  private static String provinceText(short province) {
    return province < 10 ? "0" + province : Short.toString(province);
  }

  private static Resource parse(byte[] body) {
    try {
      return Resource.parseFrom(body);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt resource in the inventory", e);
    }
  }

  // A restarted node serves what it acknowledged before (AGG-004); sources get three intervals
  // to reconnect before their resources read OFFLINE.
  private void load() {
    long now = clock.millis();
    for (Map.Entry<String, byte[]> e : store.scan(RESOURCE).entrySet()) {
      Resource r = parse(e.getValue());
      Provenance p = r.getProvenance();
      Source source = p.getViaNodeCodesCount() == 0 ? provider(p.getProviderId())
          : node(NodeCode.parse(p.getOriginNodeCode()));
      source.lastHeardMillis = now;
      entries.put(r.getResourceId(), entryOf(source, r, e.getValue()));
      if (source.reported != null) {
        source.reported.add(r.getResourceId());
      } else {
        source.localKeys.put(r.getLocalKey(), r.getResourceId());
      }
    }
    for (Map.Entry<String, byte[]> e : store.scan(SOURCE).entrySet()) {
      String key = e.getKey().substring(SOURCE.length());
      Source source = key.startsWith("provider/") ? provider(key.substring("provider/".length()))
          : node(NodeCode.parse(key.substring("node/".length())));
      source.acknowledgedVersion = Long.parseLong(new String(e.getValue(),
          StandardCharsets.US_ASCII));
      source.lastHeardMillis = now;
    }
  }
}
