package cn.cpin.node;

import cn.cpin.protocol.store.KeyValueStore;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Messages to another node kept in the store under one key prefix until that node has taken
 * them: the write that causes a message also puts it here, so nothing is lost by an outage or a
 * restart. One thread delivers them in key order, retrying with exponential backoff; a message
 * overwritten while it was being delivered is delivered again. Thread-safe.
 */
public final class Outbox implements AutoCloseable {
  private static final Duration FIRST_RETRY = Duration.ofMillis(200);
  private static final Duration MAX_RETRY = Duration.ofSeconds(30);
  private static final int BATCH = 100;

  /** Hands one message to its receiver; throws if the receiver has not taken it. */
  @FunctionalInterface
  public interface Delivery {
    void deliver(String key, byte[] message) throws Exception;
  }

  private final String name;
  private final KeyValueStore store;
  private final String prefix;
  private final Delivery delivery;
  private final EventLog events;
  private final ScheduledExecutorService scheduler;
  private Duration retry = FIRST_RETRY;
  private boolean failing;
  private boolean scheduled;

  public Outbox(String name, KeyValueStore store, String prefix, Delivery delivery,
      EventLog events) {
    this.name = name;
    this.store = store;
    this.prefix = prefix;
    this.delivery = delivery;
    this.events = events;
    this.scheduler = Daemons.scheduler(name);
  }

  /** Starts delivering what is waiting, e.g. from before a restart. */
  public Outbox start() {
    wake();
    return this;
  }

  /** Delivers soon: something was added. */
  public synchronized void wake() {
    if (!scheduled && !scheduler.isShutdown()) {
      scheduled = true;
      scheduler.execute(this::drain);
    }
  }

  private void drain() {
    synchronized (this) {
      scheduled = false;
    }
    try {
      while (true) {
        store.sync(); // deliver only what this node cannot lose
        SortedMap<String, byte[]> batch = store.scan(prefix, BATCH);
        if (batch.isEmpty()) {
          return;
        }
        for (Map.Entry<String, byte[]> e : batch.entrySet()) {
          delivery.deliver(e.getKey(), e.getValue());
          store.write(Map.of(), List.of(e.getKey()), Map.of(e.getKey(), Optional.of(e.getValue())));
        }
        if (failing) {
          failing = false;
          events.info(name + ".resumed");
        }
        retry = FIRST_RETRY;
      }
    } catch (Exception e) {
      if (!failing) {
        failing = true;
        events.warn(name + ".retrying", "error", String.valueOf(e.getMessage()));
      }
      synchronized (this) {
        if (!scheduler.isShutdown()) {
          scheduled = true;
          scheduler.schedule(this::drain, retry.toMillis(), TimeUnit.MILLISECONDS);
        }
      }
      retry = retry.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : retry.multipliedBy(2);
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
