package cn.cpin.national;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.NodeCodeAllocation;
import cn.cpin.identifier.v1.NodeCodeStatus;
import cn.cpin.node.trust.CertificateChains;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CertificateAuthority;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.trust.v1.CertificateChain;
import cn.cpin.trust.v1.EnrollNodeResponse;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.charset.StandardCharsets;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The national root CA's side of enrollment and renewal (SEC-002, SEC-003, SEC-009): checks the
 * one-time token or the caller's own certificate, then certifies the node's keys. Node certificates
 * are short-lived; issuing CA certificates live ten times as long.
 */
final class EnrollmentAuthority {
  private static final String ENROLLMENT = "national/enrollment/";

  private final NodeRegistry registry;
  private final CertificateAuthority root;
  private final KeyValueStore store;
  private final Duration validity;
  private final byte[] filingLogKey;

  EnrollmentAuthority(NodeRegistry registry, CertificateAuthority root, KeyValueStore store,
      Duration validity, java.security.PublicKey filingLogKey) {
    this.registry = registry;
    this.root = root;
    this.store = store;
    this.validity = validity;
    this.filingLogKey = filingLogKey.getEncoded();
  }

  /** Enrolls a node with its token; a retry with the same request id gets the same answer. */
  synchronized EnrollNodeResponse enroll(String requestId, NodeCode code, String token,
      byte[] csrDer, byte[] issuingCaCsrDer) {
    Optional<byte[]> earlier = store.get(ENROLLMENT + requestId);
    if (earlier.isPresent()) {
      return parse(earlier.get());
    }
    NodeCodeAllocation allocation = registry.get(code).orElseThrow(() -> CpinException.notFound(
        "node code " + code + " is not allocated", Map.of("node_code", code.toString())));
    requireNotRevoked(allocation);
    String tokenUse = registry.checkToken(code, token);
    EnrollNodeResponse response = certify(code, csrDer, issuingCaCsrDer);
    Map<String, byte[]> writes = new HashMap<>();
    writes.put(ENROLLMENT + requestId, response.toByteArray());
    writes.put(tokenUse, requestId.getBytes(StandardCharsets.UTF_8));
    Map.Entry<String, byte[]> enrolled = registry.enrolled(code);
    writes.put(enrolled.getKey(), enrolled.getValue());
    if (!store.write(writes, List.of(), List.of(tokenUse))) {
      throw CpinException.alreadyExists("this enrollment token has been used already",
          Map.of("node_code", code.toString()));
    }
    return response;
  }

  /** Renews the certificates of {@code caller}, which must be the node {@code code} itself. */
  EnrollNodeResponse renew(CpinIdentity caller, NodeCode code, byte[] csrDer,
      byte[] issuingCaCsrDer) {
    if (caller == null || caller.kind() != CpinIdentity.Kind.NODE
        || !caller.nodeCode().equals(code)) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "a node renews only its own certificate");
    }
    requireNotRevoked(registry.get(code).orElseThrow(() -> CpinException.notFound(
        "node code " + code + " is not allocated", Map.of("node_code", code.toString()))));
    return certify(code, csrDer, issuingCaCsrDer);
  }

  private EnrollNodeResponse certify(NodeCode code, byte[] csrDer, byte[] issuingCaCsrDer) {
    PublicKey nodeKey = csrKey("csr_der", csrDer);
    PublicKey caKey = issuingCaCsrDer.length == 0 ? null
        : csrKey("issuing_ca_csr_der", issuingCaCsrDer);
    List<X509Certificate> anchors = List.of(root.certificate());
    EnrollNodeResponse.Builder response = EnrollNodeResponse.newBuilder()
        .setFilingLogPublicKeyDer(com.google.protobuf.ByteString.copyFrom(filingLogKey))
        .setCertificateChain(CertificateChains.toProto(
            List.of(root.issueNodeCertificate(code, nodeKey, validity)), anchors));
    if (caKey != null) {
      CertificateChain ca = CertificateChains.toProto(
          List.of(root.issueIssuingCa(code, caKey, validity.multipliedBy(10))), anchors);
      response.setIssuingCaChain(ca);
    }
    return response.build();
  }

  private static PublicKey csrKey(String field, byte[] der) {
    if (der.length == 0) {
      throw InvalidArgumentException.of(field, "is required",
          ErrorReason.ERROR_REASON_FIELD_REQUIRED);
    }
    try {
      return KeyMaterial.verifyCsr(der);
    } catch (IllegalArgumentException e) {
      throw InvalidArgumentException.of(field, e.getMessage(),
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
  }

  private static void requireNotRevoked(NodeCodeAllocation allocation) {
    if (allocation.getStatus() == NodeCodeStatus.NODE_CODE_STATUS_REVOKED) {
      throw CpinException.failedPrecondition("node code " + allocation.getNodeCode()
          + " is revoked");
    }
  }

  private static EnrollNodeResponse parse(byte[] bytes) {
    try {
      return EnrollNodeResponse.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt enrollment record", e);
    }
  }
}
