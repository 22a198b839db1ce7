package cn.cpin.node.trust;

import cn.cpin.node.Daemons;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.Credentials;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Renews the node's certificate once two thirds of its validity have passed (SEC-009) and swaps it
 * into the running servers and channels; a failed renewal is retried until the old certificate
 * expires.
 */
public final class CertificateRenewer implements AutoCloseable {
  /**
   * How a node kind obtains its next credentials (from its own CA, or from the national node) and
   * stores them before they are used.
   */
  @FunctionalInterface
  public interface Renewal {
    Credentials renew(Credentials current) throws Exception;
  }

  private final NodeTls tls;
  private final Renewal renewal;
  private final EventLog events;
  private final Clock clock;
  private final ScheduledExecutorService scheduler;

  public CertificateRenewer(NodeTls tls, Renewal renewal, EventLog events, Clock clock) {
    this.tls = tls;
    this.renewal = renewal;
    this.events = events;
    this.clock = clock;
    this.scheduler = Daemons.scheduler("certificate-renewer");
  }

  public void start() {
    scheduleFor(tls.credentials());
  }

  /**
   * When {@code leaf} should be renewed: two thirds into its validity, counted from when it was
   * issued; the CA backdates notBefore for clock skew, which must not shorten the count.
   */
  static Instant renewalTime(X509Certificate leaf) {
    Instant to = leaf.getNotAfter().toInstant();
    Instant from = leaf.getNotBefore().toInstant().plus(CertificateAuthority.BACKDATE);
    if (!from.isBefore(to)) {
      from = leaf.getNotBefore().toInstant();
    }
    return from.plus(Duration.between(from, to).multipliedBy(2).dividedBy(3));
  }

  private void scheduleFor(Credentials credentials) {
    long delay = Math.max(0, Duration.between(clock.instant(),
        renewalTime(credentials.chain().get(0))).toMillis());
    schedule(delay);
  }

  // The node may be stopping: then there is nothing left to renew for.
  private void schedule(long delayMillis) {
    try {
      scheduler.schedule(this::renew, delayMillis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException stopping) {
      // Closed.
    }
  }

  private void renew() {
    Credentials current = tls.credentials();
    try {
      Credentials next = renewal.renew(current);
      tls.update(next);
      X509Certificate leaf = next.chain().get(0);
      events.info("certificate.renewed", "serial", leaf.getSerialNumber().toString(16),
          "not_after", leaf.getNotAfter().toInstant());
      scheduleFor(next);
    } catch (Exception e) {
      Duration left = Duration.between(clock.instant(),
          current.chain().get(0).getNotAfter().toInstant());
      long retry = Math.max(500, Math.min(30_000, left.toMillis() / 10));
      if (scheduler.isShutdown()) {
        return;
      }
      events.warn("certificate.renewal_failed", "error", String.valueOf(e.getMessage()),
          "retry_in_ms", retry);
      schedule(retry);
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
