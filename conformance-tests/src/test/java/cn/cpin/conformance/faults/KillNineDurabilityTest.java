package cn.cpin.conformance.faults;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.GetIdentifierRecordRequest;
import cn.cpin.identifier.v1.GetInclusionProofRequest;
import cn.cpin.identifier.v1.GetInclusionProofResponse;
import cn.cpin.identifier.v1.IdentifierKind;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.identifier.v1.ListIdentifierRecordsRequest;
import cn.cpin.identifier.v1.ListIdentifierRecordsResponse;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * IDN-009, IDN-011, IDN-012 under a crash: the regional node is killed with SIGKILL while four
 * clients issue identifiers as fast as they can, then restarted on the same data directory.
 * Every identifier whose IssueIdentifier call was answered OK must survive exactly once, must not
 * be issued again, and must still be filed, provably, at the national node.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class KillNineDurabilityTest {
  private static final int CLIENTS = 4;
  private static final long ISSUE_FOR_MS = 3_000;
  private static final long FILED_WITHIN_MS = 30_000;
  private static final NodeCode REGIONAL = NodeCode.parse("86.44");

  @TempDir
  Path dataRoot;

  private LocalFederation federation;
  private LocalFederation.Node restarted;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final List<ExecutorService> pools = new ArrayList<>();

  @AfterEach
  void stop() {
    pools.forEach(ExecutorService::shutdownNow);
    channels.forEach(ManagedChannel::shutdownNow);
    // Children before parents, so that no node waits out its grace period for a child's stream:
    // the industry node, the restarted regional node, then the rest of the federation.
    if (restarted != null) {
      NodeProcess.stop(federation.node("86.44.C"));
      NodeProcess.stop(restarted);
    }
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void everyAcknowledgedIdentifierSurvivesKillNineOnceAndIsFiled() throws Exception {
    federation = LocalFederation.start(NodeProcess.freeBasePort(), dataRoot, System.out, null);
    LocalFederation.Node national = federation.node("86");
    LocalFederation.Node regional = federation.node("86.44");

    // --- issue as fast as possible from 4 clients, then SIGKILL the regional node ---
    ManagedChannel before = regionalOperatorChannel(regional);
    Map<String, String> acknowledged = new ConcurrentHashMap<>(); // request id -> identifier
    Map<String, Status.Code> failedAfterKill = new ConcurrentHashMap<>(); // request id -> status
    List<Throwable> failedBeforeKill = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicInteger killed = new AtomicInteger(); // 1 once the kill is under way
    ExecutorService clients = pool(CLIENTS);
    List<Future<?>> running = new ArrayList<>();
    for (int c = 0; c < CLIENTS; c++) {
      int client = c;
      running.add(clients.submit(() -> {
        IdentifierServiceGrpc.IdentifierServiceBlockingStub stub =
            IdentifierServiceGrpc.newBlockingStub(before);
        for (int i = 0; ; i++) {
          String requestId = "kill9-c" + client + "-" + i;
          try {
            IdentifierRecord record = stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                .issueIdentifier(request(requestId)).getRecord();
            acknowledged.put(requestId, record.getIdentifier());
          } catch (StatusRuntimeException e) {
            if (killed.get() == 0) {
              failedBeforeKill.add(e);
            } else {
              failedAfterKill.put(requestId, e.getStatus().getCode());
            }
            return;
          }
        }
      }));
    }
    // ~3 s of issuing, counted from when every client has been answered once (connections up).
    long warmDeadline = System.currentTimeMillis() + 30_000;
    while (acknowledged.keySet().stream().map(k -> k.substring(0, k.lastIndexOf('-'))).distinct()
        .count() < CLIENTS && failedBeforeKill.isEmpty()
        && System.currentTimeMillis() < warmDeadline) {
      Thread.sleep(10);
    }
    Thread.sleep(ISSUE_FOR_MS);
    assertThat(failedBeforeKill).as("calls that failed before the kill").isEmpty();
    killed.set(1);
    assertThat(regional.process().toHandle().destroyForcibly()).isTrue();
    assertThat(regional.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
    // SIGKILL: 128 + 9.
    assertThat(regional.process().exitValue()).isEqualTo(137);
    for (Future<?> f : running) {
      f.get(20, TimeUnit.SECONDS);
    }
    before.shutdownNow();
    int acked = acknowledged.size();
    System.out.println("KillNineDurabilityTest: " + acked + " identifiers acknowledged before"
        + " SIGKILL; in-flight calls failed with " + failedAfterKill);
    assertThat(failedBeforeKill).isEmpty();
    assertThat(acked).as("identifiers acknowledged in %d ms", ISSUE_FOR_MS).isPositive();
    // Each client was issuing when the node died: its call failed, and it stopped there.
    assertThat(failedAfterKill).hasSize(CLIENTS);
    assertThat(failedAfterKill.values()).allSatisfy(code ->
        assertThat(code).isIn(Status.Code.UNAVAILABLE, Status.Code.CANCELLED,
            Status.Code.INTERNAL, Status.Code.UNKNOWN));
    Set<String> ackedIds = new HashSet<>(acknowledged.values());
    assertThat(ackedIds).as("distinct acknowledged identifiers").hasSize(acked);

    // --- restart on the same data directory ---
    long restartedAt = System.currentTimeMillis();
    restarted = NodeProcess.restart(regional, "cn.cpin.regional.RegionalNodeMain", national,
        national, null, System.out);
    ManagedChannel after = regionalOperatorChannel(restarted);
    NodeProcess.awaitServing(restarted, after);

    // Every acknowledged identifier is there, as issued; retrying its request id answers it.
    IdentifierServiceGrpc.IdentifierServiceBlockingStub regionalStub =
        IdentifierServiceGrpc.newBlockingStub(after);
    inParallel(8, new ArrayList<>(acknowledged.entrySet()), e -> {
      IdentifierRecord record = regionalStub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .getIdentifierRecord(GetIdentifierRecordRequest.newBuilder()
              .setIdentifier(e.getValue()).build()).getRecord();
      assertThat(record.getIdentifier()).isEqualTo(e.getValue());
      assertThat(record.getIssuingNodeCode()).isEqualTo("86.44");
      assertThat(regionalStub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .issueIdentifier(request(e.getKey())).getRecord().getIdentifier())
          .as("retry of %s", e.getKey()).isEqualTo(e.getValue());
    });

    // Calls cut off by the kill may or may not have issued; a retry answers with one identifier
    // either way, and never with one acknowledged to another request.
    Map<String, String> retriedInFlight = new HashMap<>();
    for (String requestId : failedAfterKill.keySet()) {
      retriedInFlight.put(requestId, regionalStub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .issueIdentifier(request(requestId)).getRecord().getIdentifier());
    }
    assertThat(retriedInFlight.values()).doesNotContainAnyElementsOf(ackedIds);
    assertThat(new HashSet<>(retriedInFlight.values())).hasSize(retriedInFlight.size());

    Map<String, IdentifierRecord> beforeNewIssuance = listAll(regionalStub);
    assertThat(beforeNewIssuance.keySet()).containsAll(ackedIds)
        .containsAll(retriedInFlight.values());

    // Within 30 s, every acknowledged identifier is FILED (listing pages show no duplicates).
    Map<String, IdentifierRecord> all;
    List<String> notFiled;
    while (true) {
      all = listAll(regionalStub);
      Map<String, IdentifierRecord> snapshot = all;
      notFiled = ackedIds.stream().filter(id -> snapshot.get(id) == null
          || snapshot.get(id).getFilingStatus() != FilingStatus.FILING_STATUS_FILED).toList();
      if (notFiled.isEmpty() || System.currentTimeMillis() - restartedAt > FILED_WITHIN_MS) {
        break;
      }
      Thread.sleep(250);
    }
    assertThat(notFiled).as("acknowledged identifiers not FILED %d ms after the restart",
        FILED_WITHIN_MS).isEmpty();
    System.out.println("KillNineDurabilityTest: all " + acked + " acknowledged identifiers FILED "
        + (System.currentTimeMillis() - restartedAt) + " ms after the restart; library holds "
        + all.size() + " records");
    assertThat(all.keySet()).containsAll(ackedIds);

    // New issuance after the restart never repeats an identifier the library holds.
    List<String> fresh = new java.util.concurrent.CopyOnWriteArrayList<>();
    List<Integer> lanes = List.of(0, 1, 2, 3);
    inParallel(CLIENTS, lanes, lane -> {
      for (int i = 0; i < 50; i++) {
        fresh.add(regionalStub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .issueIdentifier(request("after-restart-" + lane + "-" + i)).getRecord()
            .getIdentifier());
      }
    });
    assertThat(fresh).hasSize(200);
    assertThat(new HashSet<>(fresh)).hasSize(200);
    assertThat(fresh).doesNotContainAnyElementsOf(beforeNewIssuance.keySet());

    assertThat(listAll(regionalStub).keySet()).containsAll(beforeNewIssuance.keySet())
        .containsAll(fresh).hasSize(beforeNewIssuance.size() + fresh.size());

    // Every acknowledged identifier has an inclusion proof at the national node that verifies.
    PublicKey logKey = new CredentialFiles(regional.dataDir()).filingLogKey().orElseThrow();
    ManagedChannel nationalChannel = federation.operatorChannel(national);
    channels.add(nationalChannel);
    FilingServiceGrpc.FilingServiceBlockingStub filing =
        FilingServiceGrpc.newBlockingStub(nationalChannel);
    Map<String, IdentifierRecord> filed = all;
    inParallel(8, new ArrayList<>(ackedIds), id -> {
      IdentifierRecord record = filed.get(id);
      GetInclusionProofResponse proof = filing.withDeadlineAfter(10, TimeUnit.SECONDS)
          .getInclusionProof(GetInclusionProofRequest.newBuilder().setIdentifier(id).build());
      assertThat(proof.getEntry().getIdentifier()).isEqualTo(id);
      assertThat(proof.getEntry().getRecordDigest()).isEqualTo(ByteString.copyFrom(
          FilingEncoding.recordDigest(record.getIdentifier(), record.getKindValue(),
              record.getIssuingNodeCode(), record.getOwnerId(), record.getIssuedAt(),
              record.getAttributesMap())));
      assertThat(TreeHeadSigner.verify(proof.getTreeHead(), logKey)).isTrue();
      assertThat(MerkleProofs.verifyInclusion(FilingEncoding.leafHash(proof.getEntry()),
          proof.getLeafIndex(), proof.getTreeSize(), proof.getAuditPathList().stream()
              .map(ByteString::toByteArray).toList(),
          proof.getTreeHead().getRootHash().toByteArray())).as("inclusion of %s", id).isTrue();
      assertThat(record.getFilingReceipt().getLeafIndex()).isEqualTo(proof.getLeafIndex());
    });
  }

  // --- helpers ---

  private static IssueIdentifierRequest request(String requestId) {
    return IssueIdentifierRequest.newBuilder().setRequestId(requestId)
        .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT).build();
  }

  /** Every record, by ListIdentifierRecords pages of 1000; fails on a repeated identifier. */
  private static Map<String, IdentifierRecord> listAll(
      IdentifierServiceGrpc.IdentifierServiceBlockingStub stub) {
    Map<String, IdentifierRecord> all = new LinkedHashMap<>();
    String token = "";
    int pages = 0;
    do {
      ListIdentifierRecordsResponse page = stub.withDeadlineAfter(20, TimeUnit.SECONDS)
          .listIdentifierRecords(ListIdentifierRecordsRequest.newBuilder().setPageSize(1000)
              .setPageToken(token).build());
      for (IdentifierRecord record : page.getRecordsList()) {
        assertThat(all.put(record.getIdentifier(), record))
            .as("%s listed twice", record.getIdentifier()).isNull();
        assertThat(Identifier.parse(record.getIdentifier()).nodeCode().toString())
            .isEqualTo(record.getIssuingNodeCode());
      }
      token = page.getNextPageToken();
      assertThat(++pages).as("pages").isLessThan(1000);
    } while (!token.isEmpty());
    return all;
  }

  private ManagedChannel regionalOperatorChannel(LocalFederation.Node node) throws Exception {
    ManagedChannel channel = NodeTls.channel(new InetSocketAddress("127.0.0.1", node.port()),
        CredentialFiles.read(dataRoot.resolve("86.44").resolve("operator"), "operator"),
        KeyMaterial.readCertificates(federation.trustAnchors()), CpinIdentity.node(REGIONAL));
    channels.add(channel);
    return channel;
  }

  private ExecutorService pool(int n) {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    pools.add(pool);
    return pool;
  }

  /** Runs {@code check} on every item with {@code n} threads; rethrows the first failure. */
  private <T> void inParallel(int n, List<T> items, ThrowingConsumer<T> check) throws Exception {
    ExecutorService pool = pool(n);
    List<Future<Void>> futures = new ArrayList<>();
    int chunk = (items.size() + n - 1) / n;
    for (int from = 0; from < items.size(); from += chunk) {
      List<T> part = items.subList(from, Math.min(items.size(), from + chunk));
      futures.add(pool.submit((Callable<Void>) () -> {
        for (T item : part) {
          check.accept(item);
        }
        return null;
      }));
    }
    for (Future<Void> f : futures) {
      try {
        f.get(60, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof Exception ex) {
          throw ex;
        }
        throw (Error) e.getCause();
      }
    }
  }

  @FunctionalInterface
  private interface ThrowingConsumer<T> {
    void accept(T t) throws Exception;
  }
}
