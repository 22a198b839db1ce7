package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.InventoryDelta;
import cn.cpin.aggregation.v1.InventorySnapshot;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.PublishInventoryRequest;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceAssignment;
import cn.cpin.aggregation.v1.ResourceRejection;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One provider's {@code PublishInventory} stream at a node (flow 4, AGG-001 … AGG-008): checks who
 * publishes, assembles snapshots, applies versions to the {@link Inventory}, assigns identifiers
 * and answers each message with its acknowledgement.
 *
 * <p>A stream-level failure is thrown as a {@link CpinException} and ends the stream; problems of
 * single resources are listed in the ack's rejections and the rest is applied. Not thread-safe:
 * one instance per stream, fed one message at a time.
 */
public final class ProviderPublication {
  private final Inventory inventory;
  private final CpinIdentity caller;
  private final ResourceIdentifiers identifiers;
  private final ProviderStanding standing;
  private final Clock clock;
  private final FeedStream feed = new FeedStream();
  private String providerId;
  private Inventory.Source source;
  /** local_keys of the snapshot being assembled, so a key repeated across chunks is refused. */
  private final Set<String> snapshotKeys = new HashSet<>();

  public ProviderPublication(Inventory inventory, CpinIdentity caller,
      ResourceIdentifiers identifiers, ProviderStanding standing, Clock clock) {
    this.inventory = inventory;
    this.caller = caller;
    this.identifiers = identifiers;
    this.standing = standing;
    this.clock = clock;
  }

  /** Handles one message and returns its acknowledgement. */
  public PublishInventoryResponse accept(PublishInventoryRequest request) {
    feed.sequence(request.getSequenceNumber());
    if (source == null) {
      open(request.getProviderId());
    } else if (!request.getProviderId().equals(providerId)) {
      throw InvalidArgumentException.of("provider_id", "changed within the stream from "
          + providerId, ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    inventory.heard(source);
    PublishInventoryResponse.Builder ack = PublishInventoryResponse.newBuilder()
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

  // AGG-001: only the approved provider itself, identified by its certificate.
  private void open(String requested) {
    if (caller.kind() != CpinIdentity.Kind.PARTICIPANT || caller.participantId().isEmpty()) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_ROLE_NOT_ALLOWED,
          caller.uri() + " is not a participant of this node");
    }
    Identifier own = caller.participantId().get();
    if (!own.toString().equals(requested)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "provider_id " + requested + " is not the caller " + own);
    }
    standing.checkApproved(own);
    providerId = requested;
    source = inventory.provider(requested);
  }

  private void snapshot(InventorySnapshot snapshot, PublishInventoryResponse.Builder ack) {
    FeedStream.Decision decision = feed.snapshotChunk(source.acknowledgedVersion(),
        snapshot.getVersion(), snapshot.getChunkIndex(), snapshot.getLastChunk());
    ack.setStatus(decision.ack());
    if (decision == FeedStream.Decision.DUPLICATE || decision == FeedStream.Decision.RESYNC) {
      snapshotKeys.clear();
      return;
    }
    feed.snapshot().addAll(complete(snapshot.getResourcesList(), "snapshot.resources",
        snapshotKeys, ack));
    if (decision == FeedStream.Decision.APPLY) {
      inventory.applySnapshot(source, snapshot.getVersion(), List.copyOf(feed.snapshot()));
      feed.discard();
      snapshotKeys.clear();
    }
  }

  private void delta(InventoryDelta delta, PublishInventoryResponse.Builder ack) {
    FeedStream.Decision decision = feed.delta(source.acknowledgedVersion(),
        delta.getBaseVersion(), delta.getVersion());
    snapshotKeys.clear();
    ack.setStatus(decision.ack());
    if (decision != FeedStream.Decision.APPLY) {
      return;
    }
    Set<String> keys = new HashSet<>();
    List<Resource> upserts = complete(delta.getUpsertsList(), "delta.upserts", keys, ack);
    List<String> removed = new ArrayList<>();
    for (String key : delta.getRemovedLocalKeysList()) {
      var id = source.resourceIdOf(key);
      if (id.isEmpty()) {
        reject(ack, key, "", ErrorReason.ERROR_REASON_NOT_FOUND,
            "removed_local_keys: no resource with local_key '" + ResourceRules.abbreviate(key)
                + "'");
      } else {
        removed.add(id.get());
      }
    }
    for (String id : delta.getRemovedResourceIdsList()) {
      if (!source.owns(id)) {
        reject(ack, "", id, ErrorReason.ERROR_REASON_NOT_OWNER,
            "removed_resource_ids: " + id + " was not issued to " + providerId);
      } else {
        removed.add(id);
      }
    }
    inventory.applyDelta(source, delta.getVersion(), upserts, removed);
  }

  /**
   * Checks each resource (AGG-006), assigns missing identifiers (AGG-005) and sets provenance
   * (AGG-008); returns the accepted ones and lists the refused ones in {@code ack}.
   */
  private List<Resource> complete(List<Resource> resources, String field, Set<String> seenKeys,
      PublishInventoryResponse.Builder ack) {
    Map<String, Integer> keyCounts = new HashMap<>();
    for (Resource r : resources) {
      keyCounts.merge(r.getLocalKey(), 1, Integer::sum);
    }
    List<Resource> accepted = new ArrayList<>(resources.size());
    for (int i = 0; i < resources.size(); i++) {
      Resource r = resources.get(i);
      String path = field + "[" + i + "]";
      List<FieldViolation> problems = new ArrayList<>();
      for (FieldViolation p : ResourceRules.check(r)) {
        problems.add(new FieldViolation(path + "." + p.field(), p.description(), p.reason()));
      }
      String key = r.getLocalKey();
      if (!key.isEmpty() && (keyCounts.get(key) > 1 || seenKeys.contains(key))) {
        problems.add(new FieldViolation(path + ".local_key", "'" + ResourceRules.abbreviate(key)
            + "' is repeated within the publication", ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
      if (!r.getProviderId().isEmpty() && !r.getProviderId().equals(providerId)) {
        problems.add(new FieldViolation(path + ".provider_id", "is not the stream's provider "
            + providerId, ErrorReason.ERROR_REASON_NOT_OWNER));
      }
      String known = key.isEmpty() ? null : source.resourceIdOf(key).orElse(null);
      if (!r.getResourceId().isEmpty()) {
        // An id this node issued for exactly this provider and local_key, nothing else.
        if (!key.isEmpty() && !r.getResourceId().equals(known)) {
          problems.add(new FieldViolation(path + ".resource_id", r.getResourceId()
              + " was not issued to " + providerId + " for this local_key",
              ErrorReason.ERROR_REASON_NOT_OWNER));
        }
      }
      if (!problems.isEmpty()) {
        reject(ack, key, r.getResourceId(), ResourceRules.reasonOf(problems),
            ResourceRules.describe(problems));
        continue;
      }
      seenKeys.add(key);
      String id = known;
      if (id == null) {
        id = identifiers.issue(providerId, key);
        inventory.rememberResourceId(source, key, id);
      }
      if (r.getResourceId().isEmpty()) {
        ack.addAssignments(ResourceAssignment.newBuilder().setLocalKey(key).setResourceId(id));
      }
      Resource.Builder stored = r.toBuilder()
          .setResourceId(id)
          .setProviderId(providerId)
          .setProvenance(Provenance.newBuilder()
              .setOriginNodeCode(inventory.nodeCode().toString())
              .setProviderId(providerId)
              .setReceivedAt(Timestamps.fromMillis(clock.millis())));
      if (r.getStatus() == ResourceStatus.RESOURCE_STATUS_UNSPECIFIED) {
        stored.setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE);
      }
      accepted.add(stored.build());
    }
    return accepted;
  }

  private static void reject(PublishInventoryResponse.Builder ack, String localKey,
      String resourceId, ErrorReason reason, String message) {
    ack.addRejections(ResourceRejection.newBuilder()
        .setLocalKey(localKey)
        .setResourceId(resourceId)
        .setReason(StatusMapping.reasonName(reason))
        .setMessage(message));
  }
}
