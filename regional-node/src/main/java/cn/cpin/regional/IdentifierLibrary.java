package cn.cpin.regional;

import cn.cpin.protocol.Sha256;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.FileIdentifiersResponse;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierStatus;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
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
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntFunction;
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
  private static final String FILING_BATCH = "idn/filing-batch/";
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

  /** One identifier to issue: an IssueIdentifierRequest in domain terms. */
  record IssueRequest(String requestId, IdentifierKind kind, NodeCode issuing, String ownerId,
      Map<String, String> attributes) {
    /** {@code kind} null: unspecified or unknown, reported as an invalid {@code kind}. */
    IssueRequest {
      attributes = Map.copyOf(attributes);
      ownerId = ownerId == null ? "" : ownerId;
    }
  }

  /**
   * Issues an identifier for {@code caller}: an industry node under its own code, this node's
   * operator under this node's code or an industry code below it.
   */
  IdentifierRecord issue(String requestId, CpinIdentity caller, IdentifierKind kind,
      NodeCode issuing, String ownerId, Map<String, String> attributes) {
    return issue(caller, List.of(new IssueRequest(requestId, kind, issuing, ownerId,
        attributes)), i -> "").get(0);
  }

  /**
   * Issues one identifier per request, all in one durable store write (IDN-029): all or none.
   * Every request keeps its own request id and replay rules; a request id repeated within the
   * batch answers with one identifier. Field paths of violations are {@code requests[i].field}.
   */
  List<IdentifierRecord> issueAll(CpinIdentity caller, List<IssueRequest> requests) {
    return issue(caller, requests, i -> "requests[" + i + "].");
  }

  private List<IdentifierRecord> issue(CpinIdentity caller, List<IssueRequest> requests,
      IntFunction<String> path) {
    List<FieldViolation> violations = new ArrayList<>();
    // One slot per distinct request key, in request order; requests[i] answers with slotOf[i].
    Map<String, Slot> slots = new LinkedHashMap<>();
    Slot[] slotOf = new Slot[requests.size()];
    for (int i = 0; i < requests.size(); i++) {
      IssueRequest request = requests.get(i);
      check(request, path.apply(i), violations);
      String requestKey = REQUEST + Sha256.hex(caller.uri() + "\n" + request.requestId());
      byte[] body = requestBody(request);
      int index = i;
      Slot slot = slots.computeIfAbsent(requestKey, k -> new Slot(k, body, request, index));
      if (!Arrays.equals(slot.body, body)) {
        violations.add(requestIdReused(path.apply(i)));
      }
      slotOf[i] = slot;
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    while (true) {
      List<Slot> fresh = new ArrayList<>();
      for (Slot slot : slots.values()) {
        slot.record = replay(slot, path.apply(slot.index), violations);
        if (slot.record == null) {
          fresh.add(slot);
        }
      }
      if (!violations.isEmpty()) {
        throw new InvalidArgumentException(violations);
      }
      if (fresh.isEmpty()) {
        store.sync(); // the first calls may not have reached the disk yet
        return answers(slotOf);
      }
      if (write(caller, fresh, path)) {
        onIssued.run();
        return answers(slotOf);
      }
      // A request id raced with itself elsewhere; the next round replays the winner's answer.
    }
  }

  // Builds the records of the fresh slots and writes them, their request index and their
  // outbox entries in one store write; false if one of the request keys appeared meanwhile.
  private boolean write(CpinIdentity caller, List<Slot> fresh, IntFunction<String> path) {
    Set<String> owners = new HashSet<>();
    for (Slot slot : fresh) {
      String at = where(path.apply(slot.index));
      slot.code = issuingCode(caller, slot.request.issuing(), at);
      if (!slot.request.ownerId().isEmpty() && owners.add(slot.request.ownerId())) {
        checkOwnerExists(slot.request.ownerId(), at);
      }
    }
    Timestamp now = Timestamps.fromMillis(clock.millis());
    Map<String, byte[]> puts = new HashMap<>(fresh.size() * 6);
    Map<String, Optional<byte[]>> absent = new HashMap<>(fresh.size() * 2);
    for (Slot slot : fresh) {
      IssueRequest request = slot.request;
      Identifier identifier = Identifier.of(slot.code, request.kind(),
          nextSerial(slot.code, request.kind()));
      String id = identifier.toString();
      IdentifierRecord record = IdentifierRecord.newBuilder()
          .setIdentifier(id)
          .setKindValue(request.kind().number())
          .setIssuingNodeCode(slot.code.toString())
          .setOwnerId(request.ownerId())
          .putAllAttributes(request.attributes())
          .setStatus(IdentifierStatus.IDENTIFIER_STATUS_ACTIVE)
          .setIssuedAt(now)
          .setUpdatedAt(now)
          .setFilingStatus(FilingStatus.FILING_STATUS_PENDING)
          .setVersion(1)
          .build();
      FilingEntry entry = FilingEntry.newBuilder()
          .setIdentifier(id)
          .setKindValue(record.getKindValue())
          .setOwnerId(request.ownerId())
          .setIssuedAt(now)
          .setRecordDigest(ByteString.copyFrom(FilingEncoding.recordDigest(id,
              record.getKindValue(), record.getIssuingNodeCode(), request.ownerId(), now,
              request.attributes())))
          .build();
      byte[] bytes = record.toByteArray();
      puts.put(RECORD + id, bytes);
      puts.put(slot.requestKey, bytes);
      puts.put(slot.requestKey + BODY, slot.body);
      puts.put(OUTBOX + id, entry.toByteArray());
      absent.put(slot.requestKey, Optional.empty());
      slot.record = record;
    }
    return store.write(puts, List.of(), absent);
  }

  private static List<IdentifierRecord> answers(Slot[] slotOf) {
    List<IdentifierRecord> out = new ArrayList<>(slotOf.length);
    for (Slot slot : slotOf) {
      out.add(slot.record);
    }
    return out;
  }

  // "requests[3]: " before a message about one request of a batch; nothing for a single one.
  private static String where(String path) {
    return path.isEmpty() ? "" : path.substring(0, path.length() - 1) + ": ";
  }

  /** One distinct request id of a call: its request, and the answer once known. */
  private static final class Slot {
    final String requestKey;
    final byte[] body;
    final IssueRequest request;
    final int index; // of its first request
    NodeCode code;
    IdentifierRecord record;

    Slot(String requestKey, byte[] body, IssueRequest request, int index) {
      this.requestKey = requestKey;
      this.body = body;
      this.request = request;
      this.index = index;
    }
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

  /**
   * Marks records filed with their verified receipts and takes them out of the outbox, in one
   * store write with {@code alongside} (the outbox's trusted tree head and batch proof). A receipt
   * covered by a batch proof is kept without its audit path. The write does not wait for its
   * fsync: the next round's {@link #pendingFilings} sync covers it, and if a crash loses it the
   * records are still in the outbox and refiling returns their receipts again (IDN-012, IDN-016).
   */
  void markFiled(List<FilingReceipt> receipts, Map<String, byte[]> alongside) {
    Map<String, byte[]> puts = new HashMap<>(alongside);
    List<String> deletes = new ArrayList<>();
    Timestamp now = Timestamps.fromMillis(clock.millis());
    for (FilingReceipt receipt : receipts) {
      // The identifier is one of this node's outbox entries, hence canonical: no parse needed.
      store.get(RECORD + receipt.getIdentifier()).map(IdentifierLibrary::parse).ifPresent(
          record -> puts.put(RECORD + record.getIdentifier(), record.toBuilder()
              .setFilingStatus(FilingStatus.FILING_STATUS_FILED)
              .setFilingReceipt(receipt)
              .setUpdatedAt(now)
              .setVersion(record.getVersion() + 1)
              .build().toByteArray()));
      deletes.add(OUTBOX + receipt.getIdentifier());
    }
    store.writeUnsynced(puts, deletes);
  }

  /** Where the outbox keeps the batch proof of the filing call answered with a head of {@code treeSize}. */
  static String filingBatchKey(long treeSize) {
    String digits = Long.toString(treeSize);
    return FILING_BATCH + "00000000000000000000".substring(digits.length()) + digits;
  }

  /**
   * The filing receipt of a FILED record with its audit path against its tree head: as stored,
   * or derived from the batch proof kept for its filing call (IDN-030).
   */
  Optional<FilingReceipt> provenReceipt(Identifier identifier) {
    Optional<IdentifierRecord> record = get(identifier)
        .filter(r -> r.getFilingStatus() == FilingStatus.FILING_STATUS_FILED);
    if (record.isEmpty()) {
      return Optional.empty();
    }
    FilingReceipt receipt = record.get().getFilingReceipt();
    if (receipt.getAuditPathCount() > 0 || receipt.getTreeHead().getTreeSize() == 1) {
      return Optional.of(receipt);
    }
    FileIdentifiersResponse batch;
    try {
      batch = FileIdentifiersResponse.parseFrom(store.get(filingBatchKey(
          receipt.getTreeHead().getTreeSize())).orElseThrow(() -> new IllegalStateException(
              "no batch proof kept for the filing of " + identifier)));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt filing batch proof", e);
    }
    List<byte[]> leaves = new ArrayList<>(batch.getReceiptsCount());
    batch.getReceiptsList().forEach(r -> leaves.add(r.getLeafHash().toByteArray()));
    List<byte[]> frontier = new ArrayList<>();
    batch.getBatchProof().getLeftFrontierList().forEach(h -> frontier.add(h.toByteArray()));
    FilingReceipt.Builder proven = receipt.toBuilder();
    MerkleProofs.batchAuditPath(batch.getBatchProof().getFirstLeafIndex(), frontier, leaves,
        receipt.getLeafIndex()).forEach(h -> proven.addAuditPath(ByteString.copyFrom(h)));
    return Optional.of(proven.build());
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

  private NodeCode issuingCode(CpinIdentity caller, NodeCode requested, String where) {
    if (caller.kind() == CpinIdentity.Kind.NODE) {
      if (requested != null && !requested.equals(caller.nodeCode())) {
        throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, where
            + caller.uri() + " may issue identifiers only under its own code");
      }
      return caller.nodeCode();
    }
    NodeCode code = requested == null ? self : requested;
    boolean own = code.equals(self) || code.isIndustry()
        && code.parent().map(self::equals).orElse(false);
    if (!own) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, where + "node "
          + self + " issues identifiers only under " + self + " and its industry nodes' codes");
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
   * The first answer to a recorded request (GEN-009), or null if the request id is new; the same
   * request id with another request is a violation (GEN-010).
   */
  private IdentifierRecord replay(Slot slot, String path, List<FieldViolation> violations) {
    Optional<byte[]> first = store.get(slot.requestKey);
    if (first.isEmpty()) {
      return null;
    }
    if (!Arrays.equals(store.get(slot.requestKey + BODY).orElse(new byte[0]), slot.body)) {
      violations.add(requestIdReused(path));
      return null;
    }
    return parse(first.get());
  }

  private static FieldViolation requestIdReused(String path) {
    return new FieldViolation(path + "request_id", "was used before with a different request",
        ErrorReason.ERROR_REASON_REQUEST_ID_REUSED);
  }

  // What makes two IssueIdentifier requests equal: their fields, attributes in key order.
  private static byte[] requestBody(IssueRequest request) {
    StringBuilder body = new StringBuilder()
        .append(request.kind() == null ? '?' : request.kind().letter()).append('\n')
        .append(request.issuing() == null ? "" : request.issuing().toString()).append('\n')
        .append(request.ownerId());
    new java.util.TreeMap<>(request.attributes()).forEach((k, v) -> body.append('\n')
        .append(k.length()).append(':').append(k).append(v.length()).append(':').append(v));
    return Sha256.hex(body.toString()).getBytes(StandardCharsets.US_ASCII);
  }

  // IDN-011: a kind, the limits on attributes, an owner unless the kind is participant.
  private static void check(IssueRequest request, String path, List<FieldViolation> out) {
    if (request.kind() == null) {
      out.add(new FieldViolation(path + "kind", "must be one of the IDENTIFIER_KIND_* values",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    Map<String, String> attributes = request.attributes();
    if (attributes.size() > MAX_ATTRIBUTES) {
      out.add(new FieldViolation(path + "attributes", "must have at most " + MAX_ATTRIBUTES
          + " entries", ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
    } else {
      for (Map.Entry<String, String> e : attributes.entrySet()) {
        if (e.getKey().length() > MAX_ATTRIBUTE_LENGTH
            || e.getValue().length() > MAX_ATTRIBUTE_LENGTH) {
          out.add(new FieldViolation(path + "attributes", "keys and values must have at most "
              + MAX_ATTRIBUTE_LENGTH + " characters", ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
          break;
        }
      }
    }
    if (request.ownerId().isEmpty() && request.kind() != null
        && request.kind() != IdentifierKind.PARTICIPANT) {
      out.add(new FieldViolation(path + "owner_id", "is required unless the kind is "
          + "participant", ErrorReason.ERROR_REASON_FIELD_REQUIRED));
    }
  }

  // IDN-011: the owner is in this library (its record exists; no need to read it whole).
  private void checkOwnerExists(String ownerId, String where) {
    if (store.get(RECORD + Identifier.parse(ownerId)).isEmpty()) {
      throw CpinException.notFound(where + "owner "
          + ownerId + " is not in this identifier library", Map.of("owner_id", ownerId));
    }
  }

  /** The domain kind of a proto IdentifierKind number, or null if none (reported by issue). */
  static IdentifierKind kindOrNull(int number) {
    return IdentifierKind.fromNumber(number).orElse(null);
  }

  private static IdentifierRecord parse(byte[] bytes) {
    try {
      return IdentifierRecord.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt identifier record", e);
    }
  }

}
