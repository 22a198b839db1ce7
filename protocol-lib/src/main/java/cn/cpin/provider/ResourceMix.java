package cn.cpin.provider;

import cn.cpin.aggregation.v1.AcceleratorSpec;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.CpuSpec;
import cn.cpin.aggregation.v1.Interconnect;
import cn.cpin.aggregation.v1.InterconnectType;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.aggregation.v1.Site;
import cn.cpin.aggregation.v1.StorageType;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.Money;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Realistic simulated resources: general CPU pools, AI servers with the accelerators of the
 * reference data (shared/data/accelerators.csv, vendors' dense datasheet peaks) and supercomputing
 * partitions, mostly at the national hub clusters (shared/data/hub-clusters.csv). Deterministic
 * for a seed.
 */
public final class ResourceMix {
  /** model, vendor, fp64, fp32, fp16/bf16, int8 (TOPS), memory GiB, bandwidth GB/s. */
  private record Accelerator(String model, String vendor, double fp64, double fp32, double fp16,
      double int8, int memoryGib, int bandwidth) {}

  private static final List<Accelerator> ACCELERATORS = List.of(
      new Accelerator("H100-SXM5-80GB", "NVIDIA", 34, 67, 989, 1979, 80, 3350),
      new Accelerator("A100-SXM4-80GB", "NVIDIA", 9.7, 19.5, 312, 624, 80, 2039),
      new Accelerator("H20", "NVIDIA", 1, 44, 148, 296, 96, 4000),
      new Accelerator("L40S", "NVIDIA", 0, 91.6, 362, 733, 48, 864),
      new Accelerator("V100-SXM2-32GB", "NVIDIA", 7.8, 15.7, 125, 0, 32, 900),
      new Accelerator("MI300X", "AMD", 81.7, 163.4, 1307, 2615, 192, 5300),
      new Accelerator("MI250X", "AMD", 47.9, 47.9, 383, 383, 128, 3277),
      new Accelerator("Ascend-910B", "Huawei", 0, 0, 320, 640, 64, 0));

  /** province code, cluster name (English, as in the reference data), lat, lon. */
  private record Place(String province, String cluster, String city, double lat, double lon) {}

  private static final List<Place> PLACES = List.of(
      new Place("13", "Zhangjiakou", "Zhangjiakou", 40.77, 114.88),
      new Place("34", "Wuhu", "Wuhu", 31.33, 118.38),
      new Place("44", "Shaoguan", "Shaoguan", 24.81, 113.60),
      new Place("51", "Tianfu", "Chengdu", 30.40, 104.07),
      new Place("52", "Gui'an", "Gui'an", 26.40, 106.40),
      new Place("15", "Horinger", "Horinger", 40.38, 111.82),
      new Place("62", "Qingyang", "Qingyang", 35.71, 107.64),
      new Place("64", "Zhongwei", "Zhongwei", 37.51, 105.19),
      new Place("44", "", "Shenzhen", 22.54, 114.06),
      new Place("11", "", "Beijing", 39.90, 116.41),
      new Place("31", "", "Shanghai", 31.23, 121.47));

  private static final String[] CPUS = {"Kunpeng 920", "Xeon Platinum 8480+", "EPYC 9654",
      "Hygon C86 7390"};

  private final Random random;

  public ResourceMix(long seed) {
    this.random = new Random(seed);
  }

  /** {@code count} resources of one provider with local keys {@code prefix-0 …}. */
  public List<Resource> resources(String prefix, int count) {
    List<Resource> list = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      list.add(resource(prefix + "-" + i));
    }
    return list;
  }

  /** One resource: 60 % general, 30 % AI, 10 % supercomputing. */
  public Resource resource(String localKey) {
    int roll = random.nextInt(10);
    ComputeKind kind = roll < 6 ? ComputeKind.COMPUTE_KIND_GENERAL
        : roll < 9 ? ComputeKind.COMPUTE_KIND_AI : ComputeKind.COMPUTE_KIND_SUPERCOMPUTING;
    Place place = PLACES.get(random.nextInt(PLACES.size()));
    String cpu = CPUS[random.nextInt(CPUS.length)];
    Resource.Builder r = Resource.newBuilder()
        .setLocalKey(localKey)
        .setComputeKind(kind)
        .setSite(Site.newBuilder().setSiteName(place.city() + " DC" + (1 + random.nextInt(4)))
            .setProvinceCode(place.province()).setCity(place.city())
            .setHubCluster(place.cluster()).setLatitude(place.lat()).setLongitude(place.lon()))
        .setCpu(CpuSpec.newBuilder().setModel(cpu)
            .setArchitecture(cpu.startsWith("Kunpeng") ? "aarch64" : "x86_64")
            .setCores(kind == ComputeKind.COMPUTE_KIND_GENERAL ? 8 << random.nextInt(4) : 128)
            .setBaseFrequencyMhz(2000 + 100 * random.nextInt(10)))
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE)
        .setVersion(1)
        .putLabels("os", random.nextBoolean() ? "ubuntu-22.04" : "openeuler-22.03");
    int total;
    long fen;
    switch (kind) {
      case COMPUTE_KIND_AI -> {
        Accelerator a = ACCELERATORS.get(random.nextInt(ACCELERATORS.size()));
        int count = 8;
        r.setDisplayName(count + "×" + a.model() + " server")
            .setAccelerator(AcceleratorSpec.newBuilder().setModel(a.model()).setVendor(a.vendor())
                .setCount(count).setMemoryGib(a.memoryGib()).setMemoryBandwidthGbps(a.bandwidth()))
            .setFp64Peak(flops(a.fp64() * count))
            .setFp32Peak(flops(a.fp32() * count))
            .setFp16Peak(flops(a.fp16() * count))
            .setInt8Peak(a.int8() == 0 ? Throughput.getDefaultInstance() : Throughput.newBuilder()
                .setValue(a.int8() * count).setUnit(ThroughputUnit.THROUGHPUT_UNIT_TOPS).build())
            .setMemoryGib(2048).setStorageGib(30_720).setStorageType(StorageType.STORAGE_TYPE_SSD)
            .setInterconnect(Interconnect.newBuilder().setType(InterconnectType.INTERCONNECT_TYPE_INFINIBAND)
                .setName("NDR InfiniBand").setBandwidthGbps(3200));
        total = 4 + random.nextInt(125);
        fen = (long) (a.fp16() * 2) * 100 + random.nextInt(1000);
      }
      case COMPUTE_KIND_SUPERCOMPUTING -> {
        r.setDisplayName("HPC partition, 2-socket nodes")
            .setFp64Peak(flops(3.5 + random.nextInt(30) / 10.0))
            .setFp32Peak(flops(7 + random.nextInt(60) / 10.0))
            .setMemoryGib(512).setStorageGib(100_000)
            .setStorageType(StorageType.STORAGE_TYPE_PARALLEL_FILE_SYSTEM)
            .setInterconnect(Interconnect.newBuilder().setType(InterconnectType.INTERCONNECT_TYPE_INFINIBAND)
                .setName("HDR InfiniBand").setBandwidthGbps(200));
        total = 64 + random.nextInt(4000);
        fen = 300 + random.nextInt(500);
      }
      default -> {
        r.setDisplayName(r.getCpu().getCores() + "-vCPU instance")
            .setMemoryGib(r.getCpu().getCores() * 4L).setStorageGib(200)
            .setStorageType(StorageType.STORAGE_TYPE_SSD)
            .setInterconnect(Interconnect.newBuilder().setType(InterconnectType.INTERCONNECT_TYPE_ETHERNET)
                .setBandwidthGbps(25))
            .setUplinkBandwidthMbps(1000);
        total = 100 + random.nextInt(10_000);
        fen = r.getCpu().getCores() * (8L + random.nextInt(10));
      }
    }
    return r.setCapacity(Capacity.newBuilder().setTotalUnits(total)
            .setFreeUnits(random.nextInt(total + 1)))
        .setPricePerUnitHour(Money.newBuilder().setCurrencyCode("CNY").setMinorUnits(fen))
        .build();
  }

  /** The same resource with another number of free units and a higher version. */
  public Resource changeFreeUnits(Resource resource) {
    int total = resource.getCapacity().getTotalUnits();
    int free = random.nextInt(total + 1);
    if (free == resource.getCapacity().getFreeUnits()) {
      free = (free + 1) % (total + 1);
    }
    return resource.toBuilder()
        .setCapacity(resource.getCapacity().toBuilder().setFreeUnits(free))
        .setVersion(resource.getVersion() + 1)
        .build();
  }

  private static Throughput flops(double tflops) {
    return tflops == 0 ? Throughput.getDefaultInstance()
        : Throughput.newBuilder().setValue(tflops).setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS)
            .build();
  }
}
