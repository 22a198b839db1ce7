package cn.cpin.regional;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.identifier.v1.BatchInclusionProof;
import cn.cpin.identifier.v1.FileIdentifiersRequest;
import cn.cpin.identifier.v1.FileIdentifiersResponse;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.GetConsistencyProofRequest;
import cn.cpin.identifier.v1.GetConsistencyProofResponse;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.node.EventLog;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleTree;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.regional.IdentifierLibrary.IssueRequest;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The filing outbox (IDN-012, IDN-013, IDN-030) against a small national log of real Merkle trees
 * and signed tree heads, on an in-process transport: every identifier is sent once and filed
 * with a verified receipt (the trusted head, the batch proof and the receipts go in one store
 * write), by a national node with batch proofs or one without, and a receipt whose inclusion
 * proof or batch proof does not verify is never recorded.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FilingOutboxTest {
  private static final NodeCode SELF = NodeCode.parse("86.44");
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(SELF);

  @TempDir
  Path dir;

  private final List<AutoCloseable> closing = new ArrayList<>();

  @AfterEach
  void close() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  @Test
  void everyIdentifierIsSentOnceAndFiledWithAVerifiedBatchProof() throws Exception {
    NationalLog national = new NationalLog();
    Setup setup = start(national);
    List<IdentifierRecord> issued = issueAndFile(setup, 3_500);
    assertSentOnce(national, issued);
    assertThat(setup.securityEvents.get()).isZero();
    assertThat(national.batches.get()).as("calls answered with a batch proof").isPositive();
    // Alone at the log, each call starts at the trusted head: consistency from the batch proof.
    assertThat(national.consistencyCalls.get()).as("GetConsistencyProof calls").isZero();
    assertBatchFiled(setup.library, national, issued);
  }

  @Test
  void withOtherFilingsBetweenCallsConsistencyIsAskedForAndBatchProofsStillVerify()
      throws Exception {
    NationalLog national = new NationalLog();
    national.foreignLeafFirst.set(true);
    Setup setup = start(national);
    List<IdentifierRecord> issued = issueAndFile(setup, 2_500);
    assertThat(setup.securityEvents.get()).isZero();
    assertThat(national.batches.get()).as("calls answered with a batch proof").isGreaterThan(1);
    assertThat(national.consistencyCalls.get()).as("GetConsistencyProof calls").isPositive();
    assertBatchFiled(setup.library, national, issued);
  }

  // Each record keeps a receipt without audit path (IDN-030); the path derived from the batch
  // proof kept once is the log's own.
  private static void assertBatchFiled(IdentifierLibrary library, NationalLog national,
      List<IdentifierRecord> issued) {
    for (IdentifierRecord record : issued) {
      Identifier id = Identifier.parse(record.getIdentifier());
      FilingReceipt kept = library.get(id).orElseThrow().getFilingReceipt();
      assertThat(kept.getAuditPathList()).as("audit path kept in " + id).isEmpty();
      assertThat(kept.getLeafHash().toByteArray()).isEqualTo(national.tree.leafHashAt(
          kept.getLeafIndex()));
      assertThat(library.provenReceipt(id).orElseThrow().getAuditPathList())
          .as("audit path derived for " + id)
          .isEqualTo(national.auditPath(kept.getLeafIndex(), kept.getTreeHead().getTreeSize()));
    }
  }

  @Test
  void everyIdentifierIsFiledWithAVerifiedReceiptByANationalNodeWithoutBatchProofs()
      throws Exception {
    NationalLog national = new NationalLog();
    national.old.set(true);
    Setup setup = start(national);
    List<IdentifierRecord> issued = issueAndFile(setup, 3_500);
    assertSentOnce(national, issued);
    for (IdentifierRecord record : issued) {
      FilingReceipt kept = setup.library.get(Identifier.parse(record.getIdentifier()))
          .orElseThrow().getFilingReceipt();
      assertThat(kept.getAuditPathList()).isEqualTo(national.auditPath(kept.getLeafIndex(),
          kept.getTreeHead().getTreeSize()));
    }
    assertThat(setup.securityEvents.get()).isZero();
    assertThat(national.consistencyCalls.get()).as("GetConsistencyProof calls").isPositive();
  }

  @Test
  void aReceiptWhoseInclusionProofFailsIsNotRecordedAndIsFiledOnRetry() throws Exception {
    NationalLog national = new NationalLog();
    national.old.set(true);
    national.tamperNext.set(true);
    Setup setup = start(national);
    List<IdentifierRecord> issued = issueAndFile(setup, 1_500);
    assertThat(setup.securityEvents.get()).as("security.filing_verification_failed events")
        .isPositive();
    String tampered = national.tampered.get();
    IdentifierRecord record = setup.library.get(Identifier.parse(tampered)).orElseThrow();
    // Filed only after the retry, with the log's true audit path.
    assertThat(record.getFilingReceipt().getAuditPathList())
        .isEqualTo(national.auditPath(record.getFilingReceipt().getLeafIndex(),
            record.getFilingReceipt().getTreeHead().getTreeSize()));
  }

  @Test
  void aBatchProofThatFailsIsNotRecordedAndTheBatchIsFiledOnRetry() throws Exception {
    NationalLog national = new NationalLog();
    national.tamperFrontier.set(true);
    Setup setup = start(national);
    List<IdentifierRecord> first = issue(setup.library, 0, 1_000);
    setup.outbox.wake();
    awaitFiled(setup.library, first);
    // The second call's leaves start at 1000: its frontier is altered in the answer.
    List<IdentifierRecord> second = issue(setup.library, 1_000, 1_500);
    setup.outbox.wake();

    awaitFiled(setup.library, second);
    assertThat(national.tamperedBatch.get()).isEqualTo(1_000);
    assertThat(setup.securityEvents.get()).as("security.filing_verification_failed events")
        .isPositive();
    for (IdentifierRecord record : second) {
      // Filed by the retry, which appended nothing and so came with full receipts.
      FilingReceipt kept = setup.library.get(Identifier.parse(record.getIdentifier()))
          .orElseThrow().getFilingReceipt();
      assertThat(kept.getAuditPathList()).isEqualTo(national.auditPath(kept.getLeafIndex(),
          kept.getTreeHead().getTreeSize()));
    }
  }

  private record Setup(IdentifierLibrary library, FilingOutbox outbox,
      AtomicInteger securityEvents) {}

  private Setup start(NationalLog national) throws Exception {
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(national)
        .build().start();
    closing.add(() -> server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    closing.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    KeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve("store"));
    closing.add(store);
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(), () -> { });
    EventLog events = new EventLog("86.44-test", new PrintStream(OutputStream.nullOutputStream()));
    AtomicInteger security = new AtomicInteger();
    events.addListener((level, event, keyValues) -> {
      if (event.equals("security.filing_verification_failed")) {
        security.incrementAndGet();
      }
    });
    FilingOutbox outbox = new FilingOutbox(library, store, channel, national.signer.publicKey(),
        events);
    closing.add(outbox);
    return new Setup(library, outbox, security);
  }

  private static List<IdentifierRecord> issue(IdentifierLibrary library, int count) {
    return issue(library, 0, count);
  }

  private static List<IdentifierRecord> issue(IdentifierLibrary library, int from, int to) {
    List<IdentifierRecord> issued = new ArrayList<>();
    for (int start = from; start < to; start += 500) {
      List<IssueRequest> batch = new ArrayList<>();
      for (int i = start; i < Math.min(to, start + 500); i++) {
        batch.add(new IssueRequest("r-" + i, IdentifierKind.PARTICIPANT, null, "", Map.of()));
      }
      issued.addAll(library.issueAll(OPERATOR, batch));
    }
    return issued;
  }

  private static List<IdentifierRecord> issueAndFile(Setup setup, int count)
      throws InterruptedException {
    List<IdentifierRecord> issued = issue(setup.library, count);
    setup.outbox.wake();
    awaitFiled(setup.library, issued);
    return issued;
  }

  private static void assertSentOnce(NationalLog national, List<IdentifierRecord> issued) {
    for (IdentifierRecord record : issued) {
      assertThat(national.received.get(record.getIdentifier())).as("sends of "
          + record.getIdentifier()).hasValue(1);
    }
  }

  private static void awaitFiled(IdentifierLibrary library, List<IdentifierRecord> issued)
      throws InterruptedException {
    for (IdentifierRecord record : issued) {
      Identifier id = Identifier.parse(record.getIdentifier());
      while (library.get(id).orElseThrow().getFilingStatus()
          != FilingStatus.FILING_STATUS_FILED) {
        Thread.sleep(20);
      }
    }
  }

  /** A national filing log in memory: a real Merkle tree, signed tree heads. */
  private static final class NationalLog extends FilingServiceGrpc.FilingServiceImplBase {
    final TreeHeadSigner signer = new TreeHeadSigner(p256());
    final MerkleTree tree = new MerkleTree();
    final Map<String, Long> indexes = new HashMap<>();
    final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();
    final AtomicBoolean tamperNext = new AtomicBoolean();
    /** Answers as a national node of before IDN-030: full receipts whatever the request asks. */
    final AtomicBoolean old = new AtomicBoolean();
    final AtomicBoolean tamperFrontier = new AtomicBoolean();
    final AtomicLong tamperedBatch = new AtomicLong(-1);
    final AtomicInteger batches = new AtomicInteger();
    final AtomicInteger consistencyCalls = new AtomicInteger();
    final AtomicBoolean foreignLeafFirst = new AtomicBoolean();
    final java.util.concurrent.atomic.AtomicReference<String> tampered =
        new java.util.concurrent.atomic.AtomicReference<>();

    @Override
    public synchronized void fileIdentifiers(FileIdentifiersRequest request,
        StreamObserver<FileIdentifiersResponse> out) {
      if (foreignLeafFirst.get()) {
        // Another region's filing lands before this call's leaves.
        tree.append(MerkleTree.leafHash(new byte[] {(byte) tree.size()}));
      }
      long first = tree.size();
      for (FilingEntry entry : request.getEntriesList()) {
        received.computeIfAbsent(entry.getIdentifier(), k -> new AtomicInteger())
            .incrementAndGet();
        indexes.computeIfAbsent(entry.getIdentifier(),
            k -> tree.append(FilingEncoding.leafHash(entry)));
      }
      SignedTreeHead head = signer.sign(tree.size(), tree.rootHash(), System.currentTimeMillis());
      FileIdentifiersResponse.Builder response = FileIdentifiersResponse.newBuilder()
          .setTreeHead(head);
      boolean batch = request.getBatchProof() && !old.get() && tree.size() > first;
      if (batch) {
        batches.incrementAndGet();
        List<ByteString> frontier = new ArrayList<>(tree.leftFrontier(first).stream()
            .map(ByteString::copyFrom).toList());
        if (!frontier.isEmpty() && tamperFrontier.compareAndSet(true, false)) {
          frontier.set(0, ByteString.copyFrom(new byte[MerkleTree.HASH_LENGTH]));
          tamperedBatch.set(first);
        }
        response.setBatchProof(BatchInclusionProof.newBuilder().setFirstLeafIndex(first)
            .addAllLeftFrontier(frontier));
      }
      for (FilingEntry entry : request.getEntriesList()) {
        long index = indexes.get(entry.getIdentifier());
        if (batch && index >= first) {
          response.addReceipts(FilingReceipt.newBuilder().setIdentifier(entry.getIdentifier())
              .setLeafIndex(index));
          continue;
        }
        List<ByteString> path = auditPath(index, head.getTreeSize());
        if (tamperNext.compareAndSet(true, false)) {
          tampered.set(entry.getIdentifier());
          path = new ArrayList<>(path);
          path.set(0, ByteString.copyFrom(new byte[MerkleTree.HASH_LENGTH]));
        }
        response.addReceipts(FilingReceipt.newBuilder()
            .setIdentifier(entry.getIdentifier())
            .setLeafIndex(index)
            .setLeafHash(ByteString.copyFrom(tree.leafHashAt(index)))
            .setTreeHead(head)
            .addAllAuditPath(path));
      }
      out.onNext(response.build());
      out.onCompleted();
    }

    @Override
    public synchronized void getConsistencyProof(GetConsistencyProofRequest request,
        StreamObserver<GetConsistencyProofResponse> out) {
      consistencyCalls.incrementAndGet();
      GetConsistencyProofResponse.Builder response = GetConsistencyProofResponse.newBuilder();
      tree.consistencyProof(request.getFirstTreeSize(), request.getSecondTreeSize())
          .forEach(h -> response.addConsistencyPath(ByteString.copyFrom(h)));
      out.onNext(response.build());
      out.onCompleted();
    }

    List<ByteString> auditPath(long index, long treeSize) {
      return tree.inclusionProof(index, treeSize).stream().map(ByteString::copyFrom).toList();
    }

    private static java.security.KeyPair p256() {
      try {
        KeyPairGenerator generator = KeyPairGenerator.getInstance("EC");
        generator.initialize(new ECGenParameterSpec("secp256r1"));
        return generator.generateKeyPair();
      } catch (java.security.GeneralSecurityException e) {
        throw new AssertionError(e);
      }
    }
  }
}
