package cn.cpin.node.trust;

import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateResponse;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.function.Supplier;

/** gRPC adapter of {@link ParticipantCertificateIssuer}: convert, delegate, convert. */
public final class ParticipantCertificateServiceImpl
    extends ParticipantCertificateServiceGrpc.ParticipantCertificateServiceImplBase {
  private final ParticipantCertificateIssuer issuer;
  private final Supplier<List<X509Certificate>> trustAnchors;

  public ParticipantCertificateServiceImpl(ParticipantCertificateIssuer issuer,
      Supplier<List<X509Certificate>> trustAnchors) {
    this.issuer = issuer;
    this.trustAnchors = trustAnchors;
  }

  @Override
  public void issueParticipantCertificate(IssueParticipantCertificateRequest request,
      StreamObserver<IssueParticipantCertificateResponse> responseObserver) {
    List<X509Certificate> chain = issuer.issue(AccessControlInterceptor.CALLER.get(),
        Identifier.parse(request.getParticipantId()), request.getEnrollmentToken(),
        request.getCsrDer().toByteArray(), request.getRequestId());
    responseObserver.onNext(IssueParticipantCertificateResponse.newBuilder()
        .setCertificateChain(CertificateChains.toProto(chain, trustAnchors.get()))
        .build());
    responseObserver.onCompleted();
  }
}
