package cn.cpin.regional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierStatus;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.EtcdKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Uniqueness and ownership of issuance (IDN-008, IDN-009, IDN-011) on a real store: concurrent
 * issuers, one request id raced by many threads, restarts on a reopened store, and two replicas
 * sharing one etcd prefix.
 */
// A guard against hangs; on an idle machine the whole class takes about 25 s.
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class IdentifierLibraryTest {
  private static final NodeCode SELF = NodeCode.parse("86.44");
  private static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(SELF);
  private static final CpinIdentity INDUSTRY_NODE = CpinIdentity.node(INDUSTRY);
  private static final String ETCD_VARIABLE = "CPIN_ETCD_ENDPOINTS";

  @TempDir
  Path dir;

  private final List<KeyValueStore> stores = new ArrayList<>();
  private final List<ExecutorService> pools = new ArrayList<>();
  private final List<Runnable> cleanups = new ArrayList<>();

  @AfterEach
  void closeEverything() {
    pools.forEach(ExecutorService::shutdownNow);
    cleanups.forEach(Runnable::run);
    stores.forEach(KeyValueStore::close);
  }

  @Test
  void sixteenConcurrentIssuersGetEightThousandDistinctValidIdentifiers() throws Exception {
    KeyValueStore store = embedded("store");
    AtomicInteger issuedCallbacks = new AtomicInteger();
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(),
        issuedCallbacks::incrementAndGet);

    List<String> issued = runConcurrently(16, thread -> {
      List<String> mine = new ArrayList<>(500);
      for (int i = 0; i < 500; i++) {
        mine.add(library.issue("t" + thread + "-" + i, OPERATOR, IdentifierKind.PARTICIPANT, null,
            "", Map.of()).getIdentifier());
      }
      return mine;
    });

    assertThat(issued).hasSize(8000);
    assertThat(new HashSet<>(issued)).hasSize(8000);
    for (String text : issued) {
      Identifier id = Identifier.parse(text);
      assertThat(id.toString()).isEqualTo(text);
      assertThat(id.nodeCode()).isEqualTo(SELF);
      assertThat(id.kind()).isEqualTo(IdentifierKind.PARTICIPANT);
      assertThat(id.serial()).isPositive();
    }
    // Every one is a durable record, issued as IDN-011 says, and queued for filing once.
    List<IdentifierRecord> records = library.list(r -> true, "", 100_000);
    assertThat(records).extracting(IdentifierRecord::getIdentifier)
        .containsExactlyInAnyOrderElementsOf(issued);
    assertThat(records).allSatisfy(r -> {
      assertThat(r.getStatus()).isEqualTo(IdentifierStatus.IDENTIFIER_STATUS_ACTIVE);
      assertThat(r.getFilingStatus()).isEqualTo(FilingStatus.FILING_STATUS_PENDING);
      assertThat(r.getVersion()).isEqualTo(1);
      assertThat(r.getIssuingNodeCode()).isEqualTo("86.44");
    });
    assertThat(library.pendingFilings(100_000)).extracting(FilingEntry::getIdentifier)
        .containsExactlyInAnyOrderElementsOf(issued);
    assertThat(issuedCallbacks.get()).isEqualTo(8000);
  }

  @Test
  void oneRequestIdFromSixteenThreadsAtOnceGivesOneIdentifierAndOneRecord() throws Exception {
    KeyValueStore store = embedded("store");
    AtomicInteger issuedCallbacks = new AtomicInteger();
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(),
        issuedCallbacks::incrementAndGet);
    // The owner of the resources below, so that the requests are valid under IDN-011.
    String owner = library.issue("owner", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
        Map.of()).getIdentifier();
    int rounds = 25;
    for (int round = 0; round < rounds; round++) {
      String requestId = "same-request-" + round;
      CyclicBarrier together = new CyclicBarrier(16);
      List<IdentifierRecord> answers = runConcurrently(16, thread -> {
        together.await(10, TimeUnit.SECONDS);
        return List.of(library.issue(requestId, OPERATOR, IdentifierKind.RESOURCE, null,
            owner, Map.of("site", "Shaoguan")));
      });
      assertThat(answers).hasSize(16);
      assertThat(answers.stream().map(IdentifierRecord::getIdentifier).distinct().toList())
          .as("identifiers answered to request %s", requestId).hasSize(1);
      // Not only the same identifier: the same record, the first one's.
      assertThat(new HashSet<>(answers)).hasSize(1);
    }
    assertThat(library.list(r -> true, "", 100_000)).hasSize(rounds + 1);
    assertThat(library.pendingFilings(100_000)).hasSize(rounds + 1);
    assertThat(issuedCallbacks.get()).isEqualTo(rounds + 1);
  }

  @Test
  void issuingAfterReopeningTheStoreNeverRepeatsAnEarlierIdentifier() throws Exception {
    Path file = dir.resolve("restarted");
    Set<String> everIssued = new HashSet<>();
    Map<String, String> byRequest = new java.util.HashMap<>(); // request id -> identifier
    Map<String, NodeCode> underByRequest = new java.util.HashMap<>();
    // Four "restarts"; in each, four concurrent issuers in three (node code, kind) pairs, so
    // that every life abandons the unused rest of the blocks it reserved.
    int lives = 4;
    int perThread = 150;
    String owner = null; // of the orders (IDN-011), issued in the first life
    for (int life = 0; life < lives; life++) {
      try (KeyValueStore store = EmbeddedKeyValueStore.open(file)) {
        IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(),
            () -> { });
        // Everything issued before the restart is still there, exactly once.
        List<IdentifierRecord> before = library.list(r -> true, "", 1_000_000);
        assertThat(before).extracting(IdentifierRecord::getIdentifier)
            .containsExactlyInAnyOrderElementsOf(everIssued);
        // A retried request id still answers with its first identifier after the restart.
        byRequest.forEach((requestId, identifier) -> assertThat(library.issue(requestId,
            OPERATOR, IdentifierKind.PARTICIPANT, underByRequest.get(requestId), "", Map.of())
            .getIdentifier()).as("retry of %s", requestId).isEqualTo(identifier));
        if (owner == null) {
          owner = library.issue("owner", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
              Map.of()).getIdentifier();
          everIssued.add(owner);
        }
        String orderOwner = owner;
        int thisLife = life;
        List<String[]> issued = runConcurrently(4, thread -> {
          IdentifierKind kind = thread == 1 ? IdentifierKind.ORDER : IdentifierKind.PARTICIPANT;
          NodeCode under = thread == 2 ? INDUSTRY : SELF;
          List<String[]> mine = new ArrayList<>();
          for (int i = 0; i < perThread; i++) {
            String requestId = "life" + thisLife + "-t" + thread + "-" + i;
            mine.add(new String[] {requestId, library.issue(requestId, OPERATOR, kind, under,
                kind == IdentifierKind.PARTICIPANT ? "" : orderOwner, Map.of()).getIdentifier(),
                under.toString(), kind.name()});
          }
          return mine;
        });
        for (String[] r : issued) {
          assertThat(everIssued.add(r[1])).as("%s issued again in life %d", r[1], life).isTrue();
          if (r[0].endsWith("-0") && r[3].equals("PARTICIPANT")) {
            byRequest.put(r[0], r[1]);
            underByRequest.put(r[0], NodeCode.parse(r[2]));
          }
        }
      }
      pools.forEach(ExecutorService::shutdownNow);
    }
    assertThat(byRequest).hasSize(3 * lives);
    assertThat(everIssued).hasSize(lives * 4 * perThread + 1);
  }

  @Test
  void anIndustryNodeIssuesOnlyUnderItsOwnCode() {
    IdentifierLibrary library = new IdentifierLibrary(SELF, embedded("store"), Clock.systemUTC(),
        () -> { });

    IdentifierRecord implicit = library.issue("i-1", INDUSTRY_NODE, IdentifierKind.PARTICIPANT,
        null, "", Map.of());
    IdentifierRecord explicit = library.issue("i-2", INDUSTRY_NODE, IdentifierKind.RESOURCE,
        INDUSTRY, implicit.getIdentifier(), Map.of());
    assertThat(Identifier.parse(implicit.getIdentifier()).nodeCode()).isEqualTo(INDUSTRY);
    assertThat(implicit.getIssuingNodeCode()).isEqualTo("86.44.C");
    assertThat(Identifier.parse(explicit.getIdentifier()).nodeCode()).isEqualTo(INDUSTRY);
    assertThat(explicit.getIssuingNodeCode()).isEqualTo("86.44.C");

    int n = 0;
    for (String other : List.of("86.44", "86.44.D", "86.31", "86.31.C", "86")) {
      assertNotOwner(() -> library.issue("denied-" + other, INDUSTRY_NODE,
          IdentifierKind.PARTICIPANT, NodeCode.parse(other), "", Map.of()));
      n++;
    }
    assertThat(n).isEqualTo(5);
    // Refusals leave nothing behind.
    assertThat(library.list(r -> true, "", 1000)).extracting(IdentifierRecord::getIdentifier)
        .containsExactlyInAnyOrder(implicit.getIdentifier(), explicit.getIdentifier());
    assertThat(library.pendingFilings(1000)).hasSize(2);
  }

  @Test
  void theOperatorIssuesOnlyUnderItsNodeAndItsIndustryNodes() {
    IdentifierLibrary library = new IdentifierLibrary(SELF, embedded("store"), Clock.systemUTC(),
        () -> { });

    IdentifierRecord own = library.issue("o-1", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
        Map.of());
    IdentifierRecord ownExplicit = library.issue("o-2", OPERATOR, IdentifierKind.PARTICIPANT,
        SELF, "", Map.of());
    IdentifierRecord industry = library.issue("o-3", OPERATOR, IdentifierKind.PARTICIPANT,
        INDUSTRY, "", Map.of());
    assertThat(Identifier.parse(own.getIdentifier()).nodeCode()).isEqualTo(SELF);
    assertThat(Identifier.parse(ownExplicit.getIdentifier()).nodeCode()).isEqualTo(SELF);
    assertThat(Identifier.parse(industry.getIdentifier()).nodeCode()).isEqualTo(INDUSTRY);

    for (String other : List.of("86.31", "86.31.C", "86")) {
      assertNotOwner(() -> library.issue("denied-" + other, OPERATOR,
          IdentifierKind.PARTICIPANT, NodeCode.parse(other), "", Map.of()));
    }
    assertThat(library.list(r -> true, "", 1000)).hasSize(3);
    assertThat(library.pendingFilings(1000)).hasSize(3);
  }

  @Test
  void twoReplicasSharingOneEtcdPrefixNeverIssueTheSameIdentifier() throws Exception {
    List<String> endpoints = etcdEndpoints();
    String prefix = "/cpin-test/identifier-library/" + UUID.randomUUID() + "/";
    KeyValueStore storeA = etcd(endpoints, prefix);
    KeyValueStore storeB = etcd(endpoints, prefix);
    IdentifierLibrary replicaA = new IdentifierLibrary(SELF, storeA, Clock.systemUTC(), () -> { });
    IdentifierLibrary replicaB = new IdentifierLibrary(SELF, storeB, Clock.systemUTC(), () -> { });
    IdentifierLibrary[] replicas = {replicaA, replicaB};
    // The owner of the demands below (IDN-011).
    String owner = replicaA.issue("owner", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
        Map.of()).getIdentifier();
    int perThread = 150;

    // 8 threads on each replica, all issuing at once; a few requests go to both replicas with
    // the same request id, as a client retrying against the other replica would.
    CyclicBarrier start = new CyclicBarrier(16);
    List<String[]> answers = runConcurrently(16, thread -> {
      IdentifierLibrary library = replicas[thread % 2];
      int lane = thread / 2;
      start.await(10, TimeUnit.SECONDS);
      List<String[]> mine = new ArrayList<>();
      for (int i = 0; i < perThread; i++) {
        String requestId = i % 50 == 0 ? "shared-" + lane + "-" + i : "r" + thread + "-" + i;
        IdentifierKind kind = i % 2 == 0 ? IdentifierKind.PARTICIPANT : IdentifierKind.DEMAND;
        mine.add(new String[] {requestId, library.issue(requestId, OPERATOR, kind,
            i % 5 == 0 ? INDUSTRY : null, kind == IdentifierKind.PARTICIPANT ? "" : owner,
            Map.of()).getIdentifier()});
      }
      return mine;
    });

    assertThat(answers).hasSize(16 * perThread);
    Map<String, Set<String>> identifiersByRequest = answers.stream().collect(Collectors.groupingBy(
        a -> a[0], Collectors.mapping(a -> a[1], Collectors.toSet())));
    assertThat(identifiersByRequest.values()).allSatisfy(ids -> assertThat(ids).hasSize(1));
    Map<String, Set<String>> requestsByIdentifier = answers.stream().collect(
        Collectors.groupingBy(a -> a[1], Collectors.mapping(a -> a[0], Collectors.toSet())));
    assertThat(requestsByIdentifier.values()).as("request ids per identifier")
        .allSatisfy(requests -> assertThat(requests).hasSize(1));
    int distinctRequests = identifiersByRequest.size();
    // 16 threads × perThread requests, of which the shared ones were sent by two threads.
    assertThat(distinctRequests).isEqualTo(16 * perThread - 8 * (perThread / 50));
    assertThat(requestsByIdentifier).hasSize(distinctRequests);
    assertThat(requestsByIdentifier).doesNotContainKey(owner);
    for (String id : requestsByIdentifier.keySet()) {
      assertThat(Identifier.isValid(id)).isTrue();
    }
    Set<String> expected = new HashSet<>(requestsByIdentifier.keySet());
    expected.add(owner);
    // Both replicas see every record, exactly once.
    for (IdentifierLibrary library : replicas) {
      assertThat(library.list(r -> true, "", 1_000_000)).extracting(IdentifierRecord::getIdentifier)
          .containsExactlyInAnyOrderElementsOf(expected);
    }
  }

  // --- helpers ---

  private static void assertNotOwner(Runnable call) {
    CpinException e = catchThrowableOfType(CpinException.class, call::run);
    assertThat(e).as("expected PERMISSION_DENIED (NOT_OWNER)").isNotNull();
    assertThat(e.kind()).isEqualTo(CpinException.Kind.PERMISSION_DENIED);
    assertThat(e.reason()).isEqualTo(ErrorReason.ERROR_REASON_NOT_OWNER);
  }

  private KeyValueStore embedded(String name) {
    KeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve(name));
    stores.add(store);
    return store;
  }

  private KeyValueStore etcd(List<String> endpoints, String prefix) {
    EtcdKeyValueStore store = EtcdKeyValueStore.connect(endpoints, prefix,
        Duration.ofSeconds(10));
    if (stores.isEmpty()) {
      // Remove this test's keys from the shared etcd, while the first store is still open.
      cleanups.add(() -> {
        List<String> keys = new ArrayList<>(store.scan("").keySet());
        for (int i = 0; i < keys.size(); i += 100) {
          store.write(Map.of(), keys.subList(i, Math.min(keys.size(), i + 100)), Map.of());
        }
      });
    }
    stores.add(store);
    return store;
  }

  private static List<String> etcdEndpoints() {
    String value = System.getenv(ETCD_VARIABLE);
    if (value == null || value.isBlank()) {
      if ("true".equals(System.getenv("CI"))) {
        fail("CI=true but " + ETCD_VARIABLE + " is not set: the shared-etcd issuance test must"
            + " run against a real etcd");
      }
      assumeTrue(false, ETCD_VARIABLE + " is not set; skipping the shared-etcd issuance test");
    }
    return Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /** Runs {@code task(0..n-1)} on n threads at once and returns all their results. */
  private <T> List<T> runConcurrently(int n, ThrowingFunction<Integer, List<T>> task)
      throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    pools.add(pool);
    List<Future<List<T>>> futures = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      int thread = i;
      futures.add(pool.submit((Callable<List<T>>) () -> task.apply(thread)));
    }
    List<T> all = new ArrayList<>();
    for (Future<List<T>> f : futures) {
      all.addAll(f.get(50, TimeUnit.SECONDS));
    }
    return all;
  }

  @FunctionalInterface
  private interface ThrowingFunction<A, R> {
    R apply(A a) throws Exception;
  }
}
