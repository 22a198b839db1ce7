package cn.cpin.regional;

import cn.cpin.protocol.Sha256;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierStatus;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * The regional identifier library (flow 2, IDN-008…IDN-014): issues identifiers under the node's
 * code and its industry nodes' codes, keeps their records, and queues every one for filing with
 * the national node.
 *
 * <p>Serials come from blocks reserved with an atomic increment in the store, so two replicas of
 * one node sharing a store, and a restarted node, never hand out the same serial; a block's unused
 * serials are skipped, never reused (IDN-009). A request id answers with its first record.
 * Thread-safe.
 */
final class IdentifierLibrary {
  static final long SERIAL_BLOCK = 1024;
  static final int MAX_ATTRIBUTES = 64;
  static final int MAX_ATTRIBUTE_LENGTH = 256;

  private static final String RECORD = "idn/record/";
  private static final String REQUEST = "idn/request/";
  private static final String SERIALS = "idn/serials/";
  private static final String OUTBOX = "idn/outbox/";
  private static final String BODY = "/body";

  private final NodeCode self;
  private final KeyValueStore store;
  private final Clock clock;
  private final Map<String, SerialBlock> blocks = new ConcurrentHashMap<>();
  private final Runnable onIssued;

  IdentifierLibrary(NodeCode self, KeyValueStore store, Clock clock, Runnable onIssued) {
    this.self = self;
    this.store = store;
    this.clock = clock;
    this.onIssued = onIssued;
  }

  /**
   * Issues an identifier for {@code caller}: an industry node under its own code, this node's
   * operator under this node's code or an industry code below it.
   */
  IdentifierRecord issue(String requestId, CpinIdentity caller, IdentifierKind kind,
      NodeCode issuing, String ownerId, Map<String, String> attributes) {
    checkAttributes(attributes);
    String requestKey = REQUEST + Sha256.hex(caller.uri() + "\n" + requestId);
    byte[] body = requestBody(kind, issuing, ownerId, attributes);
    Optional<IdentifierRecord> earlier = replay(requestKey, body);
    if (earlier.isPresent()) {
      return earlier.get();
    }
    NodeCode code = issuingCode(caller, issuing);
    checkOwner(kind, ownerId);
    Identifier identifier = Identifier.of(code, kind, nextSerial(code, kind));
    Timestamp now = Timestamps.fromMillis(clock.millis());
    IdentifierRecord record = IdentifierRecord.newBuilder()
        .setIdentifier(identifier.toString())
        .setKindValue(kind.number())
        .setIssuingNodeCode(code.toString())
        .setOwnerId(ownerId)
        .putAllAttributes(attributes)
        .setStatus(IdentifierStatus.IDENTIFIER_STATUS_ACTIVE)
        .setIssuedAt(now)
        .setUpdatedAt(now)
        .setFilingStatus(FilingStatus.FILING_STATUS_PENDING)
        .setVersion(1)
        .build();
    FilingEntry entry = FilingEntry.newBuilder()
        .setIdentifier(record.getIdentifier())
        .setKindValue(record.getKindValue())
        .setOwnerId(ownerId)
        .setIssuedAt(now)
        .setRecordDigest(ByteString.copyFrom(FilingEncoding.recordDigest(record.getIdentifier(),
            record.getKindValue(), record.getIssuingNodeCode(), ownerId, now, attributes)))
        .build();
    boolean written = store.write(Map.of(
            RECORD + identifier, record.toByteArray(),
            requestKey, record.toByteArray(),
            requestKey + BODY, body,
            OUTBOX + identifier, entry.toByteArray()),
        List.of(), Map.of(requestKey, Optional.empty()));
    if (!written) {
      // The same request id raced with itself; the first one's answer stands.
      return replay(requestKey, body).orElseThrow();
    }
    onIssued.run();
    return record;
  }

  Optional<IdentifierRecord> get(Identifier identifier) {
    return store.get(RECORD + identifier).map(IdentifierLibrary::parse);
  }

  /** Records in identifier order after {@code pageToken}, at most {@code pageSize}. */
  List<IdentifierRecord> list(Predicate<IdentifierRecord> filter, String pageToken,
      int pageSize) {
    List<IdentifierRecord> page = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : store.scan(RECORD).entrySet()) {
      if (page.size() >= pageSize) {
        break;
      }
      if (!pageToken.isEmpty() && e.getKey().substring(RECORD.length()).compareTo(pageToken) <= 0) {
        continue;
      }
      IdentifierRecord record = parse(e.getValue());
      if (filter.test(record)) {
        page.add(record);
      }
    }
    return page;
  }

  /**
   * Entries waiting to be filed, oldest identifiers first, at most {@code max}; all durable, so
   * the national node never holds a filing this node could lose.
   */
  List<FilingEntry> pendingFilings(int max) {
    store.sync();
    List<FilingEntry> out = new ArrayList<>();
    for (byte[] value : store.scan(OUTBOX, max).values()) {
      try {
        out.add(FilingEntry.parseFrom(value));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt outbox entry", e);
      }
    }
    return out;
  }

  /** Marks records filed with their verified receipts and takes them out of the outbox. */
  void markFiled(List<FilingReceipt> receipts) {
    Map<String, byte[]> puts = new HashMap<>();
    List<String> deletes = new ArrayList<>();
    Timestamp now = Timestamps.fromMillis(clock.millis());
    for (FilingReceipt receipt : receipts) {
      get(Identifier.parse(receipt.getIdentifier())).ifPresent(record -> puts.put(
          RECORD + record.getIdentifier(), record.toBuilder()
              .setFilingStatus(FilingStatus.FILING_STATUS_FILED)
              .setFilingReceipt(receipt)
              .setUpdatedAt(now)
              .setVersion(record.getVersion() + 1)
              .build().toByteArray()));
      deletes.add(OUTBOX + receipt.getIdentifier());
    }
    store.write(puts, deletes, Map.of());
  }

  /** Marks records the national node refused for good (IDN-012). */
  void markRejected(List<String> identifiers, String error) {
    Map<String, byte[]> puts = new HashMap<>();
    List<String> deletes = new ArrayList<>();
    for (String id : identifiers) {
      get(Identifier.parse(id)).ifPresent(record -> puts.put(RECORD + id, record.toBuilder()
          .setFilingStatus(FilingStatus.FILING_STATUS_REJECTED)
          .setFilingError(error)
          .setVersion(record.getVersion() + 1)
          .build().toByteArray()));
      deletes.add(OUTBOX + id);
    }
    store.write(puts, deletes, Map.of());
  }

  private NodeCode issuingCode(CpinIdentity caller, NodeCode requested) {
    if (caller.kind() == CpinIdentity.Kind.NODE) {
      if (requested != null && !requested.equals(caller.nodeCode())) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, caller.uri()
            + " may issue identifiers only under its own code");
      }
      return caller.nodeCode();
    }
    NodeCode code = requested == null ? self : requested;
    boolean own = code.equals(self) || code.isIndustry()
        && code.parent().map(self::equals).orElse(false);
    if (!own) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, "node " + self
          + " issues identifiers only under " + self + " and its industry nodes' codes");
    }
    return code;
  }

  private long nextSerial(NodeCode code, IdentifierKind kind) {
    String key = SERIALS + code + "/" + kind.letter();
    return blocks.computeIfAbsent(key, SerialBlock::new).next();
  }

  /**
   * Serials of one (node code, kind), taken from blocks reserved in the store. The next block is
   * reserved when half of the current one is used, by the issuer that notices, outside the lock:
   * a durable reservation (one fsync) then rarely holds up the other issuers.
   */
  private final class SerialBlock {
    private final String key;
    private long next;
    private long limit;
    private CompletableFuture<Long> ahead;

    SerialBlock(String key) {
      this.key = key;
    }

    long next() {
      CompletableFuture<Long> reserve = null;
      long serial;
      synchronized (this) {
        if (next == 0 || next > limit) {
          limit = reserved(ahead);
          ahead = null;
          next = limit - SERIAL_BLOCK + 1;
        }
        serial = next++;
        if (ahead == null && limit - next < SERIAL_BLOCK / 2) {
          ahead = reserve = new CompletableFuture<>();
        }
      }
      if (reserve != null) {
        try {
          reserve.complete(store.increment(key, SERIAL_BLOCK));
        } catch (RuntimeException e) {
          reserve.completeExceptionally(e);
        }
      }
      return serial;
    }

    // The limit of the block reserved ahead, or of one reserved now if none was or it failed.
    private long reserved(CompletableFuture<Long> ahead) {
      if (ahead != null) {
        try {
          return ahead.join();
        } catch (java.util.concurrent.CompletionException e) {
          // reserve again below
        }
      }
      return store.increment(key, SERIAL_BLOCK);
    }
  }

  /**
   * The first answer to a recorded request (GEN-009), or empty if the request id is new; the same
   * request id with another request fails (GEN-010).
   */
  private Optional<IdentifierRecord> replay(String requestKey, byte[] body) {
    Optional<byte[]> first = store.get(requestKey);
    if (first.isEmpty()) {
      return Optional.empty();
    }
    if (!java.util.Arrays.equals(store.get(requestKey + BODY).orElse(new byte[0]), body)) {
      throw InvalidArgumentException.of("request_id", "was used before with a different request",
          ErrorReason.ERROR_REASON_REQUEST_ID_REUSED);
    }
    store.sync(); // the first call may not have reached the disk yet
    return Optional.of(parse(first.get()));
  }

  // What makes two IssueIdentifier requests equal: their fields, attributes in key order.
  private static byte[] requestBody(IdentifierKind kind, NodeCode issuing, String ownerId,
      Map<String, String> attributes) {
    StringBuilder body = new StringBuilder().append(kind.letter()).append('\n')
        .append(issuing == null ? "" : issuing.toString()).append('\n').append(ownerId);
    new java.util.TreeMap<>(attributes).forEach((k, v) -> body.append('\n').append(k.length())
        .append(':').append(k).append(v.length()).append(':').append(v));
    return Sha256.hex(body.toString()).getBytes(StandardCharsets.US_ASCII);
  }

  private static void checkAttributes(Map<String, String> attributes) {
    if (attributes.size() > MAX_ATTRIBUTES) {
      throw InvalidArgumentException.of("attributes", "must have at most " + MAX_ATTRIBUTES
          + " entries", ErrorReason.ERROR_REASON_FIELD_TOO_LONG);
    }
    for (Map.Entry<String, String> e : attributes.entrySet()) {
      if (e.getKey().length() > MAX_ATTRIBUTE_LENGTH
          || e.getValue().length() > MAX_ATTRIBUTE_LENGTH) {
        throw InvalidArgumentException.of("attributes", "keys and values must have at most "
            + MAX_ATTRIBUTE_LENGTH + " characters", ErrorReason.ERROR_REASON_FIELD_TOO_LONG);
      }
    }
  }

  // IDN-011: everything but a participant has an owner, and the owner is in this library.
  private void checkOwner(IdentifierKind kind, String ownerId) {
    if (ownerId.isEmpty()) {
      if (kind != IdentifierKind.PARTICIPANT) {
        throw InvalidArgumentException.of("owner_id", "is required unless the kind is "
            + "participant", ErrorReason.ERROR_REASON_FIELD_REQUIRED);
      }
      return;
    }
    if (get(Identifier.parse(ownerId)).isEmpty()) {
      throw CpinException.notFound("owner " + ownerId + " is not in this identifier library",
          Map.of("owner_id", ownerId));
    }
  }

  /** The domain kind of a proto IdentifierKind number, for requests. */
  static IdentifierKind kindOf(int number) {
    return IdentifierKind.fromNumber(number).orElseThrow(() -> InvalidArgumentException.of(
        "kind", "must be one of the IDENTIFIER_KIND_* values",
        ErrorReason.ERROR_REASON_INVALID_FIELDS));
  }

  private static IdentifierRecord parse(byte[] bytes) {
    try {
      return IdentifierRecord.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt identifier record", e);
    }
  }

}
