package cn.cpin.conformance;

import cn.cpin.identifier.v1.BatchInclusionProof;
import cn.cpin.identifier.v1.FileIdentifiersRequest;
import cn.cpin.identifier.v1.FileIdentifiersResponse;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.GetConsistencyProofRequest;
import cn.cpin.identifier.v1.GetConsistencyProofResponse;
import cn.cpin.identifier.v1.GetIdentifierRecordRequest;
import cn.cpin.identifier.v1.GetInclusionProofRequest;
import cn.cpin.identifier.v1.GetInclusionProofResponse;
import cn.cpin.identifier.v1.GetSignedTreeHeadRequest;
import cn.cpin.identifier.v1.IdentifierKind;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IdentifierStatus;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.identifier.v1.IssueIdentifiersRequest;
import cn.cpin.identifier.v1.ListIdentifierRecordsRequest;
import cn.cpin.identifier.v1.ListIdentifierRecordsResponse;
import cn.cpin.identifier.v1.ListNodeCodesRequest;
import cn.cpin.identifier.v1.ListNodeCodesResponse;
import cn.cpin.identifier.v1.NodeCodeAllocation;
import cn.cpin.identifier.v1.NodeCodeServiceGrpc;
import cn.cpin.identifier.v1.PrefixRecord;
import cn.cpin.identifier.v1.PrefixServiceGrpc;
import cn.cpin.identifier.v1.ResolveIdentifierRequest;
import cn.cpin.identifier.v1.ResolveIdentifierResponse;
import cn.cpin.identifier.v1.ResolvePrefixRequest;
import cn.cpin.identifier.v1.ResolvePrefixResponse;
import cn.cpin.identifier.v1.SignatureAlgorithm;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.MalformedIdentifierException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import com.google.protobuf.ByteString;
import com.google.protobuf.Duration;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * System D seen from outside (IDN): issuance, filing and resolution at a regional node, the
 * national filing log's proofs (RFC 9162) and prefix resolution.
 *
 * <p>At a regional node the suite issues a participant identifier and a resource identifier it
 * owns, as the node's operator, and follows them through filing into the national log and back
 * out through resolution. These identifiers stay in the node's library and in the national log
 * for good (IDN-025, IDN-015): run the suite against test deployments only.
 *
 * <p>When the run names the national node ({@code --national}) and the target is reached over
 * mutual TLS, the suite also asks the national node, as a node identity certified by the suite's
 * test CA, for inclusion and consistency proofs and for prefix resolution. Tree head signatures
 * are verified only when the national log's public key is given in the system property
 * {@value #LOG_KEY_PROPERTY} (a file holding the DER SubjectPublicKeyInfo, or its PEM form): v1
 * has no RPC to fetch it (IDN-018). Without it the proofs are checked against the tree heads as
 * returned.
 */
public abstract class AbstractIdentifierSuite extends ConformanceSuite {
  /** System property naming a file with the national filing log's public key (DER or PEM). */
  public static final String LOG_KEY_PROPERTY = "cpin.conformance.filing-log-key";

  // IDN-026: filed within 5 s of issuance (p99), a SHOULD.
  private static final long FILING_SHOULD_MILLIS = 5_000;
  // How long checks that need a filed identifier wait for it before failing IDN-012.
  private static final long FILING_MUST_MILLIS = 30_000;
  private static final long POLL_MILLIS = 100;
  private static final int MAX_PAGES = 100;
  private static final Duration MIN_TTL = Durations.fromSeconds(1);
  private static final Duration MAX_PREFIX_TTL = Durations.fromHours(24);
  private static final Duration MAX_IDENTIFIER_TTL = Durations.fromHours(1);
  private static final Pattern HOST_PORT = Pattern.compile(
      "(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):([0-9]{1,5})");
  private static final SecureRandom RANDOM = new SecureRandom();

  // Fixtures shared by the checks of one run, created on first use.
  private Issued owner;
  private Issued resource;
  private IdentifierRecord filedResource;
  private final List<String> ownedResources = new ArrayList<>();

  /** One IssueIdentifier call and its answer. */
  private record Issued(IssueIdentifierRequest request, IdentifierRecord record) {
    String identifier() {
      return record.getIdentifier();
    }
  }

  // ---------------------------------------------------------------- issuance (regional)

  @Check(requirements = {"IDN-001", "IDN-002", "IDN-007", "IDN-008", "IDN-011"},
      title = "IssueIdentifier returns an ACTIVE, PENDING (or FILED) record of a canonical, "
          + "check-character-valid identifier of the requested kind under the node's code")
  void issuedRecordIsWellFormed() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    NodeCode self = target().nodeCode();
    Issued participant = owner();
    expectWellFormedRecord("participant issued with an empty issuing_node_code", participant,
        self, IdentifierKind.IDENTIFIER_KIND_PARTICIPANT);
    Issued issued = resource();
    expectWellFormedRecord("resource issued under " + self, issued, self,
        IdentifierKind.IDENTIFIER_KIND_RESOURCE);
  }

  @Check(requirements = "GEN-009",
      title = "IssueIdentifier retried with the same request_id returns the same identifier")
  void issueRetryReturnsTheSameIdentifier() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    Issued first = resource();
    IdentifierRecord retried = issue("IssueIdentifier retried with request_id "
        + first.request().getRequestId(), first.request());
    Assertions.equal("identifier returned for the retried request_id "
        + first.request().getRequestId(), first.identifier(), retried.getIdentifier());
    // The record as issued must be the same; its filing may have progressed meanwhile.
    List<String> differences = new ArrayList<>();
    compare(differences, "kind", first.record().getKind(), retried.getKind());
    compare(differences, "issuing_node_code", first.record().getIssuingNodeCode(),
        retried.getIssuingNodeCode());
    compare(differences, "owner_id", first.record().getOwnerId(), retried.getOwnerId());
    compare(differences, "issued_at", first.record().getIssuedAt(), retried.getIssuedAt());
    compare(differences, "attributes", first.record().getAttributesMap(),
        retried.getAttributesMap());
    Assertions.check(differences.isEmpty(), "the retried IssueIdentifier returned "
        + first.identifier() + " with a different record: " + String.join("; ", differences));
  }

  @Check(requirements = {"GEN-010", "GEN-001"},
      title = "a request_id reused with a different request gets INVALID_ARGUMENT "
          + "REQUEST_ID_REUSED")
  void reusedRequestIdWithAnotherRequestRefused() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    Issued first = resource();
    IssueIdentifierRequest changed = first.request().toBuilder()
        .putAttributes("conformance-changed", "yes").build();
    expectError("IssueIdentifier reusing request_id " + first.request().getRequestId()
            + " with another attribute", Status.Code.INVALID_ARGUMENT, "REQUEST_ID_REUSED",
        () -> identifiers(channel()).issueIdentifier(changed));
  }

  @Check(requirements = "IDN-009",
      title = "every IssueIdentifier call with a new request_id gets a new identifier")
  void newRequestsGetNewIdentifiers() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    Issued first = resource();
    Set<String> seen = new HashSet<>(List.of(owner().identifier(), first.identifier()));
    for (int i = 0; i < 3; i++) {
      IssueIdentifierRequest again = first.request().toBuilder().setRequestId(newRequestId())
          .build();
      IdentifierRecord record = issue("IssueIdentifier with the body of " + first.identifier()
          + "'s request and a new request_id", again);
      synchronized (this) {
        ownedResources.add(record.getIdentifier());
      }
      Assertions.check(seen.add(record.getIdentifier()), "IssueIdentifier with the new "
          + "request_id " + again.getRequestId() + " returned " + record.getIdentifier()
          + ", which this run had been issued before");
    }
  }

  @Check(requirements = "IDN-008",
      title = "IssueIdentifier under another region's code gets PERMISSION_DENIED NOT_OWNER")
  void issueUnderForeignCodeDenied() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    NodeCode foreign = foreignRegion(target().nodeCode());
    expectError("IssueIdentifier as " + callerName() + " with issuing_node_code " + foreign,
        Status.Code.PERMISSION_DENIED, "NOT_OWNER", () -> identifiers(channel())
            .issueIdentifier(IssueIdentifierRequest.newBuilder()
                .setRequestId(newRequestId())
                .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT)
                .setIssuingNodeCode(foreign.toString())
                .build()));
  }

  @Check(requirements = "IDN-008",
      title = "an industry node asking for an identifier under its regional node's code gets "
          + "PERMISSION_DENIED NOT_OWNER")
  void industryNodeIssuesOnlyUnderItsOwnCode() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    requireMutualTls();
    NodeCode self = target().nodeCode();
    Optional<NodeCode> child = Callers.childOf(self).filter(NodeCode::isIndustry);
    if (child.isEmpty()) {
      throw new CheckSkipped(self + " has no industry nodes");
    }
    ManagedChannel asChild = target().channelAs(CpinIdentity.node(child.get()));
    expectError("IssueIdentifier as " + CpinIdentity.node(child.get()).uri()
            + " with issuing_node_code " + self, Status.Code.PERMISSION_DENIED, "NOT_OWNER",
        () -> identifiers(asChild).issueIdentifier(IssueIdentifierRequest.newBuilder()
            .setRequestId(newRequestId())
            .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT)
            .setIssuingNodeCode(self.toString())
            .build()));
  }

  @Check(requirements = "IDN-011",
      title = "IssueIdentifier with kind IDENTIFIER_KIND_UNSPECIFIED gets INVALID_ARGUMENT "
          + "naming kind")
  void unspecifiedKindRejected() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    StatusRuntimeException e = expectError("IssueIdentifier with kind IDENTIFIER_KIND_UNSPECIFIED",
        Status.Code.INVALID_ARGUMENT, null, () -> identifiers(channel())
            .issueIdentifier(IssueIdentifierRequest.newBuilder()
                .setRequestId(newRequestId())
                .setKind(IdentifierKind.IDENTIFIER_KIND_UNSPECIFIED)
                .build()));
    List<BadRequest.FieldViolation> violations = violations(e);
    Optional<BadRequest.FieldViolation> kind = violations.stream()
        .filter(v -> v.getField().equals("kind")).findFirst();
    Assertions.check(kind.isPresent(), "IssueIdentifier with kind IDENTIFIER_KIND_UNSPECIFIED: "
        + "the BadRequest must name the field kind, got " + fields(violations));
    Assertions.check(Set.of("FIELD_REQUIRED", "INVALID_FIELDS").contains(kind.get().getReason()),
        "IssueIdentifier with kind IDENTIFIER_KIND_UNSPECIFIED: the violation of kind must "
            + "have reason FIELD_REQUIRED or INVALID_FIELDS, got " + kind.get().getReason());
  }

  @Check(requirements = {"IDN-029", "IDN-009", "GEN-009"},
      title = "IssueIdentifiers returns one new identifier per item, in order, and the same "
          + "identifiers when retried with the same request_ids")
  void batchIssuanceIsIdempotentPerItem() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IssueIdentifiersRequest batch = IssueIdentifiersRequest.newBuilder()
        .addRequests(participantRequest())
        .addRequests(participantRequest())
        .addRequests(participantRequest())
        .build();
    List<IdentifierRecord> records = issueBatch("IssueIdentifiers of three participants", batch);
    for (int i = 0; i < records.size(); i++) {
      expectWellFormedRecord("IssueIdentifiers requests[" + i + "]",
          new Issued(batch.getRequests(i), records.get(i)), target().nodeCode(),
          IdentifierKind.IDENTIFIER_KIND_PARTICIPANT);
    }
    List<String> first = identifiersOf(records);
    Assertions.check(new HashSet<>(first).size() == 3, "IssueIdentifiers of three participants "
        + "with distinct request_ids returned " + first + ", not three distinct identifiers");
    List<String> retried = identifiersOf(issueBatch("IssueIdentifiers retried with the same "
        + "request_ids", batch));
    Assertions.equal("identifiers returned for the retried batch", first, retried);
    IdentifierRecord alone = issue("IssueIdentifier with the request_id of requests[1]",
        batch.getRequests(1));
    Assertions.equal("IssueIdentifier with the request_id of the batch's requests[1]",
        first.get(1), alone.getIdentifier());
  }

  @Check(requirements = {"IDN-029", "IDN-011", "GEN-002"},
      title = "IssueIdentifiers with one bad item gets INVALID_ARGUMENT naming requests[i].kind "
          + "and issues nothing")
  void batchWithABadItemIssuesNothing() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IssueIdentifierRequest good = participantRequest();
    IssueIdentifiersRequest batch = IssueIdentifiersRequest.newBuilder()
        .addRequests(good)
        .addRequests(participantRequest().toBuilder()
            .setKind(IdentifierKind.IDENTIFIER_KIND_UNSPECIFIED))
        .build();
    StatusRuntimeException e = expectError("IssueIdentifiers whose requests[1] has kind "
        + "IDENTIFIER_KIND_UNSPECIFIED", Status.Code.INVALID_ARGUMENT, null,
        () -> identifiers(channel()).issueIdentifiers(batch));
    List<BadRequest.FieldViolation> violations = violations(e);
    Assertions.check(violations.stream().anyMatch(v -> v.getField().equals("requests[1].kind")),
        "IssueIdentifiers whose requests[1] has kind IDENTIFIER_KIND_UNSPECIFIED: the BadRequest "
            + "must name requests[1].kind, got " + fields(violations));
    // Had requests[0] been issued, its request_id with another body would be REQUEST_ID_REUSED.
    issue("IssueIdentifier with the request_id of the rejected batch's good requests[0] and "
        + "another body", good.toBuilder().putAttributes("conformance_note", "second body")
        .build());
  }

  @Check(requirements = "IDN-029",
      title = "IssueIdentifiers with more than 1000 items gets INVALID_ARGUMENT naming requests")
  void oversizedBatchRejected() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IssueIdentifiersRequest.Builder batch = IssueIdentifiersRequest.newBuilder();
    for (int i = 0; i <= 1000; i++) {
      batch.addRequests(participantRequest());
    }
    StatusRuntimeException e = expectError("IssueIdentifiers with 1001 items",
        Status.Code.INVALID_ARGUMENT, null, () -> identifiers(channel())
            .issueIdentifiers(batch.build()));
    List<BadRequest.FieldViolation> violations = violations(e);
    Assertions.check(violations.stream().anyMatch(v -> v.getField().equals("requests")),
        "IssueIdentifiers with 1001 items: the BadRequest must name requests, got "
            + fields(violations));
  }

  @Check(requirements = {"IDN-014", "GEN-001"},
      title = "GetIdentifierRecord and ResolveIdentifier of a well-formed identifier never "
          + "issued get NOT_FOUND")
  void unissuedIdentifierNotFound() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    String unknown = neverIssued(target().nodeCode()).toString();
    expectError("GetIdentifierRecord of " + unknown + " (never issued)", Status.Code.NOT_FOUND,
        "NOT_FOUND", () -> identifiers(channel()).getIdentifierRecord(
            GetIdentifierRecordRequest.newBuilder().setIdentifier(unknown).build()));
    expectError("ResolveIdentifier of " + unknown + " (never issued)", Status.Code.NOT_FOUND,
        "NOT_FOUND", () -> identifiers(channel()).resolveIdentifier(
            ResolveIdentifierRequest.newBuilder().setIdentifier(unknown).build()));
  }

  // ---------------------------------------------------------------- filing and resolution

  @Check(requirements = "IDN-026", level = Level.SHOULD,
      title = "an issued identifier is FILED within 5 s")
  void issuedIdentifierFiledWithinFiveSeconds() throws InterruptedException {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IdentifierRecord fresh = issue("IssueIdentifier of a participant", participantRequest());
    long start = System.nanoTime();
    IdentifierRecord last = fresh;
    while (last.getFilingStatus() != FilingStatus.FILING_STATUS_FILED) {
      Assertions.check(last.getFilingStatus() != FilingStatus.FILING_STATUS_REJECTED,
          fresh.getIdentifier() + " was REJECTED by the national node: "
              + last.getFilingError());
      long elapsed = (System.nanoTime() - start) / 1_000_000;
      if (elapsed > FILING_SHOULD_MILLIS) {
        throw new AssertionError(fresh.getIdentifier() + " is still "
            + last.getFilingStatus() + " " + elapsed + " ms after issuance (IDN-026: within "
            + FILING_SHOULD_MILLIS / 1000 + " s)");
      }
      Thread.sleep(POLL_MILLIS);
      last = getRecord(fresh.getIdentifier());
    }
  }

  @Check(requirements = "IDN-014",
      title = "ResolveIdentifier right after issuance answers NOT_FOUND or a FILED record")
  void resolveNeverReturnsAnUnfiledRecord() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IdentifierRecord fresh = issue("IssueIdentifier of a participant", participantRequest());
    // Filing may complete at any moment, so NOT_FOUND cannot be required; a record may be
    // returned only once it is FILED.
    ResolveIdentifierResponse response;
    try {
      response = identifiers(channel()).resolveIdentifier(ResolveIdentifierRequest.newBuilder()
          .setIdentifier(fresh.getIdentifier()).build());
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.NOT_FOUND) {
        return;
      }
      throw new AssertionError("ResolveIdentifier of " + fresh.getIdentifier()
          + " just issued: expected NOT_FOUND or the FILED record, got " + describe(e));
    }
    Assertions.equal("filing_status of the record ResolveIdentifier returned for "
        + fresh.getIdentifier() + " (only FILED identifiers are in the library)",
        FilingStatus.FILING_STATUS_FILED, response.getRecord().getFilingStatus());
  }

  @Check(requirements = {"IDN-012", "IDN-014", "IDN-024"},
      title = "an issued identifier becomes FILED with a receipt, and ResolveIdentifier then "
          + "returns it with a TTL between 1 s and 1 h")
  void filedIdentifierResolves() throws InterruptedException {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    IdentifierRecord filed = filedResource();
    FilingReceipt receipt = filed.getFilingReceipt();
    Assertions.check(filed.hasFilingReceipt(), filed.getIdentifier()
        + " is FILED but its record has no filing_receipt");
    Assertions.equal("filing_receipt.identifier of " + filed.getIdentifier(),
        filed.getIdentifier(), receipt.getIdentifier());
    Assertions.equal("filing_receipt.leaf_hash length of " + filed.getIdentifier(), 32,
        receipt.getLeafHash().size());

    ResolveIdentifierResponse resolved;
    try {
      resolved = identifiers(channel()).resolveIdentifier(ResolveIdentifierRequest.newBuilder()
          .setIdentifier(filed.getIdentifier()).build());
    } catch (StatusRuntimeException e) {
      throw new AssertionError("ResolveIdentifier of the FILED identifier "
          + filed.getIdentifier() + " failed: " + describe(e));
    }
    IdentifierRecord record = resolved.getRecord();
    Assertions.equal("identifier returned by ResolveIdentifier", filed.getIdentifier(),
        record.getIdentifier());
    Assertions.equal("kind returned by ResolveIdentifier for " + filed.getIdentifier(),
        filed.getKind(), record.getKind());
    Assertions.equal("filing_status returned by ResolveIdentifier for " + filed.getIdentifier(),
        FilingStatus.FILING_STATUS_FILED, record.getFilingStatus());
    Assertions.equal("status returned by ResolveIdentifier for " + filed.getIdentifier(),
        IdentifierStatus.IDENTIFIER_STATUS_ACTIVE, record.getStatus());
    expectTtl("ResolveIdentifier of " + filed.getIdentifier(), resolved.hasTtl(),
        resolved.getTtl(), MAX_IDENTIFIER_TTL);
  }

  @Check(requirements = {"IDN-014", "GEN-012"},
      title = "ListIdentifierRecords filtered by kind and owner lists the issued identifier, "
          + "page by page with page_size 1")
  void listFindsIssuedIdentifierPageByPage() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    Issued issued = resource();
    List<String> walked = walkOwnedResources(1);
    Assertions.check(walked.contains(issued.identifier()), "ListIdentifierRecords with kind "
        + "IDENTIFIER_KIND_RESOURCE, owner_id " + owner().identifier() + " and page_size 1 "
        + "never listed " + issued.identifier() + "; listed " + walked);
  }

  @Check(requirements = "GEN-014", level = Level.SHOULD,
      title = "walking ListIdentifierRecords with page_size 1 returns each record exactly once")
  void listPagesHaveNoRepeats() {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    resource();
    newRequestsGetNewIdentifiersQuietly();
    List<String> walked = walkOwnedResources(1);
    Set<String> seen = new HashSet<>();
    List<String> repeated = walked.stream().filter(id -> !seen.add(id)).toList();
    Assertions.check(repeated.isEmpty(), "ListIdentifierRecords with page_size 1 returned "
        + repeated + " more than once: " + walked);
    List<String> expected;
    synchronized (this) {
      expected = new ArrayList<>(ownedResources);
    }
    List<String> missing = expected.stream().filter(id -> !seen.contains(id)).toList();
    Assertions.check(missing.isEmpty(), "ListIdentifierRecords with page_size 1 never listed "
        + missing + " (issued unchanged before the walk); listed " + walked);
  }

  // ---------------------------------------------------------------- the national filing log

  @Check(requirements = {"IDN-015", "IDN-020", "IDN-021"},
      title = "the national node proves the filed identifier's leaf, recomputed from its "
          + "entry, included in its latest tree head")
  void filedIdentifierProvablyInNationalLog() throws InterruptedException {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    requireNational();
    IdentifierRecord filed = filedResource();
    Optional<PublicKey> logKey = logKey();
    withNational(national -> {
      GetInclusionProofResponse proof;
      try {
        proof = filing(national).getInclusionProof(GetInclusionProofRequest.newBuilder()
            .setIdentifier(filed.getIdentifier()).build());
      } catch (StatusRuntimeException e) {
        throw new AssertionError("GetInclusionProof of the FILED identifier "
            + filed.getIdentifier() + " at the national node failed: " + describe(e));
      }
      FilingEntry entry = proof.getEntry();
      String what = "GetInclusionProof of " + filed.getIdentifier();
      Assertions.equal(what + ": entry.identifier", filed.getIdentifier(),
          entry.getIdentifier());
      Assertions.equal(what + ": entry.kind", filed.getKind(), entry.getKind());
      Assertions.equal(what + ": entry.owner_id", filed.getOwnerId(), entry.getOwnerId());
      Assertions.equal(what + ": entry.issued_at", filed.getIssuedAt(), entry.getIssuedAt());
      ByteString digest = ByteString.copyFrom(FilingEncoding.recordDigest(filed.getIdentifier(),
          filed.getKindValue(), filed.getIssuingNodeCode(), filed.getOwnerId(),
          filed.getIssuedAt(), filed.getAttributesMap()));
      Assertions.check(digest.equals(entry.getRecordDigest()), what + ": the filed "
          + "record_digest is not the IDN-021 digest of the record GetIdentifierRecord returns");
      Assertions.check(proof.hasTreeHead(), what + " for the latest tree (tree_size 0) "
          + "carries no tree_head");
      SignedTreeHead head = proof.getTreeHead();
      Assertions.equal(what + ": tree_size against tree_head.tree_size", head.getTreeSize(),
          proof.getTreeSize());
      Assertions.check(proof.getLeafIndex() < proof.getTreeSize(), what + ": leaf_index "
          + proof.getLeafIndex() + " is not below tree_size " + proof.getTreeSize());
      byte[] leafHash = FilingEncoding.leafHash(entry);
      Assertions.check(MerkleProofs.verifyInclusion(leafHash, proof.getLeafIndex(),
          proof.getTreeSize(), bytes(proof.getAuditPathList()), head.getRootHash().toByteArray()),
          what + ": the audit path (" + proof.getAuditPathCount() + " hashes) does not prove "
              + "leaf index " + proof.getLeafIndex() + " in the tree of size "
              + proof.getTreeSize() + " (RFC 9162 §2.1.3.2)");
      FilingReceipt receipt = filed.getFilingReceipt();
      Assertions.equal(what + ": leaf_index against the record's filing_receipt",
          receipt.getLeafIndex(), proof.getLeafIndex());
      Assertions.check(ByteString.copyFrom(leafHash).equals(receipt.getLeafHash()),
          filed.getIdentifier() + ": filing_receipt.leaf_hash is not SHA-256(0x00 ‖ leaf data) "
              + "of the filed entry");
      logKey.ifPresent(key -> {
        expectSigned(what + ": tree_head", head, key);
        if (receipt.hasTreeHead()) {
          expectSigned(filed.getIdentifier() + ": filing_receipt.tree_head",
              receipt.getTreeHead(), key);
        }
      });
      return null;
    });
  }

  @Check(requirements = {"IDN-015", "IDN-019", "IDN-020"},
      title = "after a filing the national log's new tree head is consistent with the one "
          + "before")
  void nationalLogGrowsConsistently() throws InterruptedException {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    requireNational();
    filedResource(); // the log has at least one leaf, so the first head can be proved from
    Optional<PublicKey> logKey = logKey();
    SignedTreeHead before = withNational(national -> signedTreeHead(national));
    IdentifierRecord fresh = awaitFiled(issue("IssueIdentifier of a participant",
        participantRequest()));
    withNational(national -> {
      SignedTreeHead after = signedTreeHead(national);
      Assertions.check(after.getTreeSize() > before.getTreeSize(), "the national tree size "
          + "did not grow from " + before.getTreeSize() + " though " + fresh.getIdentifier()
          + " was filed meanwhile (receipt leaf index "
          + fresh.getFilingReceipt().getLeafIndex() + ")");
      Assertions.check(millis(after.getTimestamp()) >= millis(before.getTimestamp()),
          "tree head timestamps decreased: " + before.getTimestamp() + " then "
              + after.getTimestamp());
      expectConsistent(national, before, after, after.getTreeSize());
      // second_tree_size 0 means the latest tree; the response then carries its head.
      GetConsistencyProofResponse latest = consistency(national, before.getTreeSize(), 0);
      Assertions.check(latest.hasTreeHead(), "GetConsistencyProof from "
          + before.getTreeSize() + " to the latest tree (second_tree_size 0) carries no "
          + "tree_head");
      Assertions.equal("second_tree_size of GetConsistencyProof to the latest tree",
          latest.getTreeHead().getTreeSize(), latest.getSecondTreeSize());
      Assertions.check(MerkleProofs.verifyConsistency(before.getTreeSize(),
          latest.getSecondTreeSize(), before.getRootHash().toByteArray(),
          latest.getTreeHead().getRootHash().toByteArray(), bytes(latest.getConsistencyPathList())),
          "GetConsistencyProof from " + before.getTreeSize() + " to the latest tree ("
              + latest.getSecondTreeSize() + "): the proof does not verify (RFC 9162 §2.1.4.2)");
      logKey.ifPresent(key -> {
        expectSigned("tree head of size " + before.getTreeSize(), before, key);
        expectSigned("tree head of size " + after.getTreeSize(), after, key);
        expectSigned("tree head of GetConsistencyProof", latest.getTreeHead(), key);
      });
      return null;
    });
  }

  @Check(requirements = "IDN-018",
      title = "GetSignedTreeHead returns a 32-byte root, a whole-millisecond timestamp and a "
          + "signature")
  void signedTreeHeadWellFormed() {
    requireService(FilingServiceGrpc.SERVICE_NAME);
    SignedTreeHead head = signedTreeHead(channel());
    Assertions.equal("root_hash length of the latest tree head", 32, head.getRootHash().size());
    Assertions.check(head.hasTimestamp(), "the latest tree head has no timestamp");
    Assertions.check(head.getTimestamp().getNanos() % 1_000_000 == 0, "the latest tree head's "
        + "timestamp " + head.getTimestamp() + " is not a whole number of milliseconds");
    Assertions.check(!head.getSignature().isEmpty(), "the latest tree head has no signature");
    Assertions.check(head.getSignatureAlgorithm()
        == SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256
        || head.getSignatureAlgorithm() == SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519,
        "the latest tree head's signature_algorithm is " + head.getSignatureAlgorithm());
    Assertions.equal("log_key_id length of the latest tree head", 32, head.getLogKeyId().size());
    logKey().ifPresent(key -> expectSigned("the latest tree head", head, key));
  }

  @Check(requirements = {"IDN-020", "GEN-001"},
      title = "GetInclusionProof of a well-formed identifier never filed gets NOT_FOUND")
  void inclusionProofOfUnfiledIdentifierNotFound() {
    requireService(FilingServiceGrpc.SERVICE_NAME);
    String unknown = neverIssued(NodeCode.regional("11")).toString();
    expectError("GetInclusionProof of " + unknown + " (never filed)", Status.Code.NOT_FOUND,
        "NOT_FOUND", () -> filing(channel()).getInclusionProof(
            GetInclusionProofRequest.newBuilder().setIdentifier(unknown).build()));
  }

  @Check(requirements = "IDN-020",
      title = "GetConsistencyProof from a size beyond the tree gets OUT_OF_RANGE")
  void consistencyBeyondTreeOutOfRange() {
    requireService(FilingServiceGrpc.SERVICE_NAME);
    long beyond = signedTreeHead(channel()).getTreeSize() + 1_000_000;
    expectError("GetConsistencyProof with first_tree_size " + beyond
            + " (beyond the tree) and second_tree_size 0", Status.Code.OUT_OF_RANGE,
        "INVALID_FIELDS", () -> filing(channel()).getConsistencyProof(
            GetConsistencyProofRequest.newBuilder().setFirstTreeSize(beyond).build()));
  }

  @Check(requirements = {"IDN-030", "IDN-016"},
      title = "FileIdentifiers with batch_proof proves the leaves it appends with one batch proof "
          + "against a tree head of exactly their end; a refiled entry keeps a full receipt")
  void nationalBatchProofVerifies() throws InterruptedException {
    requireService(IdentifierServiceGrpc.SERVICE_NAME);
    requireNational();
    IdentifierRecord filed = filedResource();
    Optional<PublicKey> logKey = logKey();
    NodeCode self = target().nodeCode();
    // Filed as the node itself: its resource again (no new leaf, IDN-016) and two identifiers
    // under its code with serials at the top of the range, which a node issuing from 1
    // (IDN-010) never reaches.
    withNational(CpinIdentity.node(self), national -> {
      FilingEntry earlier = filing(national).getInclusionProof(GetInclusionProofRequest
          .newBuilder().setIdentifier(filed.getIdentifier()).build()).getEntry();
      List<FilingEntry> fresh = new ArrayList<>();
      long top = 4_738_381_338_321_616_895L; // 36^12 - 1, the largest serial
      long serial = top - (RANDOM.nextLong() >>> 8);
      for (int i = 0; i < 2; i++) {
        byte[] digest = new byte[32];
        RANDOM.nextBytes(digest);
        fresh.add(FilingEntry.newBuilder()
            .setIdentifier(Identifier.of(self, cn.cpin.protocol.identifier.IdentifierKind.RESOURCE,
                serial - i).toString())
            .setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
            .setOwnerId(filed.getOwnerId())
            .setIssuedAt(filed.getIssuedAt())
            .setRecordDigest(ByteString.copyFrom(digest))
            .build());
      }
      FileIdentifiersResponse response;
      try {
        response = filing(national).fileIdentifiers(FileIdentifiersRequest.newBuilder()
            .setRequestId(newRequestId()).addEntries(earlier).addAllEntries(fresh)
            .setBatchProof(true).build());
      } catch (StatusRuntimeException e) {
        throw new AssertionError("FileIdentifiers with batch_proof as " + self
            + " at the national node failed: " + describe(e));
      }
      String what = "FileIdentifiers with batch_proof";
      SignedTreeHead head = response.getTreeHead();
      Assertions.check(response.hasBatchProof(), what + " appended two leaves but its response "
          + "carries no batch_proof");
      BatchInclusionProof proof = response.getBatchProof();
      long m = proof.getFirstLeafIndex();
      Assertions.equal(what + ": tree_head.tree_size against first_leaf_index + 2 new leaves",
          m + 2, head.getTreeSize());
      Assertions.equal(what + ": receipts", 3, response.getReceiptsCount());
      FilingReceipt full = response.getReceipts(0);
      Assertions.check(full.getTreeHead().equals(head) && MerkleProofs.verifyInclusion(
          FilingEncoding.leafHash(earlier), full.getLeafIndex(), head.getTreeSize(),
          bytes(full.getAuditPathList()), head.getRootHash().toByteArray()), what + ": the "
              + "receipt of the refiled " + filed.getIdentifier() + " is not a full receipt "
              + "whose audit path proves it in the response's tree head");
      List<byte[]> leaves = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        FilingReceipt receipt = response.getReceipts(1 + i);
        Assertions.equal(what + ": leaf_index of the new " + receipt.getIdentifier(), m + i,
            receipt.getLeafIndex());
        Assertions.check(!receipt.hasTreeHead() && receipt.getAuditPathCount() == 0,
            what + ": the receipt of the new " + receipt.getIdentifier() + " repeats the tree "
                + "head or an audit path");
        leaves.add(FilingEncoding.leafHash(fresh.get(i)));
      }
      List<byte[]> frontier = bytes(proof.getLeftFrontierList());
      Assertions.check(MerkleProofs.verifyBatchInclusion(m, frontier, leaves,
          head.getTreeSize(), head.getRootHash().toByteArray()), what + ": the frontier of "
              + m + " (" + frontier.size() + " hashes) and the two new leaves do not give the "
              + "signed root of the tree of size " + head.getTreeSize());
      logKey.ifPresent(key -> expectSigned(what + ": tree_head", head, key));
      GetInclusionProofResponse single = filing(national).getInclusionProof(
          GetInclusionProofRequest.newBuilder().setIdentifier(fresh.get(1).getIdentifier())
              .setTreeSize(head.getTreeSize()).build());
      List<byte[]> derived = MerkleProofs.batchAuditPath(m, frontier, leaves, m + 1);
      List<byte[]> served = bytes(single.getAuditPathList());
      boolean same = derived.size() == served.size();
      for (int i = 0; same && i < derived.size(); i++) {
        same = java.util.Arrays.equals(derived.get(i), served.get(i));
      }
      Assertions.check(same, "GetInclusionProof of " + fresh.get(1).getIdentifier() + " at "
          + "tree_size " + head.getTreeSize() + " differs from the audit path derived from the "
          + "batch proof");
      return null;
    });
  }

  // ---------------------------------------------------------------- prefix resolution

  @Check(requirements = "IDN-022",
      title = "ResolvePrefix of the node's code names its serving node, endpoints and a TTL "
          + "between 1 s and 24 h")
  void ownPrefixResolves() {
    NodeCode self = target().nodeCode();
    if (self.isNational()) {
      throw new CheckSkipped("the national node serves no identifier library of its own");
    }
    requireNational();
    withNational(national -> {
      ResolvePrefixResponse response;
      try {
        response = prefixes(national).resolvePrefix(ResolvePrefixRequest.newBuilder()
            .setPrefix(self.toString()).build());
      } catch (StatusRuntimeException e) {
        throw new AssertionError("ResolvePrefix of " + self + " at the national node failed: "
            + describe(e) + " (the node must register its endpoints, IDN-023)");
      }
      PrefixRecord record = response.getRecord();
      Assertions.equal("prefix of the PrefixRecord for " + self, self.toString(),
          record.getPrefix());
      List<String> serving = self.isIndustry()
          ? List.of(self.toString(), self.parent().orElseThrow().toString())
          : List.of(self.toString());
      Assertions.check(serving.contains(record.getServingNodeCode()), "serving_node_code of "
          + self + " is '" + record.getServingNodeCode() + "', expected "
          + String.join(" or ", serving));
      Assertions.check(record.getEndpointsCount() > 0, "ResolvePrefix of " + self
          + " returned no endpoints");
      record.getEndpointsList().forEach(endpoint -> Assertions.check(
          isHostPort(endpoint.getAddress()), "endpoint address '" + endpoint.getAddress()
              + "' of prefix " + self + " is not host:port"));
      expectTtl("ResolvePrefix of " + self, response.hasTtl(), response.getTtl(),
          MAX_PREFIX_TTL);
      return null;
    });
  }

  @Check(requirements = {"IDN-022", "GEN-001"},
      title = "ResolvePrefix of a well-formed, unallocated node code gets NOT_FOUND")
  void unallocatedPrefixNotFound() {
    boolean local = hasService(PrefixServiceGrpc.SERVICE_NAME);
    if (!local && target().nodeCode().isNational()) {
      throw new CheckSkipped("the profile has no PrefixService");
    }
    if (!local) {
      requireNational();
    }
    Function<ManagedChannel, Void> probe = national -> {
      NodeCode unallocated = unallocatedCode(national);
      expectError("ResolvePrefix of " + unallocated + " (not allocated)", Status.Code.NOT_FOUND,
          "NOT_FOUND", () -> prefixes(national).resolvePrefix(ResolvePrefixRequest.newBuilder()
              .setPrefix(unallocated.toString()).build()));
      return null;
    };
    if (local) {
      probe.apply(channel());
    } else {
      withNational(probe);
    }
  }

  // ---------------------------------------------------------------- fixtures

  /** A participant identifier issued with an empty issuing_node_code: the owner of the rest. */
  private synchronized Issued owner() {
    if (owner == null) {
      IssueIdentifierRequest request = participantRequest();
      owner = new Issued(request, issue("IssueIdentifier of a participant", request));
    }
    return owner;
  }

  /** A resource identifier owned by {@link #owner()}, issued explicitly under the node's code. */
  private synchronized Issued resource() {
    if (resource == null) {
      IssueIdentifierRequest request = IssueIdentifierRequest.newBuilder()
          .setRequestId(newRequestId())
          .setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
          .setIssuingNodeCode(target().nodeCode().toString())
          .setOwnerId(owner().identifier())
          .putAttributes("conformance_note", "issued by the CPIN conformance suite")
          .build();
      resource = new Issued(request, issue("IssueIdentifier of a resource owned by "
          + owner().identifier(), request));
      ownedResources.add(resource.identifier());
    }
    return resource;
  }

  /** The resource fixture once FILED (IDN-012), as GetIdentifierRecord returns it. */
  private synchronized IdentifierRecord filedResource() throws InterruptedException {
    if (filedResource == null) {
      filedResource = awaitFiled(resource().record());
    }
    return filedResource;
  }

  private void newRequestsGetNewIdentifiersQuietly() {
    synchronized (this) {
      if (ownedResources.size() > 1) {
        return;
      }
    }
    newRequestsGetNewIdentifiers();
  }

  private IdentifierRecord awaitFiled(IdentifierRecord issued) throws InterruptedException {
    long start = System.nanoTime();
    IdentifierRecord last = issued;
    while (last.getFilingStatus() != FilingStatus.FILING_STATUS_FILED) {
      Assertions.check(last.getFilingStatus() != FilingStatus.FILING_STATUS_REJECTED,
          issued.getIdentifier() + " was REJECTED by the national node: "
              + last.getFilingError());
      long elapsed = (System.nanoTime() - start) / 1_000_000;
      if (elapsed > FILING_MUST_MILLIS) {
        throw new AssertionError(issued.getIdentifier() + " is still "
            + last.getFilingStatus() + " " + elapsed + " ms after issuance; a regional node "
            + "must file every identifier it issues (IDN-012)");
      }
      Thread.sleep(POLL_MILLIS);
      last = getRecord(issued.getIdentifier());
    }
    return last;
  }

  // ---------------------------------------------------------------- helpers: calls

  private IssueIdentifierRequest participantRequest() {
    return IssueIdentifierRequest.newBuilder()
        .setRequestId(newRequestId())
        .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT)
        .build();
  }

  private IdentifierRecord issue(String what, IssueIdentifierRequest request) {
    try {
      IdentifierRecord record = identifiers(channel()).issueIdentifier(request).getRecord();
      Assertions.check(!record.getIdentifier().isEmpty(), what + " returned a record without "
          + "identifier");
      return record;
    } catch (StatusRuntimeException e) {
      throw new AssertionError(what + " as " + callerName() + " failed: " + describe(e));
    }
  }

  private static List<String> identifiersOf(List<IdentifierRecord> records) {
    return records.stream().map(IdentifierRecord::getIdentifier).toList();
  }

  private List<IdentifierRecord> issueBatch(String what, IssueIdentifiersRequest request) {
    try {
      List<IdentifierRecord> records = identifiers(channel()).issueIdentifiers(request)
          .getRecordsList();
      Assertions.equal(what + ": records returned", request.getRequestsCount(), records.size());
      return records;
    } catch (StatusRuntimeException e) {
      throw new AssertionError(what + " as " + callerName() + " failed: " + describe(e));
    }
  }

  private IdentifierRecord getRecord(String identifier) {
    try {
      return identifiers(channel()).getIdentifierRecord(GetIdentifierRecordRequest.newBuilder()
          .setIdentifier(identifier).build()).getRecord();
    } catch (StatusRuntimeException e) {
      throw new AssertionError("GetIdentifierRecord of " + identifier + ", issued by this node, "
          + "failed: " + describe(e));
    }
  }

  /** Identifiers listed for kind RESOURCE and the owner fixture, following every page. */
  private List<String> walkOwnedResources(int pageSize) {
    List<String> listed = new ArrayList<>();
    String token = "";
    for (int page = 0; ; page++) {
      Assertions.check(page < MAX_PAGES, "ListIdentifierRecords with page_size " + pageSize
          + " had more than " + MAX_PAGES + " pages for the " + listed.size() + " records "
          + listed);
      ListIdentifierRecordsRequest request = ListIdentifierRecordsRequest.newBuilder()
          .setPageSize(pageSize)
          .setPageToken(token)
          .setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
          .setOwnerId(owner().identifier())
          .build();
      ListIdentifierRecordsResponse response;
      try {
        response = identifiers(channel()).listIdentifierRecords(request);
      } catch (StatusRuntimeException e) {
        throw new AssertionError("ListIdentifierRecords page " + (page + 1) + " (page_token '"
            + token + "') failed: " + describe(e));
      }
      Assertions.check(response.getRecordsCount() <= pageSize, "ListIdentifierRecords with "
          + "page_size " + pageSize + " returned " + response.getRecordsCount() + " records");
      for (IdentifierRecord record : response.getRecordsList()) {
        Assertions.check(record.getKind() == IdentifierKind.IDENTIFIER_KIND_RESOURCE
                && record.getOwnerId().equals(owner().identifier()),
            "ListIdentifierRecords filtered by kind RESOURCE and owner " + owner().identifier()
                + " returned " + record.getIdentifier() + " of kind " + record.getKind()
                + " owned by '" + record.getOwnerId() + "'");
        listed.add(record.getIdentifier());
      }
      token = response.getNextPageToken();
      if (token.isEmpty()) {
        return listed;
      }
    }
  }

  private SignedTreeHead signedTreeHead(ManagedChannel channel) {
    try {
      SignedTreeHead head = filing(channel).getSignedTreeHead(
          GetSignedTreeHeadRequest.getDefaultInstance()).getTreeHead();
      Assertions.equal("root_hash length of the tree head from GetSignedTreeHead", 32,
          head.getRootHash().size());
      return head;
    } catch (StatusRuntimeException e) {
      throw new AssertionError("GetSignedTreeHead failed: " + describe(e));
    }
  }

  private GetConsistencyProofResponse consistency(ManagedChannel channel, long first,
      long second) {
    try {
      return filing(channel).getConsistencyProof(GetConsistencyProofRequest.newBuilder()
          .setFirstTreeSize(first).setSecondTreeSize(second).build());
    } catch (StatusRuntimeException e) {
      throw new AssertionError("GetConsistencyProof from " + first + " to " + second
          + " failed: " + describe(e));
    }
  }

  private void expectConsistent(ManagedChannel channel, SignedTreeHead older,
      SignedTreeHead newer, long secondSize) {
    GetConsistencyProofResponse proof = consistency(channel, older.getTreeSize(), secondSize);
    Assertions.equal("first_tree_size of GetConsistencyProof", older.getTreeSize(),
        proof.getFirstTreeSize());
    Assertions.equal("second_tree_size of GetConsistencyProof", newer.getTreeSize(),
        proof.getSecondTreeSize());
    Assertions.check(MerkleProofs.verifyConsistency(older.getTreeSize(), newer.getTreeSize(),
        older.getRootHash().toByteArray(), newer.getRootHash().toByteArray(),
        bytes(proof.getConsistencyPathList())), "GetConsistencyProof from "
        + older.getTreeSize() + " to " + newer.getTreeSize() + ": the proof ("
        + proof.getConsistencyPathCount() + " hashes) does not verify between the signed "
        + "tree heads of those sizes (RFC 9162 §2.1.4.2)");
  }

  /** A regional code the national node has not allocated, found with ListNodeCodes. */
  private NodeCode unallocatedCode(ManagedChannel national) {
    Set<String> allocated = new HashSet<>();
    String token = "";
    for (int page = 0; page < MAX_PAGES; page++) {
      ListNodeCodesResponse response;
      try {
        response = NodeCodeServiceGrpc.newBlockingStub(national)
            .withDeadlineAfter(deadlineMillis(), MILLIS)
            .listNodeCodes(ListNodeCodesRequest.newBuilder().setPageSize(1000)
                .setPageToken(token).build());
      } catch (StatusRuntimeException e) {
        throw new CheckSkipped("cannot list the allocated node codes to pick an unallocated "
            + "one: " + describe(e));
      }
      response.getAllocationsList().stream().map(NodeCodeAllocation::getNodeCode)
          .forEach(allocated::add);
      token = response.getNextPageToken();
      if (token.isEmpty()) {
        break;
      }
    }
    List<String> provinces = new ArrayList<>(NodeCode.provinceCodes());
    java.util.Collections.reverse(provinces);
    for (String province : provinces) {
      NodeCode regional = NodeCode.regional(province);
      if (!allocated.contains(regional.toString())) {
        return regional;
      }
    }
    for (String province : provinces) {
      for (char section = NodeCode.LAST_SECTION; section >= NodeCode.FIRST_SECTION; section--) {
        NodeCode industry = NodeCode.industry(province, section);
        if (!allocated.contains(industry.toString())) {
          return industry;
        }
      }
    }
    throw new CheckSkipped("every node code is allocated");
  }

  // ---------------------------------------------------------------- helpers: national node

  private void requireNational() {
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the suite reaches "
          + "the national node over mutual TLS only");
    }
    if (target().national().isEmpty()) {
      throw new CheckSkipped("no national node given (--national)");
    }
  }

  /**
   * Runs {@code body} with a channel to the national node as a node identity certified by the
   * suite's test CA (the national node trusts it for the test), closing it afterwards.
   */
  private <T> T withNational(Function<ManagedChannel, T> body) {
    return withNational(CpinIdentity.node(Callers.otherNode(target().nodeCode())), body);
  }

  /** As {@link #withNational(Function)}, calling as {@code self}. */
  private <T> T withNational(CpinIdentity self, Function<ManagedChannel, T> body) {
    requireNational();
    InetSocketAddress address = target().national().orElseThrow();
    ManagedChannel national;
    try {
      national = NodeTls.channel(address, target().pki().credentials(self),
          target().trustAnchors(), CpinIdentity.node(NodeCode.national()));
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS to the national node: "
          + e.getMessage(), e);
    }
    try {
      return body.apply(national);
    } finally {
      national.shutdownNow();
    }
  }

  /** The national log key given in {@value #LOG_KEY_PROPERTY}, if any. */
  private static Optional<PublicKey> logKey() {
    String file = System.getProperty(LOG_KEY_PROPERTY);
    if (file == null || file.isBlank()) {
      return Optional.empty();
    }
    byte[] der;
    try {
      der = Files.readAllBytes(Path.of(file));
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the filing log key " + file + " ("
          + LOG_KEY_PROPERTY + "): " + e.getMessage(), e);
    }
    String text = new String(der, StandardCharsets.US_ASCII);
    if (text.contains("-----BEGIN PUBLIC KEY-----")) {
      String body = text.substring(text.indexOf("-----BEGIN PUBLIC KEY-----") + 26,
          text.indexOf("-----END PUBLIC KEY-----"));
      der = Base64.getMimeDecoder().decode(body);
    }
    for (String algorithm : List.of("EC", "Ed25519")) {
      try {
        return Optional.of(KeyFactory.getInstance(algorithm)
            .generatePublic(new X509EncodedKeySpec(der)));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IllegalStateException("the filing log key " + file + " (" + LOG_KEY_PROPERTY
        + ") is neither an EC nor an Ed25519 SubjectPublicKeyInfo");
  }

  private static void expectSigned(String what, SignedTreeHead head, PublicKey key) {
    Assertions.check(TreeHeadSigner.verify(head, key), what + " (size " + head.getTreeSize()
        + ") is not signed by the national log key given in " + LOG_KEY_PROPERTY
        + " (IDN-018: signature over 0x01 ‖ timestamp ms ‖ tree_size ‖ root_hash, log_key_id "
        + "= SHA-256 of the key's SubjectPublicKeyInfo)");
  }

  // ---------------------------------------------------------------- helpers: assertions

  private void expectWellFormedRecord(String what, Issued issued, NodeCode self,
      IdentifierKind kind) {
    IdentifierRecord record = issued.record();
    String text = record.getIdentifier();
    Identifier identifier;
    try {
      identifier = Identifier.parse(text);
    } catch (MalformedIdentifierException e) {
      throw new AssertionError(what + ": identifier '" + text + "' is not a valid identifier: "
          + e.getMessage());
    }
    Assertions.equal(what + ": canonical form of " + text, identifier.toString(), text);
    Assertions.equal(what + ": kind letter of " + text, kindLetter(kind),
        identifier.kind().letter());
    Assertions.equal(what + ": record kind", kind, record.getKind());
    Assertions.equal(what + ": node code part of " + text, self, identifier.nodeCode());
    Assertions.equal(what + ": issuing_node_code", self.toString(),
        record.getIssuingNodeCode());
    Assertions.equal(what + ": owner_id", issued.request().getOwnerId(), record.getOwnerId());
    Assertions.equal(what + ": attributes", issued.request().getAttributesMap(),
        record.getAttributesMap());
    Assertions.equal(what + ": status", IdentifierStatus.IDENTIFIER_STATUS_ACTIVE,
        record.getStatus());
    Assertions.check(record.hasIssuedAt(), what + ": the record has no issued_at");
    FilingStatus filing = record.getFilingStatus();
    Assertions.check(filing == FilingStatus.FILING_STATUS_PENDING
            || filing == FilingStatus.FILING_STATUS_FILED,
        what + ": filing_status is " + filing + ", expected FILING_STATUS_PENDING (or FILED)");
    if (filing == FilingStatus.FILING_STATUS_PENDING) {
      Assertions.equal(what + ": version of the new PENDING record", 1L, record.getVersion());
    } else {
      Assertions.check(record.getVersion() >= 1, what + ": version is 0");
    }
  }

  private static char kindLetter(IdentifierKind kind) {
    return cn.cpin.protocol.identifier.IdentifierKind.fromNumber(kind.getNumber())
        .orElseThrow().letter();
  }

  private static void expectTtl(String what, boolean present, Duration ttl, Duration max) {
    Assertions.check(present, what + " carries no ttl");
    Assertions.check(Durations.compare(ttl, MIN_TTL) >= 0 && Durations.compare(ttl, max) <= 0,
        what + ": ttl " + Durations.toString(ttl) + " is not between 1s and "
            + Durations.toString(max));
  }

  private static void compare(List<String> differences, String field, Object first,
      Object second) {
    if (!first.equals(second)) {
      differences.add(field + " " + first + " then " + second);
    }
  }

  private static List<String> fields(List<BadRequest.FieldViolation> violations) {
    return violations.stream().map(v -> v.getField() + " " + v.getReason()).toList();
  }

  // ---------------------------------------------------------------- helpers: misc

  private void requireMutualTls() {
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the check needs "
          + "caller identities");
    }
  }

  private String callerName() {
    return target().isMutualTls() ? CpinIdentity.operator(target().nodeCode()).uri()
        : "the development-mode caller";
  }

  private IdentifierServiceGrpc.IdentifierServiceBlockingStub identifiers(
      ManagedChannel channel) {
    return IdentifierServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  private FilingServiceGrpc.FilingServiceBlockingStub filing(ManagedChannel channel) {
    return FilingServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  private PrefixServiceGrpc.PrefixServiceBlockingStub prefixes(ManagedChannel channel) {
    return PrefixServiceGrpc.newBlockingStub(channel).withDeadlineAfter(deadlineMillis(), MILLIS);
  }

  /** A region other than {@code self}'s: 86.31, or 86.32 for a node of province 31. */
  static NodeCode foreignRegion(NodeCode self) {
    return NodeCode.regional(self.province().map("31"::equals).orElse(false) ? "32" : "31");
  }

  /** A well-formed identifier under {@code code} with an 11-to-12-character random serial. */
  static Identifier neverIssued(NodeCode code) {
    long floor = 131_621_703_842_267_136L; // 36^11: serials no node reaches by counting
    long serial = floor + Math.floorMod(RANDOM.nextLong(), Identifier.MAX_SERIAL - floor);
    return Identifier.of(code, cn.cpin.protocol.identifier.IdentifierKind.RESOURCE, serial);
  }

  private static String newRequestId() {
    return "conformance-idn-" + UUID.randomUUID();
  }

  private static boolean isHostPort(String address) {
    java.util.regex.Matcher m = HOST_PORT.matcher(address);
    if (!m.matches()) {
      return false;
    }
    int port = Integer.parseInt(m.group(2));
    return port >= 1 && port <= 65535;
  }

  private static long millis(Timestamp t) {
    return t.getSeconds() * 1000 + t.getNanos() / 1_000_000;
  }

  private static List<byte[]> bytes(List<ByteString> list) {
    List<byte[]> out = new ArrayList<>(list.size());
    list.forEach(b -> out.add(b.toByteArray()));
    return out;
  }
}
