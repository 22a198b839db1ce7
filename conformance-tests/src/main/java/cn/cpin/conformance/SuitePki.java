package cn.cpin.conformance;

import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.TestCertificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The suite's own test CA (SEC, "conformance"): the node under test trusts it for the test only
 * (reference nodes: {@code --test-trust-anchor <dir>/suite-ca.pem}), so that the suite can present
 * any identity — an operator, a node, a participant — and deliberately bad certificates that
 * chain to a trusted root. It lives in a directory and is created on first use.
 */
public final class SuitePki {
  static final Duration VALIDITY = Duration.ofHours(1);

  private final CertificateAuthority root;
  private final Map<NodeCode, CertificateAuthority> issuingCas = new ConcurrentHashMap<>();
  private final Map<CpinIdentity, Credentials> credentials = new ConcurrentHashMap<>();

  private SuitePki(CertificateAuthority root) {
    this.root = root;
  }

  /** Loads the suite CA from {@code directory}, creating it there if it does not exist. */
  public static SuitePki open(Path directory) throws IOException {
    Path cert = certificateFile(directory);
    Path key = directory.resolve("suite-ca-key.pem");
    if (Files.exists(cert)) {
      return new SuitePki(CertificateAuthority.load(cert, key));
    }
    Files.createDirectories(directory);
    CertificateAuthority root = CertificateAuthority.createRoot(
        "CPIN conformance suite test CA - never trust in production", Duration.ofDays(365),
        Clock.systemUTC());
    root.save(cert, key);
    return new SuitePki(root);
  }

  /** The file a node under test must trust (for the test only). */
  public static Path certificateFile(Path directory) {
    return directory.resolve("suite-ca.pem");
  }

  public CertificateAuthority root() {
    return root;
  }

  /** The issuing CA the suite uses for operators and participants of {@code node}. */
  public CertificateAuthority issuingCa(NodeCode node) {
    return issuingCas.computeIfAbsent(node, n -> TestCertificates.issuingCa(root, n));
  }

  /** Valid credentials for {@code identity}, through the same chain shape a real node uses. */
  public Credentials credentials(CpinIdentity identity) {
    return credentials.computeIfAbsent(identity, id -> TestCertificates.valid(
        id.kind() == CpinIdentity.Kind.NODE || id.isNationalOperator() ? root
            : issuingCa(id.nodeCode()), id, VALIDITY));
  }
}
