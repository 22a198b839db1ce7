package cn.cpin.node;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.identifier.NodeCode;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The link from a regional or industry node to the node it reports to.
 *
 * <p>It asks the parent who it is, checks that it is the parent this node's code names (a regional
 * node's parent is 86; an industry node 86.PP.S reports to 86.PP), then follows the parent's health.
 * It retries with exponential backoff for as long as the node runs, so the order in which nodes start
 * does not matter. Thread-safe: all work runs on one scheduler thread.
 */
final class ParentLink implements AutoCloseable {
  private static final Duration FIRST_RETRY = Duration.ofMillis(250);
  private static final Duration MAX_RETRY = Duration.ofSeconds(15);

  private final NodeCode expectedParent;
  private final ManagedChannel channel;
  private final EventLog events;
  private final ScheduledExecutorService scheduler;
  private Duration retryDelay = FIRST_RETRY;
  private boolean reportedUnreachable;
  private volatile boolean closed;

  ParentLink(NodeCode expectedParent, ManagedChannel channel, EventLog events) {
    this.expectedParent = expectedParent;
    this.channel = channel;
    this.events = events;
    this.scheduler = Daemons.scheduler("parent-link");
  }

  void start() {
    scheduler.execute(this::connect);
  }

  private void connect() {
    if (closed) {
      return;
    }
    NodeInfo parent;
    try {
      parent = NodeInfoServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .getNodeInfo(GetNodeInfoRequest.getDefaultInstance())
          .getNodeInfo();
    } catch (StatusRuntimeException e) {
      if (!reportedUnreachable) {
        events.warn("parent.unreachable", "parent", expectedParent, "target", channel.authority(),
            "status", e.getStatus().getCode(), "retry_in_ms", retryDelay.toMillis());
        reportedUnreachable = true;
      }
      retryLater();
      return;
    }
    NodeRole expectedRole = expectedParent.isNational() ? NodeRole.NODE_ROLE_NATIONAL
        : NodeRole.NODE_ROLE_REGIONAL;
    if (!parent.getNodeCode().equals(expectedParent.toString()) || parent.getRole() != expectedRole) {
      events.error("parent.mismatch", "expected", expectedParent, "expected_role", expectedRole,
          "got", parent.getNodeCode(), "got_role", parent.getRole(), "target", channel.authority());
      retryDelay = MAX_RETRY;
      retryLater();
      return;
    }
    reportedUnreachable = false;
    retryDelay = FIRST_RETRY;
    events.info("parent.linked", "parent", parent.getNodeCode(), "role", parent.getRole(),
        "software", parent.getSoftwareName() + "/" + parent.getSoftwareVersion(),
        "target", channel.authority());
    watchHealth();
  }

  private void watchHealth() {
    HealthGrpc.newStub(channel).watch(HealthCheckRequest.getDefaultInstance(),
        new StreamObserver<>() {
          @Override
          public void onNext(HealthCheckResponse response) {
            events.info("parent.health", "parent", expectedParent, "status", response.getStatus());
          }

          @Override
          public void onError(Throwable t) {
            if (!closed) {
              events.warn("parent.lost", "parent", expectedParent,
                  "status", io.grpc.Status.fromThrowable(t).getCode());
              scheduler.execute(ParentLink.this::connect);
            }
          }

          @Override
          public void onCompleted() {
            onError(io.grpc.Status.UNAVAILABLE.asRuntimeException());
          }
        });
  }

  private void retryLater() {
    if (closed) {
      return;
    }
    scheduler.schedule(this::connect, retryDelay.toMillis(), TimeUnit.MILLISECONDS);
    retryDelay = retryDelay.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY
        : retryDelay.multipliedBy(2);
  }

  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    channel.shutdownNow();
  }
}
