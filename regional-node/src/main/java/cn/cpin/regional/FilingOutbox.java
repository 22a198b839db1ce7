package cn.cpin.regional;

import cn.cpin.node.Daemons;
import cn.cpin.identifier.v1.BatchInclusionProof;
import cn.cpin.identifier.v1.FileIdentifiersRequest;
import cn.cpin.identifier.v1.FileIdentifiersResponse;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.GetConsistencyProofRequest;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
import cn.cpin.protocol.filing.TreeHeadVerifier;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Files issued identifiers with the national node (IDN-012, IDN-013): batches of up to 1000 from
 * the library's durable outbox, retried with backoff until answered, across restarts. A receipt
 * counts only once its tree head's signature, its consistency with the last verified tree head
 * and its inclusion proof all verify: its audit path, or for the leaves a call appended, one
 * batch proof over all of them (IDN-030), which is kept once for the batch.
 */
final class FilingOutbox implements AutoCloseable {
  static final int BATCH = 1000;
  private static final long FIRST_BACKOFF_MS = 250;
  private static final long MAX_BACKOFF_MS = 10_000;
  private static final String TRUSTED_HEAD = "idn/trusted-tree-head";
  private static final Set<Status.Code> PERMANENT = EnumSet.of(Status.Code.INVALID_ARGUMENT,
      Status.Code.ALREADY_EXISTS, Status.Code.PERMISSION_DENIED,
      Status.Code.FAILED_PRECONDITION);

  private final IdentifierLibrary library;
  private final KeyValueStore store;
  private final ManagedChannel national;
  private final EventLog events;
  private final TreeHeadVerifier verifier;
  private final ScheduledExecutorService worker;
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private long backoff = FIRST_BACKOFF_MS;

  FilingOutbox(IdentifierLibrary library, KeyValueStore store, ManagedChannel national,
      PublicKey logKey, EventLog events) {
    this.library = library;
    this.store = store;
    this.national = national;
    this.events = events;
    this.verifier = new TreeHeadVerifier(logKey, store.get(TRUSTED_HEAD).map(b -> {
      try {
        return SignedTreeHead.parseFrom(b);
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("corrupt trusted tree head", e);
      }
    }).orElse(null));
    this.worker = Daemons.scheduler("filing-outbox");
  }

  /** Starts filing what is waiting, and keeps polling. */
  void start() {
    worker.scheduleWithFixedDelay(this::wake, 0, 1, TimeUnit.SECONDS);
  }

  /** Asks for a filing round soon; cheap, called after every issuance. */
  void wake() {
    if (scheduled.compareAndSet(false, true)) {
      worker.execute(this::fileAll);
    }
  }

  private void fileAll() {
    scheduled.set(false);
    try {
      List<FilingEntry> batch;
      while (!(batch = library.pendingFilings(BATCH)).isEmpty()) {
        fileBatch(batch);
      }
      backoff = FIRST_BACKOFF_MS;
    } catch (StatusRuntimeException e) {
      retryLater("filing.unavailable", e.getStatus().getCode().toString());
    } catch (RuntimeException e) {
      events.error("security.filing_verification_failed", "error", String.valueOf(e.getMessage()));
      retryLater("filing.verification_failed", String.valueOf(e.getMessage()));
    }
  }

  private void fileBatch(List<FilingEntry> batch) {
    FileIdentifiersResponse response;
    try {
      response = FilingServiceGrpc.newBlockingStub(national)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .fileIdentifiers(FileIdentifiersRequest.newBuilder()
              .setRequestId(requestId(batch))
              .addAllEntries(batch)
              .setBatchProof(true)
              .build());
    } catch (StatusRuntimeException e) {
      if (PERMANENT.contains(e.getStatus().getCode())) {
        List<String> ids = batch.stream().map(FilingEntry::getIdentifier).toList();
        library.markRejected(ids, e.getStatus().getCode() + ": " + e.getStatus().getDescription());
        events.warn("filing.rejected", "count", ids.size(), "status", e.getStatus().getCode());
        return;
      }
      throw e;
    }
    SignedTreeHead head = response.getTreeHead();
    Map<String, FilingEntry> byId = new HashMap<>();
    batch.forEach(e -> byId.put(e.getIdentifier(), e));
    BatchInclusionProof proof = response.hasBatchProof() ? response.getBatchProof() : null;
    List<byte[]> batchLeaves = new ArrayList<>();
    List<FilingReceipt> verified = new ArrayList<>();
    for (FilingReceipt receipt : response.getReceiptsList()) {
      FilingEntry entry = byId.get(receipt.getIdentifier());
      if (entry == null) {
        throw new IllegalStateException("receipt for an identifier not filed: "
            + receipt.getIdentifier());
      }
      byte[] leafHash = FilingEncoding.leafHash(entry);
      if (proof != null && !receipt.hasTreeHead()) {
        // A leaf this call appended: the batch proof below covers it, in leaf order (IDN-030).
        if (receipt.getLeafIndex() != proof.getFirstLeafIndex() + batchLeaves.size()) {
          throw new IllegalStateException("receipt for " + receipt.getIdentifier()
              + " is not the next leaf of the batch");
        }
        batchLeaves.add(leafHash);
        verified.add(receipt.toBuilder().setLeafHash(ByteString.copyFrom(leafHash))
            .setTreeHead(head).build());
        continue;
      }
      // Every full receipt of a batch carries the response's head (its signature and consistency
      // are checked once below), so only its inclusion proof is left to verify.
      if (!receipt.getTreeHead().equals(head) || !MerkleProofs.verifyInclusion(
          leafHash, receipt.getLeafIndex(), head.getTreeSize(),
          bytes(receipt.getAuditPathList()), head.getRootHash().toByteArray())) {
        throw new IllegalStateException("receipt for " + receipt.getIdentifier()
            + " does not prove inclusion in the signed tree head");
      }
      verified.add(receipt);
    }
    List<byte[]> frontier = proof == null ? List.of() : bytes(proof.getLeftFrontierList());
    if (proof != null && !MerkleProofs.verifyBatchInclusion(proof.getFirstLeafIndex(), frontier,
        batchLeaves, head.getTreeSize(), head.getRootHash().toByteArray())) {
      throw new IllegalStateException("the batch proof of leaves " + proof.getFirstLeafIndex()
          + " to " + (head.getTreeSize() - 1) + " does not prove them in the signed tree head");
    }
    long trustedSize = verifier.trusted().map(SignedTreeHead::getTreeSize).orElse(0L);
    List<byte[]> consistency = List.of();
    if (trustedSize > 0 && proof != null && trustedSize == proof.getFirstLeafIndex()) {
      // Nothing was appended since the trusted head: the frontier and this call's leaves give
      // the consistency proof, which the verifier checks against the trusted root as any other.
      consistency = MerkleProofs.batchConsistencyProof(trustedSize, frontier, batchLeaves);
    } else if (trustedSize > 0 && trustedSize < head.getTreeSize()) {
      consistency = bytes(FilingServiceGrpc.newBlockingStub(national)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getConsistencyProof(GetConsistencyProofRequest.newBuilder()
              .setFirstTreeSize(trustedSize).setSecondTreeSize(head.getTreeSize()).build())
          .getConsistencyPathList());
    }
    verifier.accept(head, consistency);
    Map<String, byte[]> alongside = new HashMap<>();
    alongside.put(TRUSTED_HEAD, verifier.trusted().orElseThrow().toByteArray());
    if (proof != null) {
      alongside.put(IdentifierLibrary.filingBatchKey(head.getTreeSize()),
          storedBatch(head, proof, verified).toByteArray());
    }
    library.markFiled(verified, alongside);
    events.info("filing.filed", "count", verified.size(), "tree_size", head.getTreeSize());
  }

  // The batch proof kept once for all its records (IDN-030): head, frontier, and the leaves in
  // order, from which each record's audit path is derived (IdentifierLibrary.provenReceipt).
  private static FileIdentifiersResponse storedBatch(SignedTreeHead head,
      BatchInclusionProof proof, List<FilingReceipt> verified) {
    FileIdentifiersResponse.Builder stored = FileIdentifiersResponse.newBuilder()
        .setTreeHead(head).setBatchProof(proof);
    for (FilingReceipt receipt : verified) {
      if (receipt.getLeafIndex() >= proof.getFirstLeafIndex()) {
        stored.addReceipts(FilingReceipt.newBuilder().setIdentifier(receipt.getIdentifier())
            .setLeafIndex(receipt.getLeafIndex()).setLeafHash(receipt.getLeafHash()));
      }
    }
    return stored.build();
  }

  private void retryLater(String event, String reason) {
    events.warn(event, "reason", reason, "retry_in_ms", backoff);
    worker.schedule(this::wake, backoff, TimeUnit.MILLISECONDS);
    backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
  }

  // The same batch gets the same request id on every retry (IDN-012).
  private static String requestId(List<FilingEntry> batch) {
    try {
      MessageDigest digest = MessageDigest.getInstance("SHA-256");
      for (FilingEntry e : batch) {
        digest.update(e.getIdentifier().getBytes(StandardCharsets.UTF_8));
        digest.update((byte) '\n');
      }
      return "file-" + HexFormat.of().formatHex(digest.digest()).substring(0, 32);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<byte[]> bytes(List<ByteString> list) {
    List<byte[]> out = new ArrayList<>(list.size());
    list.forEach(b -> out.add(b.toByteArray()));
    return out;
  }

  @Override
  public void close() {
    // Not an interrupt first: a thread interrupted inside FileChannel.force closes the store's
    // write-ahead log under it (the store then stops). A round in progress gets a moment to end.
    worker.shutdown();
    try {
      if (!worker.awaitTermination(2, TimeUnit.SECONDS)) {
        worker.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      worker.shutdownNow();
    }
  }
}
