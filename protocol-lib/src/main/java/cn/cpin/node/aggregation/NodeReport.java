package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.AggregateDelta;
import cn.cpin.aggregation.v1.AggregateSnapshot;
import cn.cpin.aggregation.v1.ReportAggregateRequest;
import cn.cpin.aggregation.v1.ReportAggregateResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceRejection;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import com.google.protobuf.util.Durations;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One industry node's {@code ReportAggregate} stream at its regional node (AGG-009 … AGG-011):
 * the same version, duplicate and resynchronisation rules as provider publication, applied to the
 * resources the industry node aggregated; each accepted copy records this node in
 * {@code provenance.via_node_codes}.
 *
 * <p>Not thread-safe: one instance per stream, fed one message at a time.
 */
public final class NodeReport {
  private final Inventory inventory;
  private final CpinIdentity caller;
  private final FeedStream feed = new FeedStream();
  private NodeCode reporter;
  private Inventory.Source source;
  private final Set<String> snapshotIds = new HashSet<>();

  public NodeReport(Inventory inventory, CpinIdentity caller) {
    this.inventory = inventory;
    this.caller = caller;
  }

  /** Handles one message and returns its acknowledgement. */
  public ReportAggregateResponse accept(ReportAggregateRequest request) {
    feed.sequence(request.getSequenceNumber());
    if (source == null) {
      open(request.getSourceNodeCode());
    } else if (!request.getSourceNodeCode().equals(reporter.toString())) {
      throw InvalidArgumentException.of("source_node_code", "changed within the stream from "
          + reporter, ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    inventory.heard(source);
    ReportAggregateResponse.Builder ack = ReportAggregateResponse.newBuilder()
        .setAcknowledgedSequenceNumber(request.getSequenceNumber())
        .setHeartbeatInterval(Durations.fromMillis(inventory.heartbeatInterval().toMillis()));
    synchronized (source) {
      switch (request.getPayloadCase()) {
        case SNAPSHOT -> snapshot(request.getSnapshot(), ack);
        case DELTA -> delta(request.getDelta(), ack);
        case HEARTBEAT -> ack.setStatus(AckStatus.ACK_STATUS_ACCEPTED);
        case PAYLOAD_NOT_SET -> throw InvalidArgumentException.of("payload",
            "one of snapshot, delta or heartbeat is required",
            ErrorReason.ERROR_REASON_FIELD_REQUIRED);
      }
      ack.setAcknowledgedVersion(source.acknowledgedVersion());
    }
    return ack.build();
  }

  // AGG-010: an industry node of this region, reporting under its own code.
  private void open(String sourceNodeCode) {
    NodeCode self = inventory.nodeCode();
    if (caller.kind() != CpinIdentity.Kind.NODE || !caller.nodeCode().isIndustry()
        || !caller.nodeCode().parent().map(self::equals).orElse(false)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
          caller.uri() + " is not an industry node of " + self);
    }
    if (!caller.nodeCode().toString().equals(sourceNodeCode)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "source_node_code " + sourceNodeCode + " is not the caller " + caller.nodeCode());
    }
    reporter = caller.nodeCode();
    source = inventory.node(reporter);
  }

  private void snapshot(AggregateSnapshot snapshot, ReportAggregateResponse.Builder ack) {
    FeedStream.Decision decision = feed.snapshotChunk(source.acknowledgedVersion(),
        snapshot.getVersion(), snapshot.getChunkIndex(), snapshot.getLastChunk());
    ack.setStatus(decision.ack());
    if (decision == FeedStream.Decision.DUPLICATE || decision == FeedStream.Decision.RESYNC) {
      snapshotIds.clear();
      return;
    }
    feed.snapshot().addAll(accepted(snapshot.getResourcesList(), "snapshot.resources",
        snapshotIds, ack));
    if (decision == FeedStream.Decision.APPLY) {
      inventory.applySnapshot(source, snapshot.getVersion(), List.copyOf(feed.snapshot()));
      feed.discard();
      snapshotIds.clear();
    }
  }

  private void delta(AggregateDelta delta, ReportAggregateResponse.Builder ack) {
    FeedStream.Decision decision = feed.delta(source.acknowledgedVersion(),
        delta.getBaseVersion(), delta.getVersion());
    snapshotIds.clear();
    ack.setStatus(decision.ack());
    if (decision != FeedStream.Decision.APPLY) {
      return;
    }
    List<Resource> upserts = accepted(delta.getUpsertsList(), "delta.upserts", new HashSet<>(),
        ack);
    List<String> removed = new ArrayList<>();
    for (String id : delta.getRemovedResourceIdsList()) {
      if (!isReporters(id)) {
        reject(ack, "", id, ErrorReason.ERROR_REASON_NOT_OWNER,
            "removed_resource_ids: " + id + " was not issued under " + reporter);
      } else {
        removed.add(id);
      }
    }
    inventory.applyDelta(source, delta.getVersion(), upserts, removed);
  }

  private List<Resource> accepted(List<Resource> resources, String field, Set<String> seenIds,
      ReportAggregateResponse.Builder ack) {
    List<Resource> accepted = new ArrayList<>(resources.size());
    String self = inventory.nodeCode().toString();
    for (int i = 0; i < resources.size(); i++) {
      Resource r = resources.get(i);
      String path = field + "[" + i + "]";
      List<FieldViolation> problems = new ArrayList<>();
      if (r.getResourceId().isEmpty()) {
        problems.add(new FieldViolation(path + ".resource_id", "is required in a report",
            ErrorReason.ERROR_REASON_FIELD_REQUIRED));
      } else if (!isReporters(r.getResourceId())) {
        problems.add(new FieldViolation(path + ".resource_id", "was not issued under "
            + reporter, ErrorReason.ERROR_REASON_NOT_OWNER));
      } else if (!seenIds.add(r.getResourceId())) {
        problems.add(new FieldViolation(path + ".resource_id", "is repeated within the report",
            ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
      if (!r.hasProvenance()) {
        problems.add(new FieldViolation(path + ".provenance", "is required in a report",
            ErrorReason.ERROR_REASON_FIELD_REQUIRED));
      } else {
        if (!r.getProvenance().getOriginNodeCode().equals(reporter.toString())) {
          problems.add(new FieldViolation(path + ".provenance.origin_node_code",
              "is not the reporting node " + reporter, ErrorReason.ERROR_REASON_NOT_OWNER));
        }
        if (r.getProvenance().getProviderId().isEmpty()) {
          problems.add(new FieldViolation(path + ".provenance.provider_id", "is required",
              ErrorReason.ERROR_REASON_FIELD_REQUIRED));
        }
      }
      for (FieldViolation p : ResourceRules.check(r)) {
        problems.add(new FieldViolation(path + "." + p.field(), p.description(), p.reason()));
      }
      if (!problems.isEmpty()) {
        reject(ack, r.getLocalKey(), r.getResourceId(), ResourceRules.reasonOf(problems),
            ResourceRules.describe(problems));
        continue;
      }
      Resource.Builder copy = r.toBuilder();
      copy.getProvenanceBuilder().clearViaNodeCodes()
          .addAllViaNodeCodes(r.getProvenance().getViaNodeCodesList())
          .addViaNodeCodes(self);
      accepted.add(copy.build());
    }
    return accepted;
  }

  private boolean isReporters(String resourceId) {
    return Identifier.isValid(resourceId)
        && Identifier.parse(resourceId).nodeCode().equals(reporter);
  }

  private static void reject(ReportAggregateResponse.Builder ack, String localKey,
      String resourceId, ErrorReason reason, String message) {
    ack.addRejections(ResourceRejection.newBuilder()
        .setLocalKey(localKey)
        .setResourceId(resourceId)
        .setReason(StatusMapping.reasonName(reason))
        .setMessage(message));
  }
}
