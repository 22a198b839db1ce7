package cn.cpin.conformance;

import io.grpc.ManagedChannel;
import java.util.concurrent.TimeUnit;

/**
 * Base of every conformance suite, after grpc-java's {@code AbstractInteropTest}: the checks live
 * in abstract suites shipped in this artifact, and whoever runs them (the command line against a
 * vendor's node, the build against the reference nodes) binds them to a target by implementing
 * {@link #target()}.
 */
public abstract class ConformanceSuite {
  /** The node under test. */
  protected abstract ConformanceTarget target();

  /** A channel to the node under test as the identity that may call the most. */
  protected final ManagedChannel channel() {
    return target().channel();
  }

  /** The per-call deadline in milliseconds, for {@code withDeadlineAfter}. */
  protected final long deadlineMillis() {
    return target().deadline().toMillis();
  }

  /** Convenience for stubs: {@code stub.withDeadlineAfter(deadlineMillis(), MILLIS)}. */
  protected static final TimeUnit MILLIS = TimeUnit.MILLISECONDS;
}
