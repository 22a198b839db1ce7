package cn.cpin.provider;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.Resource;
import io.grpc.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Many simulated compute providers publishing realistic inventories (see {@link ResourceMix}) to
 * nodes over the standard interface, for tests, benchmarks and the demo: each has its own channel
 * (its own mTLS identity), connects, publishes a snapshot, then changes free capacity and sends
 * heartbeats. Reconnects resume from the acknowledged version when the node has it, else publish a
 * snapshot. Thread-safe.
 */
public final class ProviderSimulator implements AutoCloseable {
  /** One simulated provider: its client and its current resources. */
  public static final class Provider {
    private final ProviderClient client;
    private final List<Resource> resources;
    private volatile long lastSentNanos = System.nanoTime();
    private volatile Throwable failure;

    Provider(ProviderClient client, List<Resource> resources) {
      this.client = client;
      this.resources = new ArrayList<>(resources);
    }

    public ProviderClient client() {
      return client;
    }

    /** Why the last {@link ProviderSimulator#connectAll} failed for this provider, if it did. */
    public Throwable failure() {
      return failure;
    }

    /** The provider's resources as last published. */
    public synchronized List<Resource> resources() {
      return List.copyOf(resources);
    }

    /** Connects; resumes with deltas if the node acknowledged the current version, else a snapshot. */
    public CompletableFuture<PublishInventoryResponse> connect() {
      lastSentNanos = System.nanoTime();
      return client.connect().thenCompose(hello -> {
        if (client.canResume()) {
          return CompletableFuture.completedFuture(hello);
        }
        synchronized (this) {
          return client.snapshot(List.copyOf(resources));
        }
      });
    }

    /**
     * Changes the free units of resource {@code index} and publishes the change as a delta;
     * {@code sent} sees the changed resource just before it goes out.
     */
    public CompletableFuture<PublishInventoryResponse> change(int index, ResourceMix mix,
        Consumer<Resource> sent) {
      return change(index, r -> {
        Resource changed = mix.changeFreeUnits(r);
        sent.accept(changed);
        return changed;
      });
    }

    /** Replaces resource {@code index} by {@code how} applied to it and publishes it as a delta. */
    public CompletableFuture<PublishInventoryResponse> change(int index,
        java.util.function.UnaryOperator<Resource> how) {
      synchronized (this) {
        Resource changed = how.apply(resources.get(index));
        resources.set(index, changed);
        lastSentNanos = System.nanoTime();
        return client.delta(List.of(changed), List.of()).thenCompose(ack ->
            ack.getStatus() == AckStatus.ACK_STATUS_RESYNC_REQUIRED ? resync() :
                CompletableFuture.completedFuture(ack));
      }
    }

    private synchronized CompletableFuture<PublishInventoryResponse> resync() {
      return client.snapshot(List.copyOf(resources));
    }

    void heartbeatIfIdle(long intervalNanos) {
      if (client.connected() && System.nanoTime() - lastSentNanos >= intervalNanos) {
        lastSentNanos = System.nanoTime();
        client.heartbeat();
      }
    }
  }

  private final List<Provider> providers = new ArrayList<>();
  private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "simulated-heartbeats");
        t.setDaemon(true);
        return t;
      });

  /**
   * @param channels one channel per provider, each authenticated as that provider
   * @param providerIds the providers' participant ids, in the same order
   * @param resourcesEach resources per provider
   */
  public ProviderSimulator(List<? extends Channel> channels, List<String> providerIds,
      int resourcesEach, long seed) {
    ResourceMix mix = new ResourceMix(seed);
    for (int i = 0; i < channels.size(); i++) {
      String id = providerIds.get(i);
      providers.add(new Provider(new ProviderClient(channels.get(i), id),
          mix.resources("res", resourcesEach)));
    }
  }

  public List<Provider> providers() {
    return providers;
  }

  /**
   * Connects every provider with at most {@code inFlight} connections being set up at once, and
   * waits until each has its snapshot acknowledged or resumed.
   *
   * @return the providers that failed to connect
   */
  public List<Provider> connectAll(int inFlight, Duration timeout) throws InterruptedException {
    Semaphore permits = new Semaphore(inFlight);
    List<CompletableFuture<PublishInventoryResponse>> all = new ArrayList<>();
    for (Provider p : providers) {
      permits.acquire();
      CompletableFuture<PublishInventoryResponse> f = p.connect();
      f.whenComplete((ack, e) -> permits.release());
      all.add(f);
    }
    List<Provider> failed = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < all.size(); i++) {
      try {
        all.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        providers.get(i).failure = e.getCause();
        failed.add(providers.get(i));
      } catch (java.util.concurrent.TimeoutException e) {
        providers.get(i).failure = e;
        failed.add(providers.get(i));
      }
    }
    return failed;
  }

  /** Sends a heartbeat for every provider that sent nothing for {@code interval}. */
  public void startHeartbeats(Duration interval) {
    long nanos = interval.toNanos();
    heartbeats.scheduleWithFixedDelay(() -> {
      for (Provider p : providers) {
        p.heartbeatIfIdle(nanos);
      }
    }, 100, Math.max(10, interval.toMillis() / 10), TimeUnit.MILLISECONDS);
  }

  /** A random provider, for load generators. */
  public Provider any(Random random) {
    return providers.get(random.nextInt(providers.size()));
  }

  @Override
  public void close() {
    heartbeats.shutdownNow();
    for (Provider p : providers) {
      p.client().close();
    }
  }
}
