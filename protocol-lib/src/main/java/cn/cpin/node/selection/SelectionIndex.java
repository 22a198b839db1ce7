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
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The resources selection evaluates, one column per matched field in primitive arrays, so that a
 * scan over a million resources touches a few tens of megabytes in order instead of a million
 * objects (SEL-011). Rarely set fields (availability windows, offer constraints) are kept as
 * objects beside the columns. A resource's slot never moves; updates overwrite it in place.
 *
 * <p>Thread-safe: one writer or many scanners at a time.
 */
final class SelectionIndex {
  static final byte NONE = -1;

  final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final NetworkModel network;
  private final Map<String, Integer> slots = new HashMap<>();
  private final Map<String, Integer> models = new HashMap<>();
  private final List<String> modelNames = new ArrayList<>();
  private final Map<String, Integer> currencies = new HashMap<>();
  private final List<String> currencyNames = new ArrayList<>();
  private final Map<String, Integer> nodes = new HashMap<>();
  private final List<String> nodeNames = new ArrayList<>();

  int size;
  String[] ids = new String[0];
  byte[] status = new byte[0];
  byte[] kind = new byte[0];
  byte[] province = new byte[0];
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
  long[] memory = new long[0];
  long[] storage = new long[0];
  int[] freeUnits = new int[0];
  long[] price = new long[0];
  short[] currency = new short[0];
  int[] uplink = new int[0];
  long[][] windows = new long[0][];
  OfferConstraints[] offers = new OfferConstraints[0];

  SelectionIndex(NetworkModel network) {
    this.network = network;
  }

  /** Adds or replaces {@code r}, known at node {@code holder}. */
  void put(Resource r, String holder) {
    lock.writeLock().lock();
    try {
      Integer slot = slots.get(r.getResourceId());
      if (slot == null) {
        slot = size++;
        grow(size);
        slots.put(r.getResourceId(), slot);
        ids[slot] = r.getResourceId();
      }
      int i = slot;
      status[i] = (byte) r.getStatusValue();
      kind[i] = (byte) r.getComputeKindValue();
      province[i] = (byte) network.index(r.getSite().getProvinceCode());
      node[i] = (short) intern(nodes, nodeNames, holder);
      model[i] = r.hasAccelerator() && !r.getAccelerator().getModel().isEmpty()
          ? intern(models, modelNames, r.getAccelerator().getModel()) : NONE;
      accelerators[i] = r.hasAccelerator() ? r.getAccelerator().getCount() : 0;
      cores[i] = r.getCpu().getCores();
      fp16[i] = Units.tflops(r.getFp16Peak());
      fp32[i] = Units.tflops(r.getFp32Peak());
      fp64[i] = Units.tflops(r.getFp64Peak());
      int8[i] = Units.tops(r.getInt8Peak());
      memory[i] = r.getMemoryGib();
      storage[i] = r.getStorageGib();
      freeUnits[i] = r.getCapacity().getFreeUnits();
      price[i] = r.getPricePerUnitHour().getMinorUnits();
      currency[i] = (short) intern(currencies, currencyNames,
          r.getPricePerUnitHour().getCurrencyCode());
      uplink[i] = r.getUplinkBandwidthMbps();
      windows[i] = r.getAvailabilityWindowsCount() == 0 ? null : windowsOf(r);
      offers[i] = r.hasOfferConstraints() ? r.getOfferConstraints() : null;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Takes {@code resourceId} out of selection (its slot stays, never evaluated). */
  void remove(String resourceId) {
    lock.writeLock().lock();
    try {
      Integer slot = slots.get(resourceId);
      if (slot != null) {
        status[slot] = (byte) ResourceStatus.RESOURCE_STATUS_OFFLINE_VALUE;
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Under the read lock: the accelerator model's number, or NONE if no resource has it. */
  int modelIndex(String name) {
    Integer i = models.get(name);
    return i == null ? Integer.MIN_VALUE : i;
  }

  /** Under the read lock: the currency's number, or MIN_VALUE if no resource is priced in it. */
  int currencyIndex(String code) {
    Integer i = currencies.get(code);
    return i == null ? Integer.MIN_VALUE : i;
  }

  String currencyName(int index) {
    return currencyNames.get(index);
  }

  String nodeName(int index) {
    return nodeNames.get(index);
  }

  int slotOf(String resourceId) {
    Integer slot = slots.get(resourceId);
    return slot == null ? -1 : slot;
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

  private static int intern(Map<String, Integer> map, List<String> names, String name) {
    return map.computeIfAbsent(name, n -> {
      names.add(n);
      return names.size() - 1;
    });
  }

  private void grow(int needed) {
    if (needed <= ids.length) {
      return;
    }
    int capacity = Math.max(1024, ids.length * 2);
    ids = Arrays.copyOf(ids, capacity);
    status = Arrays.copyOf(status, capacity);
    kind = Arrays.copyOf(kind, capacity);
    province = Arrays.copyOf(province, capacity);
    node = Arrays.copyOf(node, capacity);
    model = Arrays.copyOf(model, capacity);
    accelerators = Arrays.copyOf(accelerators, capacity);
    cores = Arrays.copyOf(cores, capacity);
    fp16 = Arrays.copyOf(fp16, capacity);
    fp32 = Arrays.copyOf(fp32, capacity);
    fp64 = Arrays.copyOf(fp64, capacity);
    int8 = Arrays.copyOf(int8, capacity);
    memory = Arrays.copyOf(memory, capacity);
    storage = Arrays.copyOf(storage, capacity);
    freeUnits = Arrays.copyOf(freeUnits, capacity);
    price = Arrays.copyOf(price, capacity);
    currency = Arrays.copyOf(currency, capacity);
    uplink = Arrays.copyOf(uplink, capacity);
    windows = Arrays.copyOf(windows, capacity);
    offers = Arrays.copyOf(offers, capacity);
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
