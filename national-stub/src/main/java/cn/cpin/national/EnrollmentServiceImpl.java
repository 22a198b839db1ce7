package cn.cpin.national;

import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.trust.v1.EnrollNodeRequest;
import cn.cpin.trust.v1.EnrollNodeResponse;
import cn.cpin.trust.v1.EnrollmentServiceGrpc;
import cn.cpin.trust.v1.RenewNodeCertificateRequest;
import cn.cpin.trust.v1.RenewNodeCertificateResponse;
import io.grpc.stub.StreamObserver;

/** gRPC adapter of {@link EnrollmentAuthority}: convert, delegate, convert. */
final class EnrollmentServiceImpl extends EnrollmentServiceGrpc.EnrollmentServiceImplBase {
  private final EnrollmentAuthority authority;

  EnrollmentServiceImpl(EnrollmentAuthority authority) {
    this.authority = authority;
  }

  @Override
  public void enrollNode(EnrollNodeRequest request,
      StreamObserver<EnrollNodeResponse> responseObserver) {
    responseObserver.onNext(authority.enroll(request.getRequestId(),
        NodeCode.parse(request.getNodeCode()), request.getEnrollmentToken(),
        request.getCsrDer().toByteArray(), request.getIssuingCaCsrDer().toByteArray()));
    responseObserver.onCompleted();
  }

  @Override
  public void renewNodeCertificate(RenewNodeCertificateRequest request,
      StreamObserver<RenewNodeCertificateResponse> responseObserver) {
    EnrollNodeResponse renewed = authority.renew(AccessControlInterceptor.CALLER.get(),
        NodeCode.parse(request.getNodeCode()), request.getCsrDer().toByteArray(),
        request.getIssuingCaCsrDer().toByteArray());
    RenewNodeCertificateResponse.Builder response = RenewNodeCertificateResponse.newBuilder()
        .setCertificateChain(renewed.getCertificateChain());
    if (renewed.hasIssuingCaChain()) {
      response.setIssuingCaChain(renewed.getIssuingCaChain());
    }
    responseObserver.onNext(response.build());
    responseObserver.onCompleted();
  }
}
