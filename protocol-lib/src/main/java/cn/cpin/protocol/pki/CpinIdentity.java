package cn.cpin.protocol.pki;

import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1IA5String;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;

/**
 * Who a certificate belongs to: the single URI SAN of a CPIN certificate (SEC-005).
 *
 * <ul>
 *   <li>a node: {@code cpin://86.44}
 *   <li>the operator of a node: {@code cpin://86.44/operator}
 *   <li>a participant registered at a node: {@code cpin://86.44/86.44/P-17T}; the participant
 *       identifier's node code equals the host
 * </ul>
 *
 * <p>Instances are immutable and thread-safe.
 *
 * @param kind what the certificate names
 * @param nodeCode the node (the URI's host)
 * @param participantId the participant identifier, present exactly for {@link Kind#PARTICIPANT}
 */
public record CpinIdentity(Kind kind, NodeCode nodeCode, Optional<Identifier> participantId) {

  /** The URI scheme of CPIN identities. */
  public static final String SCHEME = "cpin";
  /** Longer URIs are rejected before any other work; the longest valid one has 46 characters. */
  public static final int MAX_URI_LENGTH = 64;

  private static final String PREFIX = SCHEME + "://";
  private static final String OPERATOR_PATH = "/operator";

  /** What a CPIN certificate names. */
  public enum Kind {
    /** A national, regional or industry node. */
    NODE,
    /** The operator of a node. */
    OPERATOR,
    /** A participant registered at a node. */
    PARTICIPANT
  }

  /**
   * Checks that the parts are consistent.
   *
   * @throws IllegalArgumentException if a participant id is missing for PARTICIPANT, present for
   *     another kind, not of kind P, or of another node than {@code nodeCode}
   */
  public CpinIdentity {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(nodeCode, "nodeCode");
    Objects.requireNonNull(participantId, "participantId");
    if (kind == Kind.PARTICIPANT) {
      Identifier id = participantId.orElseThrow(
          () -> new IllegalArgumentException("a participant identity needs a participant id"));
      if (id.kind() != IdentifierKind.PARTICIPANT) {
        throw new IllegalArgumentException(
            "participant id must be of kind P but " + id + " is of kind " + id.kind().letter());
      }
      if (!id.nodeCode().equals(nodeCode)) {
        throw new IllegalArgumentException("participant " + id + " is registered at "
            + id.nodeCode() + ", not at " + nodeCode);
      }
    } else if (participantId.isPresent()) {
      throw new IllegalArgumentException("only a participant identity has a participant id");
    }
  }

  /** Returns the identity of a node, {@code cpin://<node>}. */
  public static CpinIdentity node(NodeCode node) {
    return new CpinIdentity(Kind.NODE, node, Optional.empty());
  }

  /** Returns the identity of a node's operator, {@code cpin://<node>/operator}. */
  public static CpinIdentity operator(NodeCode node) {
    return new CpinIdentity(Kind.OPERATOR, node, Optional.empty());
  }

  /**
   * Returns the identity of a participant, {@code cpin://<registeredAt>/<participantId>}.
   *
   * @throws IllegalArgumentException if the id is not of kind P or its node code is not
   *     {@code registeredAt}
   */
  public static CpinIdentity participant(NodeCode registeredAt, Identifier participantId) {
    Objects.requireNonNull(participantId, "participantId");
    return new CpinIdentity(Kind.PARTICIPANT, registeredAt, Optional.of(participantId));
  }

  /** Returns the URI SAN, e.g. {@code "cpin://86.44/86.44/P-17T"}. */
  public String uri() {
    return switch (kind) {
      case NODE -> PREFIX + nodeCode;
      case OPERATOR -> PREFIX + nodeCode + OPERATOR_PATH;
      case PARTICIPANT -> PREFIX + nodeCode + "/" + participantId.orElseThrow();
    };
  }

  /** Returns whether this is the national operator {@code cpin://86/operator}. */
  public boolean isNationalOperator() {
    return kind == Kind.OPERATOR && nodeCode.isNational();
  }

  /**
   * Parses a CPIN URI strictly: scheme exactly {@code cpin}, host a canonical node code, no
   * userinfo, port, query or fragment, and a path that is empty, {@code /operator} or
   * {@code /<participant id>} whose node code equals the host (SEC-005).
   *
   * @throws IllegalArgumentException naming what is wrong
   */
  public static CpinIdentity parseUri(String uri) {
    Objects.requireNonNull(uri, "uri");
    if (uri.length() > MAX_URI_LENGTH) {
      throw new IllegalArgumentException(
          "CPIN URI is longer than " + MAX_URI_LENGTH + " characters");
    }
    if (!uri.startsWith(PREFIX)) {
      throw new IllegalArgumentException(
          "CPIN URI must start with \"" + PREFIX + "\" (scheme exactly \"cpin\"): " + uri);
    }
    for (int i = 0; i < uri.length(); i++) {
      char c = uri.charAt(i);
      if (c <= 0x20 || c >= 0x7F) {
        throw new IllegalArgumentException(
            "CPIN URI contains a space, control or non-ASCII character at position " + (i + 1));
      }
    }
    String rest = uri.substring(PREFIX.length());
    if (rest.indexOf('?') >= 0) {
      throw new IllegalArgumentException("CPIN URI must not have a query: " + uri);
    }
    if (rest.indexOf('#') >= 0) {
      throw new IllegalArgumentException("CPIN URI must not have a fragment: " + uri);
    }
    if (rest.indexOf('@') >= 0) {
      throw new IllegalArgumentException("CPIN URI must not have userinfo: " + uri);
    }
    if (rest.indexOf(':') >= 0) {
      throw new IllegalArgumentException("CPIN URI must not have a port: " + uri);
    }
    if (rest.indexOf('%') >= 0) {
      throw new IllegalArgumentException("CPIN URI must not contain percent-encoding: " + uri);
    }
    int slash = rest.indexOf('/');
    String host = slash < 0 ? rest : rest.substring(0, slash);
    String path = slash < 0 ? "" : rest.substring(slash);
    NodeCode node;
    try {
      node = NodeCode.parse(host);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "host of CPIN URI \"" + host + "\" is not a node code: " + e.getMessage(), e);
    }
    if (path.isEmpty()) {
      return node(node);
    }
    if (path.equals(OPERATOR_PATH)) {
      return operator(node);
    }
    Identifier id;
    try {
      id = Identifier.parse(path.substring(1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("path of CPIN URI must be empty, /operator or "
          + "/<participant id>: " + e.getMessage(), e);
    }
    if (id.kind() != IdentifierKind.PARTICIPANT) {
      throw new IllegalArgumentException(
          "path of CPIN URI names " + id + ", which is not a participant (kind P)");
    }
    if (!id.nodeCode().equals(node)) {
      throw new IllegalArgumentException("participant " + id + " in CPIN URI belongs to node "
          + id.nodeCode() + ", not to the host " + node);
    }
    return participant(node, id);
  }

  /**
   * Returns the identity named by the single URI SAN of a certificate; DNS, IP and other SAN
   * types are ignored.
   *
   * @throws CertificateException if the certificate has no URI SAN, more than one, or one that
   *     is not a CPIN identity
   */
  public static CpinIdentity fromCertificate(X509Certificate certificate)
      throws CertificateException {
    List<String> uris = uriSans(certificate);
    if (uris.isEmpty()) {
      throw new CertificateException(
          "certificate has no URI SAN; CPIN identities have exactly one");
    }
    if (uris.size() > 1) {
      throw new CertificateException("certificate has " + uris.size()
          + " URI SANs; CPIN identities have exactly one");
    }
    try {
      return parseUri(uris.get(0));
    } catch (IllegalArgumentException e) {
      throw new CertificateException(
          "URI SAN of the certificate is not a CPIN identity: " + e.getMessage(), e);
    }
  }

  /** Returns the URI SANs of a certificate in order, parsed without the JDK's URI rules. */
  static List<String> uriSans(X509Certificate certificate) throws CertificateException {
    byte[] extension = certificate.getExtensionValue(Extension.subjectAlternativeName.getId());
    List<String> uris = new ArrayList<>();
    if (extension == null) {
      return uris;
    }
    try {
      GeneralNames names = GeneralNames.getInstance(
          ASN1OctetString.getInstance(extension).getOctets());
      for (GeneralName name : names.getNames()) {
        if (name.getTagNo() == GeneralName.uniformResourceIdentifier) {
          uris.add(ASN1IA5String.getInstance(name.getName()).getString());
        }
      }
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CertificateException("subjectAltName extension is malformed", e);
    }
    return uris;
  }

  @Override
  public String toString() {
    return uri();
  }
}
