package cn.cpin.national;

import cn.cpin.identifier.v1.FileIdentifiersRequest;
import cn.cpin.identifier.v1.FileIdentifiersResponse;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.GetConsistencyProofRequest;
import cn.cpin.identifier.v1.GetConsistencyProofResponse;
import cn.cpin.identifier.v1.GetInclusionProofRequest;
import cn.cpin.identifier.v1.GetInclusionProofResponse;
import cn.cpin.identifier.v1.GetSignedTreeHeadRequest;
import cn.cpin.identifier.v1.GetSignedTreeHeadResponse;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.Identifier;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link FilingLog}: convert, delegate, convert. */
final class FilingServiceImpl extends FilingServiceGrpc.FilingServiceImplBase {
  private final FilingLog log;

  FilingServiceImpl(FilingLog log) {
    this.log = log;
  }

  @Override
  public void fileIdentifiers(FileIdentifiersRequest request,
      StreamObserver<FileIdentifiersResponse> responseObserver) {
    FilingLog.Appended appended = log.append(request.getRequestId(),
        AccessControlInterceptor.CALLER.get(), request.getEntriesList(), request.getBatchProof());
    FileIdentifiersResponse.Builder response = FileIdentifiersResponse.newBuilder()
        .addAllReceipts(appended.receipts())
        .setTreeHead(appended.treeHead());
    if (appended.batchProof() != null) {
      response.setBatchProof(appended.batchProof());
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  @Override
  public void getSignedTreeHead(GetSignedTreeHeadRequest request,
      StreamObserver<GetSignedTreeHeadResponse> responseObserver) {
    responseObserver.onNext(GetSignedTreeHeadResponse.newBuilder().setTreeHead(log.latest())
        .build());
    responseObserver.onCompleted();
  }

  @Override
  public void getInclusionProof(GetInclusionProofRequest request,
      StreamObserver<GetInclusionProofResponse> responseObserver) {
    FilingReceipt receipt = log.inclusion(Identifier.parse(request.getIdentifier()),
        request.getTreeSize());
    GetInclusionProofResponse.Builder response = GetInclusionProofResponse.newBuilder()
        .setEntry(log.entry(receipt.getLeafIndex()))
        .setLeafIndex(receipt.getLeafIndex())
        .setTreeSize(request.getTreeSize() == 0 ? receipt.getTreeHead().getTreeSize()
            : request.getTreeSize())
        .addAllAuditPath(receipt.getAuditPathList());
    if (receipt.hasTreeHead()) {
      response.setTreeHead(receipt.getTreeHead());
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }

  @Override
  public void getConsistencyProof(GetConsistencyProofRequest request,
      StreamObserver<GetConsistencyProofResponse> responseObserver) {
    SignedTreeHead latest = log.latest();
    long second = request.getSecondTreeSize() == 0 ? latest.getTreeSize()
        : request.getSecondTreeSize();
    GetConsistencyProofResponse.Builder response = GetConsistencyProofResponse.newBuilder()
        .setFirstTreeSize(request.getFirstTreeSize())
        .setSecondTreeSize(second)
        .addAllConsistencyPath(log.consistency(request.getFirstTreeSize(), second));
    if (second == latest.getTreeSize()) {
      response.setTreeHead(latest);
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }
}
