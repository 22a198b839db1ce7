package cn.cpin.node.trust;

import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.trust.v1.CertificateChain;
import com.google.protobuf.ByteString;
import com.google.protobuf.util.Timestamps;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** Conversions between {@code cpin.trust.v1.CertificateChain} and X.509 certificates. */
public final class CertificateChains {
  private CertificateChains() {}

  public static CertificateChain toProto(List<X509Certificate> chain,
      List<X509Certificate> anchors) {
    X509Certificate leaf = chain.get(0);
    CertificateChain.Builder proto = CertificateChain.newBuilder()
        .setLeafSerialNumber(ByteString.copyFrom(leaf.getSerialNumber().toByteArray()))
        .setNotBefore(Timestamps.fromMillis(leaf.getNotBefore().getTime()))
        .setNotAfter(Timestamps.fromMillis(leaf.getNotAfter().getTime()));
    try {
      for (X509Certificate c : chain) {
        proto.addCertificatesDer(ByteString.copyFrom(c.getEncoded()));
      }
      for (X509Certificate c : anchors) {
        proto.addTrustAnchorsDer(ByteString.copyFrom(c.getEncoded()));
      }
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode a certificate we hold", e);
    }
    return proto.build();
  }

  public static List<X509Certificate> certificates(CertificateChain chain) {
    return parse(chain.getCertificatesDerList());
  }

  public static List<X509Certificate> trustAnchors(CertificateChain chain) {
    return parse(chain.getTrustAnchorsDerList());
  }

  private static List<X509Certificate> parse(List<ByteString> ders) {
    List<X509Certificate> out = new ArrayList<>();
    for (ByteString der : ders) {
      out.add(KeyMaterial.parseCertificate(der.toByteArray()));
    }
    return out;
  }
}
