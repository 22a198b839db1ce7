package cn.cpin.national;

import cn.cpin.node.NodeContext;
import cn.cpin.node.trust.CertificateRenewer;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The national node's trust: it is the CPIN root CA (SEC-001). On first start it creates the root,
 * its own node certificate {@code cpin://86} and the national operator's certificate
 * {@code cpin://86/operator}; it renews its own certificate from its own root.
 */
final class NationalTrust implements NodeTrust {
  private static final Duration ROOT_VALIDITY = Duration.ofDays(3650);
  private static final Duration OPERATOR_VALIDITY = Duration.ofDays(30);

  private final CredentialFiles files;
  private final CertificateAuthority root;
  private KeyPair filingLogKey;
  private final Duration validity;
  private final Credentials initial;

  private NationalTrust(CredentialFiles files, CertificateAuthority root, Duration validity,
      Credentials initial) {
    this.files = files;
    this.root = root;
    this.validity = validity;
    this.initial = initial;
  }

  static NationalTrust open(NodeContext context) throws Exception {
    CredentialFiles files = new CredentialFiles(context.dataDirectory());
    Path rootCert = files.pkiDirectory().resolve("root-ca.pem");
    Path rootKey = files.pkiDirectory().resolve("root-ca-key.pem");
    Duration validity = context.options().certificateValidity();
    CertificateAuthority root;
    if (Files.exists(rootCert)) {
      root = CertificateAuthority.load(rootCert, rootKey);
    } else {
      Files.createDirectories(files.pkiDirectory());
      root = CertificateAuthority.createRoot("CPIN national root CA", ROOT_VALIDITY,
          context.clock());
      root.save(rootCert, rootKey);
      files.saveTrustAnchors(List.of(root.certificate()));
      context.events().info("pki.root_created", "subject",
          root.certificate().getSubjectX500Principal().getName(), "file", rootCert);
    }
    NationalTrust trust = new NationalTrust(files, root, validity,
        files.hasNodeCredentials() ? files.nodeCredentials() : null);
    if (trust.initial == null || files.operatorCredentials().isEmpty()) {
      Credentials node = trust.issueOwn();
      files.saveNodeCredentials(node);
      KeyPair operatorKey = KeyMaterial.generateKeyPair();
      files.saveOperatorCredentials(new Credentials(operatorKey.getPrivate(), List.of(
          root.issueLeaf(CpinIdentity.operator(NodeCode.national()), operatorKey.getPublic(),
              OPERATOR_VALIDITY))), List.of(root.certificate()));
      return new NationalTrust(files, root, validity, node);
    }
    return trust;
  }

  CertificateAuthority root() {
    return root;
  }

  /** The key that signs the filing log's tree heads (IDN-018); created on first use. */
  synchronized KeyPair filingLogKey() throws Exception {
    if (filingLogKey == null) {
      Path privateKey = files.pkiDirectory().resolve("filing-log-key.pem");
      Path publicKey = files.pkiDirectory().resolve("filing-log-public.der");
      if (!Files.exists(privateKey)) {
        KeyPair created = KeyMaterial.generateKeyPair();
        Files.write(publicKey, created.getPublic().getEncoded());
        KeyMaterial.writePrivateKey(privateKey, created.getPrivate());
      }
      filingLogKey = new KeyPair(
          java.security.KeyFactory.getInstance("EC").generatePublic(
              new java.security.spec.X509EncodedKeySpec(Files.readAllBytes(publicKey))),
          KeyMaterial.readPrivateKey(privateKey));
    }
    return filingLogKey;
  }

  Duration validity() {
    return validity;
  }

  private Credentials issueOwn() throws Exception {
    KeyPair key = KeyMaterial.generateKeyPair();
    return new Credentials(key.getPrivate(), List.of(
        root.issueNodeCertificate(NodeCode.national(), key.getPublic(), validity)));
  }

  @Override
  public Credentials credentials() {
    return initial;
  }

  @Override
  public List<X509Certificate> trustAnchors() {
    return List.of(root.certificate());
  }

  @Override
  public Optional<Credentials> issuingCa() {
    return Optional.empty();
  }

  @Override
  public CertificateRenewer.Renewal renewal() {
    return current -> {
      Credentials next = issueOwn();
      files.saveNodeCredentials(next);
      return next;
    };
  }

  @Override
  public void started(NodeTls tls) {
    // The national node is the source of the revocation feed; nothing to follow.
  }

  @Override
  public void close() {}
}
