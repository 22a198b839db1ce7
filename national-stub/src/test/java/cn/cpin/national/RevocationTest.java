package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.trust.v1.ListRevocationsRequest;
import cn.cpin.trust.v1.ListRevocationsResponse;
import cn.cpin.trust.v1.RevocationEntry;
import cn.cpin.trust.v1.RevocationReason;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import cn.cpin.trust.v1.RevokeCertificateRequest;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.math.BigInteger;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SEC-010 and SEC-011: a participant certificate revoked at the national feed is refused by the
 * node where the participant is registered, within seconds, and still after that node restarts
 * (the revoked set is persisted) even while the national node is down.
 */
class RevocationTest {
  private static final long REFUSAL_DEADLINE_MILLIS = 10_000;
  private static final long POLL_MILLIS = 100;

  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();


  @Test
  void revokedParticipantIsRefusedWithinSecondsAndAfterRestart() throws Exception {
    TrustNodes.Node national = nodes.startNational();
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));

    NodeCode code = NodeCode.parse("86.44");
    Identifier revokedId = nodes.approvedParticipant(regional);
    Identifier keptId = nodes.approvedParticipant(regional);
    Credentials revoked = nodes.issueParticipantCertificate(regional, revokedId);
    Credentials kept = nodes.issueParticipantCertificate(regional, keptId);
    String subject = "cpin://86.44/" + revokedId;
    assertThat(revoked.leaf().getSubjectAlternativeNames()).containsExactly(List.of(6, subject));

    // NodeInfo is open to any authenticated caller.
    assertThat(nodeInfo(regional, revoked)).isEmpty();
    assertThat(nodeInfo(regional, kept)).isEmpty();

    // The regional node, as itself, enters the certificate of its own participant in the feed.
    ManagedChannel asRegional = nodes.channel(national, regional.nodeCredentials());
    RevocationServiceGrpc.RevocationServiceBlockingStub feed =
        RevocationServiceGrpc.newBlockingStub(asRegional);
    RevocationEntry entry = revoke(feed, "revoke-p17", revoked);
    long revokedAt = System.nanoTime();

    long delay = -1;
    Status refusal = null;
    while (System.nanoTime() - revokedAt < TimeUnit.MILLISECONDS.toNanos(REFUSAL_DEADLINE_MILLIS)) {
      Optional<Status> outcome = nodeInfo(regional, revoked);
      if (outcome.isPresent()) {
        delay = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - revokedAt);
        refusal = outcome.get();
        break;
      }
      Thread.sleep(POLL_MILLIS);
    }
    if (refusal == null) {
      fail("86.44 still accepts the revoked participant " + REFUSAL_DEADLINE_MILLIS
          + " ms after the revocation; its events:\n" + regional.events());
    }
    System.out.println("revocation took effect after " + delay + " ms (refused with "
        + describe(refusal) + ")");
    assertThat(isRefusal(refusal)).as("refusal %s", describe(refusal)).isTrue();
    assertThat(nodeInfo(regional, kept)).as("another participant of 86.44").isEmpty();

    // The feed: exactly one entry, numbered 1, describing the certificate.
    BigInteger serial = revoked.leaf().getSerialNumber();
    assertThat(entry.getSequenceNumber()).isEqualTo(1);
    assertThat(entry.getSubjectUri()).isEqualTo(subject);
    assertThat(new BigInteger(1, entry.getSerialNumber().toByteArray())).isEqualTo(serial);
    assertThat(entry.getNodeCode()).isEqualTo("86.44");
    assertThat(entry.getParticipantId()).isEqualTo(revokedId.toString());
    assertThat(entry.getReason()).isEqualTo(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE);
    assertThat(entry.getCertificateNotAfter().getSeconds())
        .isEqualTo(revoked.leaf().getNotAfter().toInstant().getEpochSecond());
    assertThat(list(feed).getEntriesList()).containsExactly(entry);

    // Revoking it again (another request id, then the same one) appends nothing.
    assertThat(revoke(feed, "revoke-p17-again", revoked)).isEqualTo(entry);
    assertThat(revoke(feed, "revoke-p17", revoked)).isEqualTo(entry);
    ListRevocationsResponse after = list(feed);
    assertThat(after.getEntriesList()).containsExactly(entry);
    assertThat(after.getLatestSequenceNumber()).isEqualTo(1);

    // Restart 86.44 while the national node is down: only its own store knows the revocation.
    nodes.stop(regional);
    nodes.stop(national);
    TrustNodes.Node restarted = nodes.startRegional("86.44", null);
    assertThat(nodeInfo(restarted, revoked)).as("revoked participant after restart")
        .hasValueSatisfying(s -> assertThat(isRefusal(s)).as("refusal %s", describe(s)).isTrue());
    assertThat(nodeInfo(restarted, kept)).as("another participant after restart").isEmpty();
    nodes.assertServing(restarted);
  }

  /**
   * UNAUTHENTICATED, or a TLS handshake the server failed for the certificate (SEC-006): the JDK
   * reports the server's certificate alert as a failed handshake; BoringSSL, whose TLS 1.3
   * client has finished its side when the server judges its certificate, as an SSLException
   * naming the alert received. Any other alert (e.g. internal_error) is not a refusal.
   */
  private static boolean isRefusal(Status status) {
    if (status.getCode() == Status.Code.UNAUTHENTICATED) {
      return true;
    }
    for (Throwable t = status.getCause(); t != null; t = t.getCause()) {
      if (t instanceof SSLHandshakeException
          || t instanceof SSLException && CERTIFICATE_ALERT.matcher(
              String.valueOf(t.getMessage())).find()) {
        return status.getCode() == Status.Code.UNAVAILABLE;
      }
    }
    return false;
  }

  private static final Pattern CERTIFICATE_ALERT = Pattern.compile(
      "ALERT_(BAD_CERTIFICATE|CERTIFICATE_REVOKED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED"
          + "|UNKNOWN_CA)\\b");

  private static String describe(Status status) {
    Throwable root = status.getCause();
    while (root != null && root.getCause() != null) {
      root = root.getCause();
    }
    return status.getCode() + " " + status.getDescription() + (root == null ? "" : ": " + root);
  }

  /** Calls GetNodeInfo at {@code node} as {@code caller} on a new channel; the failure, if any. */
  private Optional<Status> nodeInfo(TrustNodes.Node node, Credentials caller)
      throws Exception {
    ManagedChannel channel = nodes.channel(node, caller);
    try {
      NodeInfoServiceGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .getNodeInfo(GetNodeInfoRequest.getDefaultInstance());
      return Optional.empty();
    } catch (StatusRuntimeException e) {
      return Optional.of(e.getStatus());
    } finally {
      channel.shutdownNow();
    }
  }

  private static RevocationEntry revoke(RevocationServiceGrpc.RevocationServiceBlockingStub feed,
      String requestId, Credentials certificate) throws Exception {
    return feed.withDeadlineAfter(5, TimeUnit.SECONDS).revokeCertificate(
        RevokeCertificateRequest.newBuilder()
            .setRequestId(requestId)
            .setCertificateDer(ByteString.copyFrom(certificate.leaf().getEncoded()))
            .setReason(RevocationReason.REVOCATION_REASON_KEY_COMPROMISE)
            .build()).getEntry();
  }

  private static ListRevocationsResponse list(
      RevocationServiceGrpc.RevocationServiceBlockingStub feed) {
    return feed.withDeadlineAfter(5, TimeUnit.SECONDS)
        .listRevocations(ListRevocationsRequest.getDefaultInstance());
  }
}
