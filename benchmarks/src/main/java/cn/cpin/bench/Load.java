package cn.cpin.bench;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongFunction;

/** Load generators with a fixed concurrency and a fixed duration; every loop ends by itself. */
final class Load {
  /** Generous bound on draining calls in flight once a phase has ended. */
  private static final long DRAIN_SECONDS = 60;

  private Load() {}

  /**
   * What one phase did: calls completed within the window (the rate's numerator), calls completed
   * in all (the window plus those in flight at its end), and failures.
   */
  record Phase(String name, long completed, long completedTotal, long failed, double seconds,
      String firstError) {
    double rate() {
      return completed / seconds;
    }
  }

  /** Sums phases of one kind (A/B alternation): total completed over total time. */
  static Phase sum(String name, List<Phase> phases) {
    long completed = 0;
    long total = 0;
    long failed = 0;
    double seconds = 0;
    String firstError = null;
    for (Phase p : phases) {
      completed += p.completed();
      total += p.completedTotal();
      failed += p.failed();
      seconds += p.seconds();
      if (firstError == null) {
        firstError = p.firstError();
      }
    }
    return new Phase(name, completed, total, failed, seconds, firstError);
  }

  /** One call of an asynchronous load; {@code seq} numbers the calls of the phase from 0. */
  interface AsyncCall extends LongFunction<ListenableFuture<?>> {}

  /** One call of a threaded load: thread index, sequence number within the thread. */
  interface BlockingCall {
    void call(int thread, long seq) throws Exception;
  }

  /**
   * Keeps {@code outstanding} calls in flight (a semaphore) for {@code seconds}, from one
   * submitting thread; then waits for the calls in flight.
   */
  static Phase async(String name, int outstanding, double seconds, AsyncCall call)
      throws InterruptedException {
    Semaphore permits = new Semaphore(outstanding);
    AtomicLong completed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicReference<String> firstError = new AtomicReference<>();
    long start = System.nanoTime();
    long end = start + (long) (seconds * 1e9);
    long seq = 0;
    while (System.nanoTime() < end) {
      if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) {
        continue;
      }
      ListenableFuture<?> future;
      try {
        future = call.apply(seq++);
      } catch (RuntimeException e) {
        permits.release();
        failed.incrementAndGet();
        firstError.compareAndSet(null, e.toString());
        continue;
      }
      future.addListener(() -> {
        try {
          future.get();
          completed.incrementAndGet();
        } catch (ExecutionException e) {
          failed.incrementAndGet();
          firstError.compareAndSet(null, String.valueOf(e.getCause()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          permits.release();
        }
      }, MoreExecutors.directExecutor());
    }
    long inWindow = completed.get();
    long failedInWindow = failed.get();
    double elapsed = (System.nanoTime() - start) / 1e9;
    if (!permits.tryAcquire(outstanding, DRAIN_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + ": calls still in flight " + DRAIN_SECONDS
          + " s after the phase ended");
    }
    return new Phase(name, inWindow, completed.get(), Math.max(failedInWindow, failed.get()),
        elapsed, firstError.get());
  }

  /** Exactly {@code count} calls with {@code outstanding} in flight; returns failures. */
  static Phase asyncCount(String name, int outstanding, long count, AsyncCall call)
      throws InterruptedException {
    Semaphore permits = new Semaphore(outstanding);
    AtomicLong completed = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicReference<String> firstError = new AtomicReference<>();
    long start = System.nanoTime();
    for (long seq = 0; seq < count; seq++) {
      permits.acquire();
      ListenableFuture<?> future = call.apply(seq);
      future.addListener(() -> {
        try {
          future.get();
          completed.incrementAndGet();
        } catch (ExecutionException e) {
          failed.incrementAndGet();
          firstError.compareAndSet(null, String.valueOf(e.getCause()));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        } finally {
          permits.release();
        }
      }, MoreExecutors.directExecutor());
    }
    if (!permits.tryAcquire(outstanding, DRAIN_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException(name + ": calls still in flight after " + DRAIN_SECONDS
          + " s");
    }
    return new Phase(name, completed.get(), completed.get(), failed.get(),
        (System.nanoTime() - start) / 1e9, firstError.get());
  }

  /**
   * {@code threads} threads each calling {@code call} back to back for {@code seconds}; a call
   * that ends after the window counts in {@link Phase#completedTotal} only.
   */
  static Phase threads(String name, int threads, double seconds, BlockingCall call)
      throws InterruptedException {
    AtomicLong completed = new AtomicLong();
    AtomicLong completedTotal = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicReference<String> firstError = new AtomicReference<>();
    AtomicBoolean open = new AtomicBoolean(true);
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int index = t;
      Thread worker = new Thread(() -> {
        ready.countDown();
        try {
          go.await();
        } catch (InterruptedException e) {
          return;
        }
        for (long seq = 0; open.get(); seq++) {
          try {
            call.call(index, seq);
            completedTotal.incrementAndGet();
            if (open.get()) {
              completed.incrementAndGet();
            }
          } catch (Exception e) {
            failed.incrementAndGet();
            firstError.compareAndSet(null, e.toString());
          }
        }
      }, name + "-" + t);
      worker.setDaemon(true);
      workers.add(worker);
      worker.start();
    }
    ready.await();
    long start = System.nanoTime();
    go.countDown();
    Thread.sleep((long) (seconds * 1000));
    open.set(false);
    long inWindow = completed.get();
    double elapsed = (System.nanoTime() - start) / 1e9;
    for (Thread worker : workers) {
      worker.join(TimeUnit.SECONDS.toMillis(DRAIN_SECONDS));
      if (worker.isAlive()) {
        throw new IllegalStateException(name + ": a worker is still busy " + DRAIN_SECONDS
            + " s after the phase ended");
      }
    }
    return new Phase(name, inWindow, completedTotal.get(), failed.get(), elapsed,
        firstError.get());
  }
}
