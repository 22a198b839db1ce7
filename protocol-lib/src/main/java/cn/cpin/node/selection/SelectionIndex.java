package cn.cpin.node.selection;

import cn.cpin.aggregation.v1.OfferConstraints;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.TimeWindow;
import com.google.protobuf.util.Timestamps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The resources selection evaluates, in buckets of one compute kind and one province, each bucket
 * one column per matched field in primitive arrays: a demand skips the buckets its kind, provinces
 * or latency bound exclude, and scans the others in memory order, touching only the columns its
 * constraints name (SEL-011). Rarely set fields (availability windows, offer constraints) are kept
 * as objects beside the columns. A resource keeps its row while its kind and province stay the
 * same; updates overwrite the row in place, and a resource that moves leaves an offline row behind.
 *
 * <p>Thread-safe: one writer or many scanners at a time.
 */
final class SelectionIndex {
  static final byte NONE = -1;
  static final int MIXED = -2;

  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final NetworkModel network;
  /** Resource id to (bucket number, row), packed in a long. */
  private final Map<String, Long> rows = new HashMap<>();
  private final Map<Long, Bucket> bucketsByKey = new HashMap<>();
  private final List<Bucket> buckets = new ArrayList<>();
  private final Map<String, Integer> models = new HashMap<>();
  private final Map<String, Integer> currencies = new HashMap<>();
  private final List<String> currencyNames = new ArrayList<>();
  private final Map<String, Integer> nodes = new HashMap<>();
  private final List<String> nodeNames = new ArrayList<>();
  /** Resources with live bookings at this node, whose windowed availability needs a look. */
  private final Set<String> booked = new HashSet<>();

  SelectionIndex(NetworkModel network) {
    this.network = network;
  }

  /** The resources of one compute kind in one province (NONE: a province the model lacks). */
  static final class Bucket {
    final SelectionIndex owner;
    final int number;
    final int kind;
    final int province;
    /** Rows whose status is AVAILABLE or DEGRADED: what a demand evaluates. */
    int offered;
    /** Rows with offer constraints, which most buckets have none of. */
    int withOffers;
    int size;
    String[] ids = new String[0];
    byte[] status = new byte[0];
    short[] node = new short[0];
    int[] model = new int[0];
    int[] accelerators = new int[0];
    int[] cores = new int[0];
    /** TFLOPS; 0 when not stated. */
    double[] fp16 = new double[0];
    double[] fp32 = new double[0];
    double[] fp64 = new double[0];
    /** TOPS; 0 when not stated. */
    double[] int8 = new double[0];
    /** SEL-005's performance when a demand names no precision: FP16 if stated, else CPU cores. */
    double[] fp16OrCores = new double[0];
    long[] memory = new long[0];
    long[] storage = new long[0];
    int[] freeUnits = new int[0];
    int[] totalUnits = new int[0];
    boolean[] booked = new boolean[0];
    long[] price = new long[0];
    short[] currency = new short[0];
    /** The currency of every row's price, if they share one (MIXED if not, NONE if no rows). */
    int soleCurrency = NONE;
    int[] uplink = new int[0];
    /** The ranges of the ranking's columns, per chunk. */
    final Zones priceZones = new Zones();
    final Zones uplinkZones = new Zones();
    final Zones fp16Zones = new Zones();
    final Zones fp32Zones = new Zones();
    final Zones fp64Zones = new Zones();
    final Zones int8Zones = new Zones();
    final Zones fp16OrCoresZones = new Zones();
    long[][] windows = new long[0][];
    OfferConstraints[] offers = new OfferConstraints[0];

    private Bucket(SelectionIndex owner, int number, int kind, int province) {
      this.owner = owner;
      this.number = number;
      this.kind = kind;
      this.province = province;
    }

    static boolean offered(byte status) {
      return status == ResourceStatus.RESOURCE_STATUS_AVAILABLE_VALUE
          | status == ResourceStatus.RESOURCE_STATUS_DEGRADED_VALUE;
    }

    String nodeName(int row) {
      return owner.nodeNames.get(node[row]);
    }

    private int append(String id) {
      if (size == ids.length) {
        int capacity = Math.max(16, ids.length * 2);
        ids = Arrays.copyOf(ids, capacity);
        status = Arrays.copyOf(status, capacity);
        node = Arrays.copyOf(node, capacity);
        model = Arrays.copyOf(model, capacity);
        accelerators = Arrays.copyOf(accelerators, capacity);
        cores = Arrays.copyOf(cores, capacity);
        fp16 = Arrays.copyOf(fp16, capacity);
        fp32 = Arrays.copyOf(fp32, capacity);
        fp64 = Arrays.copyOf(fp64, capacity);
        int8 = Arrays.copyOf(int8, capacity);
        fp16OrCores = Arrays.copyOf(fp16OrCores, capacity);
        memory = Arrays.copyOf(memory, capacity);
        storage = Arrays.copyOf(storage, capacity);
        freeUnits = Arrays.copyOf(freeUnits, capacity);
        totalUnits = Arrays.copyOf(totalUnits, capacity);
        booked = Arrays.copyOf(booked, capacity);
        price = Arrays.copyOf(price, capacity);
        currency = Arrays.copyOf(currency, capacity);
        uplink = Arrays.copyOf(uplink, capacity);
        windows = Arrays.copyOf(windows, capacity);
        offers = Arrays.copyOf(offers, capacity);
      }
      ids[size] = id;
      status[size] = (byte) ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE;
      return size++;
    }

    private void setStatus(int row, byte value) {
      offered += (offered(value) ? 1 : 0) - (offered(status[row]) ? 1 : 0);
      status[row] = value;
    }
  }

  /** Adds or replaces {@code r}, known at node {@code holder}. */
  void put(Resource r, String holder) {
    lock.writeLock().lock();
    try {
      Bucket b = bucket(r.getComputeKindValue(), network.index(r.getSite().getProvinceCode()));
      Long at = rows.get(r.getResourceId());
      int row;
      if (at != null && (int) (at >>> 32) == b.number) {
        row = (int) (long) at;
      } else {
        if (at != null) { // kind or province changed: the old row goes offline for good
          buckets.get((int) (at >>> 32)).setStatus((int) (long) at,
              (byte) ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE);
        }
        row = b.append(r.getResourceId());
        b.booked[row] = booked.contains(r.getResourceId());
        rows.put(r.getResourceId(), (long) b.number << 32 | row);
      }
      b.setStatus(row, (byte) r.getStatusValue());
      b.node[row] = (short) intern(nodes, nodeNames, holder);
      b.model[row] = r.hasAccelerator() && !r.getAccelerator().getModel().isEmpty()
          ? intern(models, null, r.getAccelerator().getModel()) : NONE;
      b.accelerators[row] = r.hasAccelerator() ? r.getAccelerator().getCount() : 0;
      b.cores[row] = r.getCpu().getCores();
      b.fp16[row] = Units.tflops(r.getFp16Peak());
      b.fp32[row] = Units.tflops(r.getFp32Peak());
      b.fp64[row] = Units.tflops(r.getFp64Peak());
      b.int8[row] = Units.tops(r.getInt8Peak());
      b.fp16OrCores[row] = b.fp16[row] > 0 ? b.fp16[row] : b.cores[row];
      b.memory[row] = r.getMemoryGib();
      b.storage[row] = r.getStorageGib();
      b.freeUnits[row] = r.getCapacity().getFreeUnits();
      b.totalUnits[row] = r.getCapacity().getTotalUnits();
      b.price[row] = r.getPricePerUnitHour().getMinorUnits();
      b.currency[row] = (short) intern(currencies, currencyNames,
          r.getPricePerUnitHour().getCurrencyCode());
      b.soleCurrency = b.soleCurrency == NONE || b.soleCurrency == b.currency[row]
          ? b.currency[row] : MIXED;
      b.uplink[row] = r.getUplinkBandwidthMbps();
      b.priceZones.widen(row, b.price[row]);
      b.uplinkZones.widen(row, b.uplink[row]);
      b.fp16Zones.widen(row, b.fp16[row]);
      b.fp32Zones.widen(row, b.fp32[row]);
      b.fp64Zones.widen(row, b.fp64[row]);
      b.int8Zones.widen(row, b.int8[row]);
      b.fp16OrCoresZones.widen(row, b.fp16OrCores[row]);
      b.windows[row] = r.getAvailabilityWindowsCount() == 0 ? null : windowsOf(r);
      b.withOffers += (r.hasOfferConstraints() ? 1 : 0) - (b.offers[row] != null ? 1 : 0);
      b.offers[row] = r.hasOfferConstraints() ? r.getOfferConstraints() : null;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Takes {@code resourceId} out of selection (its row stays, never evaluated). */
  void remove(String resourceId) {
    lock.writeLock().lock();
    try {
      Long at = rows.get(resourceId);
      if (at != null) {
        buckets.get((int) (at >>> 32)).setStatus((int) (long) at,
            (byte) ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE);
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Notes whether {@code resourceId} has live bookings at this node. */
  void setBooked(String resourceId, boolean any) {
    lock.writeLock().lock();
    try {
      if (any ? booked.add(resourceId) : booked.remove(resourceId)) {
        Long at = rows.get(resourceId);
        if (at != null) {
          buckets.get((int) (at >>> 32)).booked[(int) (long) at] = any;
        }
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Under the read lock: every bucket, in the order they were created. */
  List<Bucket> buckets() {
    return buckets;
  }

  /** Under the read lock: the accelerator model's number, or MIN_VALUE if no resource has it. */
  int modelIndex(String name) {
    Integer i = models.get(name);
    return i == null ? Integer.MIN_VALUE : i;
  }

  /** Under the read lock: the currency's number, or MIN_VALUE if no resource is priced in it. */
  int currencyIndex(String code) {
    Integer i = currencies.get(code);
    return i == null ? Integer.MIN_VALUE : i;
  }

  boolean contains(String resourceId) {
    lock.readLock().lock();
    try {
      return rows.containsKey(resourceId);
    } finally {
      lock.readLock().unlock();
    }
  }

  private Bucket bucket(int kind, int province) {
    return bucketsByKey.computeIfAbsent((long) kind << 32 | (province & 0xffffffffL), key -> {
      Bucket b = new Bucket(this, buckets.size(), kind, province);
      buckets.add(b);
      return b;
    });
  }

  private static long[] windowsOf(Resource r) {
    long[] out = new long[r.getAvailabilityWindowsCount() * 2];
    for (int w = 0; w < r.getAvailabilityWindowsCount(); w++) {
      TimeWindow window = r.getAvailabilityWindows(w);
      out[2 * w] = Timestamps.toMillis(window.getStartTime());
      out[2 * w + 1] = Timestamps.toMillis(window.getEndTime());
    }
    return out;
  }

  /** The name's number in {@code map}; {@code names}, when given, lists names by number. */
  private static int intern(Map<String, Integer> map, List<String> names, String name) {
    Integer known = map.get(name);
    if (known != null) {
      return known;
    }
    int next = map.size();
    map.put(name, next);
    if (names != null) {
      names.add(name);
    }
    return next;
  }

  /**
   * Per chunk of a bucket's rows, the range of every value a row of it has held: never narrowed,
   * so a superset of the current values, which is all a scan needs to know that a chunk's
   * matches cannot widen the ranges it has seen.
   */
  static final class Zones {
    double[] min = new double[0];
    double[] max = new double[0];

    void widen(int row, double value) {
      int c = row / Matches.CHUNK;
      if (c >= min.length) {
        int n = Math.max(c + 1, min.length * 2);
        int from = min.length;
        min = Arrays.copyOf(min, n);
        max = Arrays.copyOf(max, n);
        Arrays.fill(min, from, n, Double.POSITIVE_INFINITY);
        Arrays.fill(max, from, n, Double.NEGATIVE_INFINITY);
      }
      min[c] = Math.min(min[c], value);
      max[c] = Math.max(max[c], value);
    }
  }

  /** Throughput unit conversion (SEL-003), as the inventory's gauges convert too. */
  static final class Units {
    private Units() {}

    static double tflops(Throughput t) {
      return cn.cpin.node.aggregation.Throughputs.tflops(t);
    }

    static double tops(Throughput t) {
      return cn.cpin.node.aggregation.Throughputs.tops(t);
    }
  }
}
