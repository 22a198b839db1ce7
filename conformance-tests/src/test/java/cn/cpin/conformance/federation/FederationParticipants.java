package cn.cpin.conformance.federation;

import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Participants of a running {@link LocalFederation} the way a real one gets them (flow 1): the
 * node's operator registers and approves an organisation, which enrolls with its one-time token
 * and then calls over mutual TLS as itself. Channels are closed with the fixture.
 */
public final class FederationParticipants implements AutoCloseable {
  private static final AtomicInteger SEQUENCE = new AtomicInteger();

  private final LocalFederation federation;
  private final String prefix;
  private final List<ManagedChannel> channels = new ArrayList<>();

  /**
   * @param prefix distinguishes this test's request ids and credit codes: two letters a credit
   *     code may hold (not I, O, S, V or Z)
   */
  public FederationParticipants(LocalFederation federation, String prefix) {
    this.federation = federation;
    this.prefix = prefix;
  }

  /** A channel to {@code node} as its operator. */
  public ManagedChannel operator(String node) throws Exception {
    return channel(node, CredentialFiles.read(federation.node(node).dataDir()
        .resolve("operator"), "operator"));
  }

  /** Registers, approves and enrolls an organisation of {@code kinds} at {@code node}. */
  public Enrolled enroll(String node, ParticipationKind... kinds) throws Exception {
    int n = SEQUENCE.incrementAndGet();
    String first17 = String.format("914403%sMA%07d", prefix, n).substring(0, 17);
    RegisterParticipantRequest.Builder request = RegisterParticipantRequest.newBuilder()
        .setRequestId(prefix + "-register-" + n)
        .setOrganization(Organization.newBuilder()
            .setCreditCode(first17 + CreditCode.checkCharacter(first17))
            .setLegalName("Fixture organisation " + n).setProvinceCode("44"))
        .setDisplayName("Fixture " + prefix + " " + n)
        .addContacts(Contact.newBuilder().setName("Li Na").setEmail("lina@example.cn"))
        .setTelecomLicenceNumber("B1-20260001");
    for (ParticipationKind kind : kinds) {
      request.addKinds(kind);
    }
    ManagedChannel operator = operator(node);
    String id = ParticipantServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(20, TimeUnit.SECONDS).registerParticipant(request.build())
        .getParticipant().getParticipantId();
    String token = ParticipantServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .approveParticipant(ApproveParticipantRequest.newBuilder()
            .setRequestId(prefix + "-approve-" + n).setParticipantId(id)
            .setReason("documents checked").build())
        .getCertificateEnrollmentToken();
    return new Enrolled(id, certify(node, id, token, prefix + "-enroll-" + n));
  }

  /**
   * Enrolls the approved participant {@code id} with its one-time {@code token}: a new key, a
   * certificate for it from {@code node}, and a channel presenting them.
   */
  public ManagedChannel certify(String node, String id, String token, String requestId)
      throws Exception {
    KeyPair keys = KeyMaterial.generateKeyPair();
    var chain = ParticipantCertificateServiceGrpc.newBlockingStub(channel(node, null))
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .issueParticipantCertificate(IssueParticipantCertificateRequest.newBuilder()
            .setRequestId(requestId).setParticipantId(id).setEnrollmentToken(token)
            .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(keys, id))).build())
        .getCertificateChain();
    List<X509Certificate> certificates = new ArrayList<>();
    for (ByteString der : chain.getCertificatesDerList()) {
      certificates.add(KeyMaterial.parseCertificate(der.toByteArray()));
    }
    return channel(node, new Credentials(keys.getPrivate(), certificates));
  }

  /** An enrolled participant and a channel as it. */
  public record Enrolled(String id, ManagedChannel channel) {}

  /** A channel to {@code node} presenting {@code credentials} (none: server-authenticated). */
  public ManagedChannel channel(String node, Credentials credentials) throws Exception {
    String endpoint = federation.node(node).endpoint();
    int colon = endpoint.lastIndexOf(':');
    ManagedChannel channel = NodeTls.channel(new InetSocketAddress(endpoint.substring(0, colon),
            Integer.parseInt(endpoint.substring(colon + 1))), credentials,
        KeyMaterial.readCertificates(federation.trustAnchors()),
        CpinIdentity.node(NodeCode.parse(node)));
    synchronized (channels) {
      channels.add(channel);
    }
    return channel;
  }

  @Override
  public void close() {
    synchronized (channels) {
      channels.forEach(ManagedChannel::shutdownNow);
      channels.clear();
    }
  }
}
