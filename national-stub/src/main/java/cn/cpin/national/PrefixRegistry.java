package cn.cpin.national;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.Endpoint;
import cn.cpin.identifier.v1.NodeCodeAllocation;
import cn.cpin.identifier.v1.NodeCodeStatus;
import cn.cpin.identifier.v1.PrefixRecord;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Timestamps;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which node serves each prefix, and where (IDN-022, IDN-023): the root of resolution. An
 * industry prefix without endpoints of its own is served by its regional node.
 */
final class PrefixRegistry {
  private static final String PREFIX = "prefix/";

  private final KeyValueStore store;
  private final NodeRegistry nodes;
  private final Clock clock;

  PrefixRegistry(KeyValueStore store, NodeRegistry nodes, Clock clock) {
    this.store = store;
    this.nodes = nodes;
    this.clock = clock;
  }

  /** Replaces the endpoints of {@code prefix}; only its node (or its regional node) may. */
  synchronized PrefixRecord register(CpinIdentity caller, NodeCode prefix, NodeCode serving,
      List<Endpoint> endpoints) {
    boolean allowed = caller.kind() == CpinIdentity.Kind.NODE
        && (caller.nodeCode().equals(prefix)
            || prefix.parent().map(caller.nodeCode()::equals).orElse(false)
               && prefix.isIndustry());
    if (!allowed) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, caller.uri()
          + " may not register endpoints for prefix " + prefix);
    }
    requireUsable(prefix);
    long version = stored(prefix).map(PrefixRecord::getVersion).orElse(0L) + 1;
    PrefixRecord record = PrefixRecord.newBuilder()
        .setPrefix(prefix.toString())
        .setServingNodeCode((serving == null ? caller.nodeCode() : serving).toString())
        .addAllEndpoints(endpoints)
        .setVersion(version)
        .setUpdatedAt(Timestamps.fromMillis(clock.millis()))
        .build();
    store.put(PREFIX + prefix, record.toByteArray());
    return record;
  }

  /** Where {@code prefix} is served. */
  PrefixRecord resolve(NodeCode prefix) {
    requireUsable(prefix);
    Optional<PrefixRecord> own = stored(prefix);
    if (own.isPresent()) {
      return own.get();
    }
    if (prefix.isIndustry()) {
      return stored(prefix.parent().orElseThrow()).map(r -> r.toBuilder()
              .setPrefix(prefix.toString()).build())
          .orElseThrow(() -> notFound(prefix));
    }
    throw notFound(prefix);
  }

  private void requireUsable(NodeCode prefix) {
    NodeCodeAllocation allocation = nodes.get(prefix).orElseThrow(() -> notFound(prefix));
    if (allocation.getStatus() == NodeCodeStatus.NODE_CODE_STATUS_REVOKED) {
      throw CpinException.failedPrecondition("prefix " + prefix + " is revoked");
    }
  }

  private Optional<PrefixRecord> stored(NodeCode prefix) {
    return store.get(PREFIX + prefix).map(bytes -> {
      try {
        return PrefixRecord.parseFrom(bytes);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt prefix record", e);
      }
    });
  }

  private static CpinException notFound(NodeCode prefix) {
    return CpinException.notFound("prefix " + prefix + " has no registered endpoints",
        Map.of("prefix", prefix.toString()));
  }
}
