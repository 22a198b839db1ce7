package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.identifier.v1.BatchInclusionProof;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.ByteString;
import com.google.protobuf.util.Timestamps;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The national filing log's batch proofs (IDN-016, IDN-030): concurrent calls each get their new
 * leaves as one contiguous run m … n − 1 under a head of exactly n, whose batch proof verifies
 * with the leaf hashes of the call's own entries; entries filed earlier keep full receipts, and
 * a call that does not ask gets full receipts only.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FilingLogTest {
  private static final NodeCode REGION = NodeCode.parse("86.44");
  private static final CpinIdentity CALLER = CpinIdentity.node(REGION);

  @TempDir
  Path dir;

  private KeyValueStore store;
  private TreeHeadSigner signer;
  private FilingLog log;
  private final AtomicLong serials = new AtomicLong();

  @BeforeEach
  void open() throws Exception {
    store = EmbeddedKeyValueStore.open(dir.resolve("store"));
    KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(new ECGenParameterSpec("secp256r1"));
    signer = new TreeHeadSigner(generator.generateKeyPair());
    log = new FilingLog(store, signer, Clock.systemUTC());
  }

  @AfterEach
  void close() {
    store.close();
  }

  @Test
  void concurrentCallsEachGetContiguousLeavesAndABatchProofOfExactlyTheirHead() throws Exception {
    Random random = new Random(42);
    ExecutorService callers = Executors.newFixedThreadPool(4);
    try {
      List<Future<Void>> calls = new ArrayList<>();
      for (int c = 0; c < 40; c++) {
        List<FilingEntry> entries = entries(1 + random.nextInt(300));
        calls.add(callers.submit(() -> {
          FilingLog.Appended appended = log.append("call", CALLER, entries, true);
          assertBatchProves(appended, entries);
          return null;
        }));
      }
      for (Future<Void> call : calls) {
        call.get();
      }
    } finally {
      callers.shutdownNow();
    }
  }

  @Test
  void earlierEntriesKeepFullReceiptsAndACallWithoutTheFlagGetsNoBatchProof() {
    List<FilingEntry> first = entries(37);
    FilingLog.Appended old = log.append("old", CALLER, first, false);
    assertThat(old.batchProof()).isNull();
    for (FilingReceipt receipt : old.receipts()) {
      assertFull(receipt, old.treeHead());
    }

    // A refiling of five of them with 20 new ones: the new ones are m … n − 1, proved at once.
    List<FilingEntry> mixed = new ArrayList<>(first.subList(10, 15));
    List<FilingEntry> fresh = entries(20);
    mixed.addAll(fresh);
    FilingLog.Appended appended = log.append("mixed", CALLER, mixed, true);
    assertThat(appended.batchProof().getFirstLeafIndex()).isEqualTo(37);
    assertThat(appended.treeHead().getTreeSize()).isEqualTo(57);
    for (FilingReceipt receipt : appended.receipts().subList(0, 5)) {
      assertFull(receipt, appended.treeHead());
    }
    assertBatchProves(appended, fresh);

    // Nothing new: full receipts only, no batch proof.
    FilingLog.Appended retry = log.append("mixed", CALLER, mixed, true);
    assertThat(retry.batchProof()).isNull();
    retry.receipts().forEach(r -> assertFull(r, retry.treeHead()));
  }

  private void assertBatchProves(FilingLog.Appended appended, List<FilingEntry> fresh) {
    BatchInclusionProof proof = appended.batchProof();
    SignedTreeHead head = appended.treeHead();
    assertThat(proof).isNotNull();
    long m = proof.getFirstLeafIndex();
    assertThat(head.getTreeSize()).as("the head is signed at the end of the call's leaves")
        .isEqualTo(m + fresh.size());
    List<FilingReceipt> compact = appended.receipts().stream()
        .filter(r -> !r.hasTreeHead()).toList();
    List<byte[]> leaves = new ArrayList<>();
    for (int i = 0; i < fresh.size(); i++) {
      FilingReceipt receipt = compact.get(i);
      assertThat(receipt.getIdentifier()).isEqualTo(fresh.get(i).getIdentifier());
      assertThat(receipt.getLeafIndex()).as("leaves of one call are contiguous").isEqualTo(m + i);
      assertThat(receipt.getAuditPathList()).isEmpty();
      assertThat(receipt.getLeafHash()).isEmpty();
      leaves.add(FilingEncoding.leafHash(fresh.get(i)));
    }
    assertThat(compact).hasSize(fresh.size());
    List<byte[]> frontier = proof.getLeftFrontierList().stream().map(ByteString::toByteArray)
        .toList();
    assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, leaves, head.getTreeSize(),
        head.getRootHash().toByteArray())).as("batch [%d, %d)", m, head.getTreeSize()).isTrue();
    // The per-leaf proof stays obtainable, and equals the one derived from the batch.
    FilingReceipt last = log.inclusion(Identifier.parse(fresh.get(fresh.size() - 1)
        .getIdentifier()), head.getTreeSize());
    assertThat(MerkleProofs.batchAuditPath(m, frontier, leaves, last.getLeafIndex()))
        .zipSatisfy(last.getAuditPathList(), (a, b) -> assertThat(a).isEqualTo(b.toByteArray()));
    assertThat(last.getAuditPathCount()).isEqualTo(
        MerkleProofs.batchAuditPath(m, frontier, leaves, last.getLeafIndex()).size());
  }

  private static void assertFull(FilingReceipt receipt, SignedTreeHead head) {
    assertThat(receipt.getTreeHead()).isEqualTo(head);
    assertThat(MerkleProofs.verifyInclusion(receipt.getLeafHash().toByteArray(),
        receipt.getLeafIndex(), head.getTreeSize(), receipt.getAuditPathList().stream()
            .map(ByteString::toByteArray).toList(), head.getRootHash().toByteArray())).isTrue();
  }

  private List<FilingEntry> entries(int count) {
    List<FilingEntry> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String id = Identifier.of(REGION, IdentifierKind.PARTICIPANT, serials.incrementAndGet())
          .toString();
      out.add(FilingEntry.newBuilder().setIdentifier(id)
          .setKindValue(IdentifierKind.PARTICIPANT.number())
          .setIssuedAt(Timestamps.fromMillis(1_764_000_000_000L))
          .setRecordDigest(ByteString.copyFrom(new byte[32])).build());
    }
    return out;
  }
}
