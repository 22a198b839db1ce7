package cn.cpin.protocol.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CpinIdentityTest {

  private static final NodeCode GUANGDONG = NodeCode.parse("86.44");
  private static final NodeCode SHANGHAI = NodeCode.parse("86.31");
  private static final Identifier PARTICIPANT =
      Identifier.of(GUANGDONG, IdentifierKind.PARTICIPANT, 1601);

  @Test
  void uriOfEachKind() {
    assertThat(CpinIdentity.node(GUANGDONG).uri()).isEqualTo("cpin://86.44");
    assertThat(CpinIdentity.operator(GUANGDONG).uri()).isEqualTo("cpin://86.44/operator");
    assertThat(CpinIdentity.operator(NodeCode.national()).uri()).isEqualTo("cpin://86/operator");
    assertThat(CpinIdentity.participant(GUANGDONG, PARTICIPANT).uri())
        .isEqualTo("cpin://86.44/" + PARTICIPANT)
        .startsWith("cpin://86.44/86.44/P-");
  }

  @Test
  void parseUriRoundTrips() {
    for (CpinIdentity identity : new CpinIdentity[] {
        CpinIdentity.node(NodeCode.national()),
        CpinIdentity.node(GUANGDONG),
        CpinIdentity.node(NodeCode.parse("86.44.C")),
        CpinIdentity.operator(GUANGDONG),
        CpinIdentity.operator(NodeCode.national()),
        CpinIdentity.participant(GUANGDONG, PARTICIPANT)}) {
      assertThat(CpinIdentity.parseUri(identity.uri())).isEqualTo(identity);
    }
    CpinIdentity participant = CpinIdentity.parseUri("cpin://86.44/" + PARTICIPANT);
    assertThat(participant.kind()).isEqualTo(CpinIdentity.Kind.PARTICIPANT);
    assertThat(participant.nodeCode()).isEqualTo(GUANGDONG);
    assertThat(participant.participantId()).contains(PARTICIPANT);
    assertThat(CpinIdentity.operator(NodeCode.national()).isNationalOperator()).isTrue();
    assertThat(CpinIdentity.operator(GUANGDONG).isNationalOperator()).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "cpin:", "cpin://", "cpin:/86.44", "CPIN://86.44", "https://86.44", "cpin:86.44",
      "cpin://86.44/", "cpin://86.44//operator", "cpin://86.44/Operator", "cpin://86.44/operator/",
      "cpin://86.44:443", "cpin://user@86.44", "cpin://86.44?x=1", "cpin://86.44#f",
      "cpin://86.44/operator?x", "cpin://86.99", "cpin://86.44.c", "cpin://86.4", "cpin://87",
      "cpin://86.44 ", " cpin://86.44", "cpin://86%2E44", "cpin://86.44/86.44/R-1SF"})
  void parseUriRejects(String uri) {
    assertThatThrownBy(() -> CpinIdentity.parseUri(uri))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageNotContaining("null");
  }

  @Test
  void parseUriExplainsWhy() {
    assertThatThrownBy(() -> CpinIdentity.parseUri("https://86.44"))
        .hasMessageContaining("scheme exactly \"cpin\"");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.44:443"))
        .hasMessageContaining("port");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.44?a"))
        .hasMessageContaining("query");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.44#a"))
        .hasMessageContaining("fragment");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://u@86.44"))
        .hasMessageContaining("userinfo");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.99"))
        .hasMessageContaining("not a node code");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.44/" + PARTICIPANT.toString()
        .toLowerCase())).hasMessageContaining("upper case");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.31/" + PARTICIPANT))
        .hasMessageContaining("belongs to node 86.44, not to the host 86.31");
    assertThatThrownBy(() -> CpinIdentity.parseUri("cpin://86.44/" + "x".repeat(80)))
        .hasMessageContaining("longer than");
  }

  @Test
  void participantMustBeOfKindPAndOfTheNode() {
    assertThatThrownBy(() -> CpinIdentity.participant(SHANGHAI, PARTICIPANT))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("registered at 86.44, not at 86.31");
    Identifier resource = Identifier.of(GUANGDONG, IdentifierKind.RESOURCE, 7);
    assertThatThrownBy(() -> CpinIdentity.participant(GUANGDONG, resource))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("kind P");
    assertThatThrownBy(() -> new CpinIdentity(CpinIdentity.Kind.NODE, GUANGDONG,
        Optional.of(PARTICIPANT))).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new CpinIdentity(CpinIdentity.Kind.PARTICIPANT, GUANGDONG,
        Optional.empty())).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void fromCertificateReadsTheSingleUriSan() throws Exception {
    CertificateAuthority root =
        CertificateAuthority.createRoot("CPIN test root", Duration.ofDays(365), Clock.systemUTC());
    Credentials node = TestCertificates.valid(root, CpinIdentity.node(GUANGDONG),
        Duration.ofDays(30));
    assertThat(CpinIdentity.fromCertificate(node.leaf())).isEqualTo(CpinIdentity.node(GUANGDONG));

    Credentials none = TestCertificates.withUriSans(root);
    assertThatThrownBy(() -> CpinIdentity.fromCertificate(none.leaf()))
        .isInstanceOf(CertificateException.class)
        .hasMessage("certificate has no URI SAN; CPIN identities have exactly one");
    Credentials two = TestCertificates.withUriSans(root, "cpin://86.44", "cpin://86.31");
    assertThatThrownBy(() -> CpinIdentity.fromCertificate(two.leaf()))
        .isInstanceOf(CertificateException.class)
        .hasMessage("certificate has 2 URI SANs; CPIN identities have exactly one");
    Credentials https = TestCertificates.withUriSans(root, "https://86.44");
    assertThatThrownBy(() -> CpinIdentity.fromCertificate(https.leaf()))
        .isInstanceOf(CertificateException.class)
        .hasMessageContaining("not a CPIN identity");
    X509Certificate withDns = new CertificateTemplate("dns", KeyMaterial.generateKeyPair()
        .getPublic()).validity(Instant.now(), Instant.now().plusSeconds(60))
        .dnsName("node.example.cn").uri("cpin://86.44/operator").dnsName("other.example.cn")
        .sign(root.certificate(), root.privateKey());
    assertThat(CpinIdentity.fromCertificate(withDns)).isEqualTo(CpinIdentity.operator(GUANGDONG));
    // The root has no SAN at all.
    assertThatThrownBy(() -> CpinIdentity.fromCertificate(root.certificate()))
        .hasMessageContaining("no URI SAN");
  }
}
