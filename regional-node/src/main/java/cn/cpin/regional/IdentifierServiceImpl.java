package cn.cpin.regional;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.GetIdentifierRecordRequest;
import cn.cpin.identifier.v1.GetIdentifierRecordResponse;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IdentifierStatus;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.identifier.v1.IssueIdentifierResponse;
import cn.cpin.identifier.v1.IssueIdentifiersRequest;
import cn.cpin.identifier.v1.IssueIdentifiersResponse;
import cn.cpin.identifier.v1.ListIdentifierRecordsRequest;
import cn.cpin.identifier.v1.ListIdentifierRecordsResponse;
import cn.cpin.identifier.v1.ResolveIdentifierRequest;
import cn.cpin.identifier.v1.ResolveIdentifierResponse;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import com.google.protobuf.util.Durations;
import io.grpc.stub.StreamObserver;
import cn.cpin.regional.IdentifierLibrary.IssueRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** gRPC adapter of {@link IdentifierLibrary}: convert, delegate, convert. */
final class IdentifierServiceImpl extends IdentifierServiceGrpc.IdentifierServiceImplBase {
  private static final int DEFAULT_PAGE = 100;
  private static final int MAX_PAGE = 1000;
  private static final long RESOLVE_TTL_SECONDS = 60;

  private final IdentifierLibrary library;

  IdentifierServiceImpl(IdentifierLibrary library) {
    this.library = library;
  }

  @Override
  public void issueIdentifier(IssueIdentifierRequest request,
      StreamObserver<IssueIdentifierResponse> responseObserver) {
    IssueRequest issue = issueRequest(request);
    IdentifierRecord record = library.issue(issue.requestId(),
        AccessControlInterceptor.CALLER.get(), issue.kind(), issue.issuing(), issue.ownerId(),
        issue.attributes());
    responseObserver.onNext(IssueIdentifierResponse.newBuilder().setRecord(record).build());
    responseObserver.onCompleted();
  }

  @Override
  public void issueIdentifiers(IssueIdentifiersRequest request,
      StreamObserver<IssueIdentifiersResponse> responseObserver) {
    List<IssueRequest> requests = new ArrayList<>(request.getRequestsCount());
    request.getRequestsList().forEach(r -> requests.add(issueRequest(r)));
    List<IdentifierRecord> records = library.issueAll(AccessControlInterceptor.CALLER.get(),
        requests);
    responseObserver.onNext(IssueIdentifiersResponse.newBuilder().addAllRecords(records)
        .build());
    responseObserver.onCompleted();
  }

  private static IssueRequest issueRequest(IssueIdentifierRequest request) {
    return new IssueRequest(request.getRequestId(),
        IdentifierLibrary.kindOrNull(request.getKindValue()),
        request.getIssuingNodeCode().isEmpty() ? null
            : NodeCode.parse(request.getIssuingNodeCode()),
        request.getOwnerId(), request.getAttributesMap());
  }

  @Override
  public void getIdentifierRecord(GetIdentifierRecordRequest request,
      StreamObserver<GetIdentifierRecordResponse> responseObserver) {
    IdentifierRecord record = find(request.getIdentifier());
    // A record filed under a batch proof keeps no audit path (IDN-030); v1 readers get it here.
    IdentifierRecord withPath = library.provenReceipt(Identifier.parse(request.getIdentifier()))
        .map(receipt -> record.toBuilder().setFilingReceipt(receipt).build()).orElse(record);
    responseObserver.onNext(GetIdentifierRecordResponse.newBuilder().setRecord(withPath).build());
    responseObserver.onCompleted();
  }

  @Override
  public void listIdentifierRecords(ListIdentifierRecordsRequest request,
      StreamObserver<ListIdentifierRecordsResponse> responseObserver) {
    if (request.getPageSize() < 0) {
      throw InvalidArgumentException.of("page_size", "must not be negative",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    int size = request.getPageSize() == 0 ? DEFAULT_PAGE : Math.min(MAX_PAGE,
        request.getPageSize());
    Predicate<IdentifierRecord> filter = r ->
        (request.getKindValue() == 0 || r.getKindValue() == request.getKindValue())
            && (request.getOwnerId().isEmpty() || r.getOwnerId().equals(request.getOwnerId()))
            && (request.getIssuingNodeCode().isEmpty()
                || r.getIssuingNodeCode().equals(request.getIssuingNodeCode()))
            && (request.getFilingStatusValue() == 0
                || r.getFilingStatus() == request.getFilingStatus())
            && (request.getStatusValue() == 0 || r.getStatus() == request.getStatus());
    List<IdentifierRecord> page = library.list(filter, request.getPageToken(), size);
    ListIdentifierRecordsResponse.Builder response = ListIdentifierRecordsResponse.newBuilder()
        .addAllRecords(page);
    if (page.size() == size) {
      response.setNextPageToken(page.get(page.size() - 1).getIdentifier());
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  @Override
  public void resolveIdentifier(ResolveIdentifierRequest request,
      StreamObserver<ResolveIdentifierResponse> responseObserver) {
    IdentifierRecord record = find(request.getIdentifier());
    boolean visible = record.getFilingStatus() == FilingStatus.FILING_STATUS_FILED
        && (record.getStatus() == IdentifierStatus.IDENTIFIER_STATUS_ACTIVE
            || request.getIncludeWithdrawn());
    if (!visible) {
      throw notFound(request.getIdentifier());
    }
    responseObserver.onNext(ResolveIdentifierResponse.newBuilder()
        .setRecord(record.toBuilder().clearAttributes().build())
        .setTtl(Durations.fromSeconds(RESOLVE_TTL_SECONDS))
        .build());
    responseObserver.onCompleted();
  }

  private IdentifierRecord find(String identifier) {
    return library.get(Identifier.parse(identifier)).orElseThrow(() -> notFound(identifier));
  }

  private static CpinException notFound(String identifier) {
    return CpinException.notFound("identifier " + identifier + " is not in this library",
        Map.of("identifier", identifier));
  }
}
