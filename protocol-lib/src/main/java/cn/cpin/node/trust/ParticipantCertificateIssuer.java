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
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Issues participant certificates {@code cpin://<node>/<participant id>} with the node's issuing
 * CA (SEC-004) to participants registered and approved here: a first certificate against the
 * one-time token handed out at approval (SVC-005), renewals to the participant itself, and any to
 * the node's operator. Every certificate is recorded with the registrations (audit, revocation on
 * suspension).
 */
public final class ParticipantCertificateIssuer {
  static final Duration VALIDITY = Duration.ofDays(7);

  /** What the issuer needs from the service center's registrations. */
  public interface Registrations {
    /**
     * Checks a one-time token for {@code participant}: empty to go ahead, or the leaf (DER)
     * already issued to this request if it is a retry; throws if the token is refused.
     */
    Optional<byte[]> admitToken(Identifier participant, String token, String requestId);

    /** Throws NOT_FOUND or FAILED_PRECONDITION unless the participant is approved here. */
    void checkApproved(Identifier participant);

    /** Records an issued certificate; a token it was issued against is used up. */
    void certificateIssued(CpinIdentity caller, Identifier participant, String token,
        String requestId, String serialHex, byte[] leafDer);
  }

  private final NodeCode self;
  private final Supplier<Credentials> issuingCa;
  private final Registrations registrations;

  public ParticipantCertificateIssuer(NodeCode self, Supplier<Credentials> issuingCa,
      Registrations registrations) {
    this.self = self;
    this.issuingCa = issuingCa;
    this.registrations = registrations;
  }

  /**
   * The chain (leaf first, root excluded) for {@code participant}'s key in {@code csrDer}.
   *
   * @param caller the authenticated caller, or null for a token-authenticated first certificate
   */
  public List<X509Certificate> issue(CpinIdentity caller, Identifier participant, String token,
      byte[] csrDer, String requestId) {
    if (!participant.nodeCode().equals(self)) {
      throw CpinException.notFound("participant " + participant + " is not registered at node "
          + self, Map.of("participant_id", participant.toString()));
    }
    Credentials ca = issuingCa.get();
    String usedToken = "";
    if (caller == null) {
      if (token.isEmpty()) {
        throw InvalidArgumentException.of("enrollment_token", "is required without a client "
            + "certificate", ErrorReason.ERROR_REASON_FIELD_REQUIRED);
      }
      Optional<byte[]> earlier = registrations.admitToken(participant, token, requestId);
      if (earlier.isPresent()) {
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(KeyMaterial.parseCertificate(earlier.get()));
        chain.addAll(ca.chain());
        return chain;
      }
      usedToken = token;
    } else if (caller.kind() == CpinIdentity.Kind.PARTICIPANT
        && !caller.participantId().orElseThrow().equals(participant)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          caller.uri() + " may renew only its own certificate");
    }
    registrations.checkApproved(participant);
    PublicKey key;
    try {
      key = KeyMaterial.verifyCsr(csrDer);
    } catch (IllegalArgumentException e) {
      throw InvalidArgumentException.of("csr_der", e.getMessage(),
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    CertificateAuthority authority = CertificateAuthority.of(ca.chain().get(0),
        ca.chain().subList(1, ca.chain().size()), ca.key());
    X509Certificate leaf = authority.issueLeaf(CpinIdentity.participant(self, participant), key,
        VALIDITY);
    try {
      registrations.certificateIssued(caller, participant, usedToken, requestId,
          leaf.getSerialNumber().toString(16), leaf.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
    List<X509Certificate> chain = new ArrayList<>();
    chain.add(leaf);
    chain.addAll(ca.chain());
    return chain;
  }
}
