package cn.cpin.national;

import cn.cpin.protocol.Sha256;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.NodeRole;
import cn.cpin.identifier.v1.NodeCodeAllocation;
import cn.cpin.identifier.v1.NodeCodeStatus;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The node codes the national node has allocated (IDN-004) and their one-time enrollment tokens
 * (SEC-002).
 *
 * <p>Tokens are stored only as hashes. A token is an HMAC of the allocation's request id under a
 * secret kept in the store, so a retried allocation returns the same token without the token
 * itself ever being stored. Thread-safe: writes are serialised.
 */
final class NodeRegistry {
  static final Duration TOKEN_VALIDITY = Duration.ofHours(72);

  private static final String ALLOCATION = "national/allocation/";
  private static final String ALLOCATION_REQUEST = "national/allocation-request/";
  private static final String TOKEN = "national/token/";
  private static final String TOKEN_USED = "national/token-used/";
  private static final String SECRET = "national/token-secret";

  /** An allocation with the token to hand to the new node's operator. */
  record Allocation(NodeCodeAllocation allocation, String token, Instant tokenExpiresAt) {}

  private final KeyValueStore store;
  private final Clock clock;
  private final byte[] secret;

  NodeRegistry(KeyValueStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
    byte[] fresh = new byte[32];
    new SecureRandom().nextBytes(fresh);
    store.putIfAbsent(SECRET, fresh);
    this.secret = store.get(SECRET).orElseThrow();
    NodeCode national = NodeCode.national();
    store.putIfAbsent(ALLOCATION + national, NodeCodeAllocation.newBuilder()
        .setNodeCode(national.toString())
        .setRole(NodeRole.NODE_ROLE_NATIONAL)
        .setStatus(NodeCodeStatus.NODE_CODE_STATUS_ENROLLED)
        .setAllocatedAt(Timestamps.fromMillis(clock.millis()))
        .build().toByteArray());
  }

  /** Allocates the code of a new regional or industry node; idempotent per request id. */
  synchronized Allocation allocate(String requestId, NodeRole role, String province,
      String section, String operatorName, String operatorCreditCode) {
    Optional<byte[]> earlier = store.get(ALLOCATION_REQUEST + requestId);
    if (earlier.isPresent()) {
      NodeCode code = NodeCode.parse(new String(earlier.get(), StandardCharsets.UTF_8));
      return withToken(get(code).orElseThrow(), requestId);
    }
    NodeCode code = codeFor(role, province, section);
    if (code.isIndustry() && get(code.parent().orElseThrow()).isEmpty()) {
      throw CpinException.failedPrecondition("industry node " + code + " connects into regional "
          + "node " + code.parent().orElseThrow() + ", which is not allocated yet");
    }
    NodeCodeAllocation allocation = NodeCodeAllocation.newBuilder()
        .setNodeCode(code.toString())
        .setRole(role)
        .setProvinceCode(province)
        .setIndustrySection(section)
        .setParentNodeCode(code.parent().orElseThrow().toString())
        .setOperatorName(operatorName)
        .setOperatorCreditCode(operatorCreditCode)
        .setStatus(NodeCodeStatus.NODE_CODE_STATUS_ALLOCATED)
        .setAllocatedAt(Timestamps.fromMillis(clock.millis()))
        .build();
    Allocation result = withToken(allocation, requestId);
    boolean written = store.write(Map.of(
            ALLOCATION + code, allocation.toByteArray(),
            ALLOCATION_REQUEST + requestId, code.toString().getBytes(StandardCharsets.UTF_8),
            TOKEN + Sha256.hex(result.token()), (code + "|" + result.tokenExpiresAt().toEpochMilli())
                .getBytes(StandardCharsets.UTF_8)),
        List.of(), List.of(ALLOCATION + code));
    if (!written) {
      throw CpinException.alreadyExists("node code " + code + " is allocated already",
          Map.of("node_code", code.toString()));
    }
    return result;
  }

  Optional<NodeCodeAllocation> get(NodeCode code) {
    return store.get(ALLOCATION + code).map(NodeRegistry::parse);
  }

  List<NodeCodeAllocation> list() {
    List<NodeCodeAllocation> out = new ArrayList<>();
    for (byte[] value : store.scan(ALLOCATION).values()) {
      out.add(parse(value));
    }
    return out;
  }

  /**
   * Checks an enrollment token for {@code code}, failing as SEC-002 says; returns the key under
   * which its use is recorded.
   */
  String checkToken(NodeCode code, String token) {
    String hash = Sha256.hex(token);
    byte[] entry = store.get(TOKEN + hash).orElseThrow(() -> unauthenticated(
        "unknown enrollment token"));
    String[] parts = new String(entry, StandardCharsets.UTF_8).split("\\|");
    if (!parts[0].equals(code.toString())) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER,
          "this enrollment token was issued for another node code");
    }
    if (clock.millis() > Long.parseLong(parts[1])) {
      throw unauthenticated("the enrollment token has expired");
    }
    if (store.get(TOKEN_USED + hash).isPresent()) {
      throw CpinException.alreadyExists("this enrollment token has been used already",
          Map.of("node_code", code.toString()));
    }
    return TOKEN_USED + hash;
  }

  /** The allocation of {@code code} marked enrolled, for writing together with the enrollment. */
  Map.Entry<String, byte[]> enrolled(NodeCode code) {
    NodeCodeAllocation allocation = get(code).orElseThrow();
    return Map.entry(ALLOCATION + code, allocation.toBuilder()
        .setStatus(NodeCodeStatus.NODE_CODE_STATUS_ENROLLED)
        .setEnrolledAt(Timestamps.fromMillis(clock.millis()))
        .build().toByteArray());
  }

  private Allocation withToken(NodeCodeAllocation allocation, String requestId) {
    Instant allocated = Instant.ofEpochMilli(Timestamps.toMillis(allocation.getAllocatedAt()));
    return new Allocation(allocation, token(allocation.getNodeCode(), requestId),
        allocated.plus(TOKEN_VALIDITY));
  }

  private String token(String code, String requestId) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      byte[] tag = mac.doFinal((code + "|" + requestId).getBytes(StandardCharsets.UTF_8));
      return "cpin-et-" + Base64.getUrlEncoder().withoutPadding().encodeToString(tag);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  private static NodeCode codeFor(NodeRole role, String province, String section) {
    if (role != NodeRole.NODE_ROLE_REGIONAL && role != NodeRole.NODE_ROLE_INDUSTRY) {
      throw InvalidArgumentException.of("role", "must be NODE_ROLE_REGIONAL or "
          + "NODE_ROLE_INDUSTRY", ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    if (!NodeCode.isKnownProvince(province)) {
      throw InvalidArgumentException.of("province_code", "'" + province + "' is not a GB/T 2260 "
          + "province code", ErrorReason.ERROR_REASON_NODE_CODE_MALFORMED);
    }
    if (role == NodeRole.NODE_ROLE_REGIONAL) {
      return NodeCode.regional(province);
    }
    if (section.length() != 1 || !NodeCode.isKnownSection(section.charAt(0))) {
      throw InvalidArgumentException.of("industry_section", "'" + section + "' is not a GB/T "
          + "4754 section letter A to T", ErrorReason.ERROR_REASON_NODE_CODE_MALFORMED);
    }
    return NodeCode.industry(province, section.charAt(0));
  }

  private static CpinException unauthenticated(String message) {
    return new CpinException(CpinException.Kind.UNAUTHENTICATED,
        ErrorReason.ERROR_REASON_UNAUTHENTICATED, message, Map.of());
  }


  private static NodeCodeAllocation parse(byte[] bytes) {
    try {
      return NodeCodeAllocation.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt allocation record", e);
    }
  }
}
