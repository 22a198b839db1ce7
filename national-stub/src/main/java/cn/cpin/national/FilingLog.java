package cn.cpin.national;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.BatchInclusionProof;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleTree;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The national filing log (IDN-015…IDN-020): an append-only RFC 9162 Merkle tree of filed
 * identifiers, every leaf durable before it is acknowledged, each append answered with a newly
 * signed tree head and the audit path of every receipt. Thread-safe: appends are serialised; the
 * tree is rebuilt from the store at start.
 */
final class FilingLog {
  private static final String LEAF = "filing/leaf/";
  private static final String BY_IDENTIFIER = "filing/by-identifier/";
  private static final String RECEIPT = "filing/receipt/";

  /** The answer to one FileIdentifiers call; {@code batchProof} null unless asked for and used. */
  record Appended(List<FilingReceipt> receipts, SignedTreeHead treeHead,
      BatchInclusionProof batchProof) {}

  private final KeyValueStore store;
  private final TreeHeadSigner signer;
  private final Clock clock;
  private final MerkleTree tree = new MerkleTree();
  private SignedTreeHead latest;

  FilingLog(KeyValueStore store, TreeHeadSigner signer, Clock clock) {
    this.store = store;
    this.signer = signer;
    this.clock = clock;
    for (byte[] value : store.scan(RECEIPT).values()) {
      tree.append(parseReceipt(value).getLeafHash().toByteArray());
    }
    latest = sign();
  }

  /**
   * Appends the entries of {@code caller}, all or nothing; an identifier filed before with the
   * same record digest keeps its leaf, with a different one fails the call (IDN-016, IDN-017).
   * With {@code batchProof} the new leaves, appended contiguously under this lock and covered by
   * a head signed at exactly their end, get compact receipts and one batch proof (IDN-030).
   */
  synchronized Appended append(String requestId, CpinIdentity caller, List<FilingEntry> entries,
      boolean batchProof) {
    List<FieldViolation> violations = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      check(entries.get(i), "entries[" + i + "]", caller, violations);
    }
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
    Map<String, Long> indexes = new LinkedHashMap<>();
    Map<Long, FilingReceipt> added = new HashMap<>(); // not read back from the store
    Map<String, byte[]> writes = new HashMap<>();
    long next = tree.size();
    List<byte[]> newLeaves = new ArrayList<>();
    for (FilingEntry entry : entries) {
      Optional<Long> earlier = indexOf(entry.getIdentifier());
      if (earlier.isPresent()) {
        if (!entry(earlier.get()).getRecordDigest().equals(entry.getRecordDigest())) {
          throw CpinException.alreadyExists("identifier " + entry.getIdentifier()
              + " is filed already with another record digest",
              Map.of("identifier", entry.getIdentifier()));
        }
        indexes.put(entry.getIdentifier(), earlier.get());
        continue;
      }
      if (indexes.containsKey(entry.getIdentifier())) {
        continue;
      }
      long index = next++;
      indexes.put(entry.getIdentifier(), index);
      byte[] leafHash = MerkleTree.leafHash(FilingEncoding.leafData(entry));
      FilingReceipt receipt = FilingReceipt.newBuilder()
          .setIdentifier(entry.getIdentifier())
          .setLeafIndex(index)
          .setLeafHash(ByteString.copyFrom(leafHash))
          .setFiledAt(Timestamps.fromMillis(clock.millis()))
          .build();
      String key = key(index);
      writes.put(LEAF + key, entry.toByteArray());
      writes.put(RECEIPT + key, receipt.toByteArray());
      writes.put(BY_IDENTIFIER + entry.getIdentifier(), key.getBytes(StandardCharsets.US_ASCII));
      added.put(index, receipt);
      newLeaves.add(leafHash);
    }
    long first = tree.size();
    if (!writes.isEmpty()) {
      store.write(writes, List.of(), Map.of());
      newLeaves.forEach(tree::append);
      latest = sign();
    }
    BatchInclusionProof proof = batchProof && !newLeaves.isEmpty()
        ? BatchInclusionProof.newBuilder().setFirstLeafIndex(first)
            .addAllLeftFrontier(bytes(tree.leftFrontier(first))).build()
        : null;
    List<FilingReceipt> receipts = new ArrayList<>();
    for (Map.Entry<String, Long> e : indexes.entrySet()) {
      FilingReceipt fresh = added.get(e.getValue());
      receipts.add(fresh == null ? receipt(e.getValue(), latest)
          : proof != null ? fresh.toBuilder().clearLeafHash().build()
          : withProof(fresh, latest));
    }
    return new Appended(receipts, latest, proof);
  }

  synchronized SignedTreeHead latest() {
    return latest;
  }

  /** The leaf of {@code identifier} and its audit path in the tree of {@code treeSize} (0 = latest). */
  synchronized FilingReceipt inclusion(Identifier identifier, long treeSize) {
    long index = indexOf(identifier.toString()).orElseThrow(() -> CpinException.notFound(
        "identifier " + identifier + " is not in the filing log",
        Map.of("identifier", identifier.toString())));
    long size = treeSize == 0 ? tree.size() : treeSize;
    if (size > tree.size() || size <= index) {
      throw outOfRange("tree_size " + treeSize + " is not between leaf index " + index
          + " and the log size " + tree.size());
    }
    return receipt(index, size == tree.size() ? latest : null).toBuilder()
        .clearAuditPath()
        .addAllAuditPath(bytes(tree.inclusionProof(index, size)))
        .build();
  }

  /** The entry filed at {@code index}. */
  synchronized FilingEntry entry(long index) {
    try {
      return FilingEntry.parseFrom(store.get(LEAF + key(index)).orElseThrow());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt filing leaf", e);
    }
  }

  /** The consistency proof between two tree sizes (0 = latest). */
  synchronized List<ByteString> consistency(long first, long second) {
    if (first == 0) {
      throw InvalidArgumentException.of("first_tree_size", "must be at least 1",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    long size = second == 0 ? tree.size() : second;
    if (first > tree.size() || size > tree.size()) {
      throw outOfRange("tree sizes " + first + " and " + second + " are not within the log size "
          + tree.size());
    }
    if (first > size) {
      throw InvalidArgumentException.of("first_tree_size", "must not exceed second_tree_size",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    return bytes(tree.consistencyProof(first, size));
  }

  private FilingReceipt receipt(long index, SignedTreeHead head) {
    FilingReceipt stored = parseReceipt(store.get(RECEIPT + key(index)).orElseThrow());
    return head == null ? stored : withProof(stored, head);
  }

  private FilingReceipt withProof(FilingReceipt receipt, SignedTreeHead head) {
    return receipt.toBuilder().setTreeHead(head)
        .addAllAuditPath(bytes(tree.inclusionProof(receipt.getLeafIndex(), head.getTreeSize())))
        .build();
  }

  private void check(FilingEntry entry, String path, CpinIdentity caller,
      List<FieldViolation> violations) {
    Identifier identifier = Identifier.parse(entry.getIdentifier());
    if (entry.getRecordDigest().size() != 32) {
      violations.add(new FieldViolation(path + ".record_digest", "must be 32 bytes (SHA-256)",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    if (entry.getKindValue() != identifier.kind().number()) {
      violations.add(new FieldViolation(path + ".kind", "does not match the identifier's kind "
          + "letter " + identifier.kind().letter(), ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    boolean own = identifier.nodeCode().equals(caller.nodeCode())
        || identifier.nodeCode().parent().map(caller.nodeCode()::equals).orElse(false);
    if (!own) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, caller.uri()
          + " may not file identifiers under " + identifier.nodeCode());
    }
  }

  private SignedTreeHead sign() {
    return signer.sign(tree.size(), tree.rootHash(), clock.millis());
  }

  private Optional<Long> indexOf(String identifier) {
    return store.get(BY_IDENTIFIER + identifier).map(b -> Long.parseLong(
        new String(b, StandardCharsets.US_ASCII)));
  }

  private static CpinException outOfRange(String message) {
    return new CpinException(CpinException.Kind.OUT_OF_RANGE,
        ErrorReason.ERROR_REASON_INVALID_FIELDS, message, Map.of());
  }

  private static List<ByteString> bytes(List<byte[]> hashes) {
    List<ByteString> out = new ArrayList<>(hashes.size());
    for (byte[] h : hashes) {
      out.add(ByteString.copyFrom(h));
    }
    return out;
  }

  // Zero-padded to 20 digits so that keys sort as numbers (String.format is slow per leaf).
  private static String key(long index) {
    String digits = Long.toString(index);
    return "00000000000000000000".substring(digits.length()) + digits;
  }

  private static FilingReceipt parseReceipt(byte[] bytes) {
    try {
      return FilingReceipt.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt filing receipt", e);
    }
  }
}
