package cn.cpin.node.trust;

import cn.cpin.protocol.pki.Credentials;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * A node's TLS identity over its life: the credentials it starts with, the anchors it trusts, how
 * it renews, and what runs beside it (e.g. following the revocation feed).
 */
public interface NodeTrust extends AutoCloseable {
  /** The credentials to serve and call with at start. */
  Credentials credentials();

  /** The CPIN roots this node trusts. */
  List<X509Certificate> trustAnchors();

  /** The node's issuing CA for its operator and participants (SEC-004), if it has one. */
  Optional<Credentials> issuingCa();

  /** How to obtain the next credentials before the current ones expire. */
  CertificateRenewer.Renewal renewal();

  /** Called once the node serves, with the TLS the node uses. */
  void started(NodeTls tls) throws Exception;

  @Override
  void close();
}
