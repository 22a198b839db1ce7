package cn.cpin.regional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.regional.IdentifierLibrary.IssueRequest;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SortedMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batch issuance (IDN-029) on the embedded store: one store write per batch, all or nothing,
 * per-item idempotency, and violations named by item index.
 */
class IdentifierBatchIssuanceTest {
  private static final NodeCode SELF = NodeCode.parse("86.44");
  private static final CpinIdentity OPERATOR = CpinIdentity.operator(SELF);
  private static final String RECORDS = "idn/record/";
  private static final String OUTBOX = "idn/outbox/";

  @TempDir
  Path dir;

  private final List<KeyValueStore> stores = new ArrayList<>();

  @AfterEach
  void close() {
    stores.forEach(KeyValueStore::close);
  }

  @Test
  void aBatchIsIssuedInOneDurableWriteAndAnsweredAgainWhenRetried() {
    CountingStore store = new CountingStore(open("store"));
    AtomicInteger wakes = new AtomicInteger();
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(),
        wakes::incrementAndGet);
    String owner = library.issue("owner", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
        Map.of()).getIdentifier();
    // Seeded mix of kinds and attributes, so that a fixed batch covers several serial streams.
    Random random = new Random(29);
    List<IssueRequest> batch = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      boolean participant = random.nextInt(4) == 0;
      batch.add(new IssueRequest("batch-" + i,
          participant ? IdentifierKind.PARTICIPANT : IdentifierKind.RESOURCE, null,
          participant ? "" : owner, Map.of("n", Integer.toString(random.nextInt(1000)))));
    }
    int writesBefore = store.writes.get();
    int wakesBefore = wakes.get();

    List<IdentifierRecord> issued = library.issueAll(OPERATOR, batch);

    assertThat(store.writes.get() - writesBefore).as("store writes for one batch").isEqualTo(1);
    assertThat(wakes.get() - wakesBefore).as("filing wake-ups for one batch").isEqualTo(1);
    assertThat(issued).hasSize(batch.size());
    assertThat(new HashSet<>(issued.stream().map(IdentifierRecord::getIdentifier).toList()))
        .hasSize(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      IdentifierRecord record = issued.get(i);
      assertThat(Identifier.parse(record.getIdentifier()).kind()).isEqualTo(batch.get(i).kind());
      assertThat(record.getOwnerId()).isEqualTo(batch.get(i).ownerId());
      assertThat(record.getAttributesMap()).isEqualTo(batch.get(i).attributes());
      assertThat(record.getFilingStatus()).isEqualTo(FilingStatus.FILING_STATUS_PENDING);
    }

    int writesAfter = store.writes.get();
    List<IdentifierRecord> retried = library.issueAll(OPERATOR, batch);
    assertThat(retried).isEqualTo(issued);
    assertThat(store.writes.get()).as("a replayed batch writes nothing").isEqualTo(writesAfter);
    // Each item is an IssueIdentifier request of its own: replayed alone, it answers the same.
    IssueRequest seventh = batch.get(7);
    assertThat(library.issue(seventh.requestId(), OPERATOR, seventh.kind(), null,
        seventh.ownerId(), seventh.attributes())).isEqualTo(issued.get(7));

    // Durable: a reopened store has every record and every outbox entry.
    store.delegate.close();
    stores.remove(store.delegate);
    KeyValueStore reopened = open("store");
    for (IdentifierRecord record : issued) {
      assertThat(reopened.get(RECORDS + record.getIdentifier())).isPresent();
      assertThat(reopened.get(OUTBOX + record.getIdentifier())
          .map(IdentifierBatchIssuanceTest::entry).map(FilingEntry::getIdentifier))
          .contains(record.getIdentifier());
    }
  }

  @Test
  void aBadItemRejectsTheWholeBatchNamingEveryBadFieldByIndex() {
    KeyValueStore store = open("store");
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(), () -> { });
    Map<String, String> tooMany = new java.util.HashMap<>();
    for (int i = 0; i <= IdentifierLibrary.MAX_ATTRIBUTES; i++) {
      tooMany.put("k" + i, "v");
    }
    List<IssueRequest> batch = List.of(
        participant("good-0"),
        new IssueRequest("bad-kind", null, null, "", Map.of()),
        participant("good-2"),
        new IssueRequest("bad-owner", IdentifierKind.RESOURCE, null, "", Map.of()),
        new IssueRequest("bad-attributes", IdentifierKind.PARTICIPANT, null, "", tooMany));

    InvalidArgumentException e = catchThrowableOfType(InvalidArgumentException.class,
        () -> library.issueAll(OPERATOR, batch));

    assertThat(e).isNotNull();
    assertThat(e.violations()).extracting(FieldViolation::field).containsExactly(
        "requests[1].kind", "requests[3].owner_id", "requests[4].attributes");
    assertThat(store.scan(RECORDS)).as("records after a rejected batch").isEmpty();
    assertThat(store.scan(OUTBOX)).as("outbox after a rejected batch").isEmpty();
    // The good items' request ids were not used: another body under them is accepted.
    assertThat(library.issue("good-0", OPERATOR, IdentifierKind.PARTICIPANT, null, "",
        Map.of("second", "body")).getAttributesMap()).containsEntry("second", "body");
  }

  @Test
  void anOwnerNotInTheLibraryRejectsTheBatchNamingTheItem() {
    KeyValueStore store = open("store");
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(), () -> { });
    library.issue("p", OPERATOR, IdentifierKind.PARTICIPANT, null, "", Map.of());
    String absent = Identifier.of(SELF, IdentifierKind.PARTICIPANT, 1_000_000L).toString();
    int recordsBefore = store.scan(RECORDS).size();

    CpinException e = catchThrowableOfType(CpinException.class, () -> library.issueAll(OPERATOR,
        List.of(participant("a"), new IssueRequest("b", IdentifierKind.RESOURCE, null,
            absent, Map.of()))));

    assertThat(e).isNotNull();
    assertThat(e.kind()).isEqualTo(CpinException.Kind.NOT_FOUND);
    assertThat(e.getMessage()).startsWith("requests[1]: ");
    assertThat(store.scan(RECORDS)).hasSize(recordsBefore);
  }

  @Test
  void aRequestIdRepeatedInOneBatchGetsOneIdentifierOrIsRejectedWithAnotherBody() {
    KeyValueStore store = open("store");
    IdentifierLibrary library = new IdentifierLibrary(SELF, store, Clock.systemUTC(), () -> { });

    List<IdentifierRecord> same = library.issueAll(OPERATOR, List.of(participant("x"),
        participant("y"), participant("x")));
    assertThat(same.get(2)).isEqualTo(same.get(0));
    assertThat(same.get(1).getIdentifier()).isNotEqualTo(same.get(0).getIdentifier());

    InvalidArgumentException e = catchThrowableOfType(InvalidArgumentException.class,
        () -> library.issueAll(OPERATOR, List.of(participant("z"), participant("w"),
            new IssueRequest("z", IdentifierKind.PARTICIPANT, null, "", Map.of("other", "1")))));
    assertThat(e).isNotNull();
    assertThat(e.violations()).singleElement().satisfies(v -> {
      assertThat(v.field()).isEqualTo("requests[2].request_id");
      assertThat(v.reason()).isEqualTo(ErrorReason.ERROR_REASON_REQUEST_ID_REUSED);
    });
    // Reused across calls: "x" answered before, with another body now.
    InvalidArgumentException reused = catchThrowableOfType(InvalidArgumentException.class,
        () -> library.issueAll(OPERATOR, List.of(participant("v"), new IssueRequest("x",
            IdentifierKind.PARTICIPANT, null, "", Map.of("other", "1")))));
    assertThat(reused).isNotNull();
    assertThat(reused.violations()).extracting(FieldViolation::field)
        .containsExactly("requests[1].request_id");
    assertThat(store.scan(RECORDS)).hasSize(2);
  }

  private static IssueRequest participant(String requestId) {
    return new IssueRequest(requestId, IdentifierKind.PARTICIPANT, null, "", Map.of());
  }

  private static FilingEntry entry(byte[] bytes) {
    try {
      return FilingEntry.parseFrom(bytes);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
  }

  private KeyValueStore open(String name) {
    KeyValueStore store = EmbeddedKeyValueStore.open(dir.resolve(name));
    stores.add(store);
    return store;
  }

  /** Counts conditional writes (increments, which reserve serial blocks, are not counted). */
  private static final class CountingStore implements KeyValueStore {
    final KeyValueStore delegate;
    final AtomicInteger writes = new AtomicInteger();

    CountingStore(KeyValueStore delegate) {
      this.delegate = delegate;
    }

    @Override
    public Optional<byte[]> get(String key) {
      return delegate.get(key);
    }

    @Override
    public SortedMap<String, byte[]> scan(String prefix) {
      return delegate.scan(prefix);
    }

    @Override
    public SortedMap<String, byte[]> scan(String prefix, int limit) {
      return delegate.scan(prefix, limit);
    }

    @Override
    public boolean write(Map<String, byte[]> puts, Iterable<String> deletes,
        Map<String, Optional<byte[]>> expected) {
      writes.incrementAndGet();
      return delegate.write(puts, deletes, expected);
    }

    @Override
    public long increment(String key, long delta) {
      return delegate.increment(key, delta);
    }

    @Override
    public void sync() {
      delegate.sync();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }
}
