package cn.cpin.national;

import static cn.cpin.national.TrustNodes.assertFails;
import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.trust.v1.EnrollmentServiceGrpc;
import cn.cpin.trust.v1.RenewNodeCertificateRequest;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SEC-005 and SEC-006 for "the SAN of another node": a client refuses a server that presents
 * another node's identity, and a node cannot act for another node's code.
 */
class PeerIdentityTest {
  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();


  @Test
  void clientRefusesAServerNamedAsAnotherNode() throws Exception {
    nodes.startNational();
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));

    // Expecting 86.31 at 86.44's address: the handshake fails on the client side.
    ManagedChannel wrongExpectation = NodeTls.channel(regional.address(),
        nodes.nationalOperator(), KeyMaterial.readCertificates(nodes.trustAnchorsFile()),
        CpinIdentity.node(NodeCode.parse("86.31")));
    try {
      StatusRuntimeException e = assertFails(() -> getNodeInfo(wrongExpectation),
          Status.Code.UNAVAILABLE, null);
      assertThat(causes(e)).as("handshake failure cause").isTrue();
    } finally {
      wrongExpectation.shutdownNow();
    }
    // The right expectation works on the same address.
    ManagedChannel right = nodes.operatorChannel(regional);
    assertThat(getNodeInfo(right)).isEqualTo("86.44");
  }

  @Test
  void aNodeCannotRenewTheCertificateOfAnotherNode() throws Exception {
    TrustNodes.Node national = nodes.startNational();
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));
    nodes.allocate("86.31");

    ManagedChannel asRegional = nodes.channel(national, regional.nodeCredentials());
    assertFails(() -> EnrollmentServiceGrpc.newBlockingStub(asRegional)
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .renewNodeCertificate(RenewNodeCertificateRequest.newBuilder()
            .setRequestId("renew-someone-else")
            .setNodeCode("86.31")
            .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(KeyMaterial.generateKeyPair(),
                "86.31")))
            .build()), Status.Code.PERMISSION_DENIED, ErrorReason.ERROR_REASON_NOT_OWNER);
  }

  private static String getNodeInfo(ManagedChannel channel) {
    return NodeInfoServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
        .getNodeInfo(GetNodeInfoRequest.getDefaultInstance()).getNodeInfo().getNodeCode();
  }

  private static boolean causes(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof SSLException) {
        return true;
      }
    }
    return false;
  }
}
