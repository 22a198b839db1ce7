package cn.cpin.node.trust;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Issues participant certificates {@code cpin://<node>/<participant id>} with the node's issuing
 * CA (SEC-004): to the node's operator for any participant registered here, and to a participant
 * for itself (renewal). First certificates against a one-time token come with the service center.
 */
public final class ParticipantCertificateIssuer {
  static final Duration VALIDITY = Duration.ofDays(7);

  private final NodeCode self;
  private final Supplier<Credentials> issuingCa;

  public ParticipantCertificateIssuer(NodeCode self, Supplier<Credentials> issuingCa) {
    this.self = self;
    this.issuingCa = issuingCa;
  }

  /**
   * The chain (leaf first, root excluded) for {@code participant}'s key in {@code csrDer}.
   *
   * @param caller the authenticated caller, or null for a token-authenticated first certificate
   */
  public List<X509Certificate> issue(CpinIdentity caller, Identifier participant, String token,
      byte[] csrDer) {
    if (caller == null) {
      throw CpinException.unimplemented("first participant certificates against an enrollment "
          + "token (they need the service center's registrations)");
    }
    if (!participant.nodeCode().equals(self)) {
      throw CpinException.notFound("participant " + participant + " is not registered at node "
          + self, Map.of("participant_id", participant.toString()));
    }
    if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(participant)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may renew only its own certificate");
    }
    PublicKey key;
    try {
      key = KeyMaterial.verifyCsr(csrDer);
    } catch (IllegalArgumentException e) {
      throw InvalidArgumentException.of("csr_der", e.getMessage(),
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    Credentials ca = issuingCa.get();
    CertificateAuthority authority = CertificateAuthority.of(ca.chain().get(0),
        ca.chain().subList(1, ca.chain().size()), ca.key());
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(authority.issueLeaf(CpinIdentity.participant(self, participant), key, VALIDITY));
    chain.addAll(ca.chain());
    return chain;
  }
}
