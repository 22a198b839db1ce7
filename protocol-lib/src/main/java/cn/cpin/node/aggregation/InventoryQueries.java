package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.GetResourceResponse;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.store.KeyValueStore;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The read side of the inventory (flow 5, AGG-013): one resource, or pages of resources in
 * resource_id order under AND-combined filters.
 *
 * <p>Page tokens (GEN-013) carry the last resource_id returned and a MAC over it and the filter, so
 * a token from another filter, an altered one or another node's is refused; the key is kept in the
 * store, so tokens survive a restart. Thread-safe.
 */
public final class InventoryQueries {
  static final int DEFAULT_PAGE_SIZE = 100;
  static final int MAX_PAGE_SIZE = 1000;
  private static final String TOKEN_KEY = "agg/page-token-key";
  private static final int MAC_BYTES = 16;

  private final Inventory inventory;
  private final byte[] tokenKey;

  public InventoryQueries(Inventory inventory, KeyValueStore store) {
    this.inventory = inventory;
    byte[] fresh = new byte[32];
    new SecureRandom().nextBytes(fresh);
    store.putIfAbsent(TOKEN_KEY, fresh);
    this.tokenKey = store.get(TOKEN_KEY).orElseThrow();
  }

  public GetResourceResponse get(GetResourceRequest request) {
    Resource resource = inventory.get(request.getResourceId()).orElseThrow(() ->
        CpinException.notFound("resource " + request.getResourceId() + " is not in the inventory "
            + "of " + inventory.nodeCode(), Map.of("resource_id", request.getResourceId())));
    return GetResourceResponse.newBuilder().setResource(resource).build();
  }

  public ListResourcesResponse list(ListResourcesRequest request) {
    List<FieldViolation> problems = new ArrayList<>();
    if (request.getPageSize() < 0) {
      problems.add(new FieldViolation("page_size", "must not be negative",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    for (int i = 0; i < request.getProvinceCodesCount(); i++) {
      if (!ResourceRules.isProvince(request.getProvinceCodes(i))) {
        problems.add(new FieldViolation("province_codes[" + i + "]", "'"
            + ResourceRules.abbreviate(request.getProvinceCodes(i))
            + "' is not a GB/T 2260 province code", ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
    }
    if (request.getComputeKind() == ComputeKind.UNRECOGNIZED) {
      problems.add(new FieldViolation("compute_kind", "unknown compute kind",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    if (request.getStatus() == ResourceStatus.UNRECOGNIZED) {
      problems.add(new FieldViolation("status", "unknown status",
          ErrorReason.ERROR_REASON_INVALID_FIELDS));
    }
    String filterDigest = filterDigest(request);
    String after = "";
    if (!request.getPageToken().isEmpty()) {
      after = openToken(request.getPageToken(), filterDigest);
      if (after == null) {
        problems.add(new FieldViolation("page_token", "was not returned by this node for the "
            + "same filter", ErrorReason.ERROR_REASON_INVALID_FIELDS));
      }
    }
    if (!problems.isEmpty()) {
      throw new InvalidArgumentException(problems);
    }
    int size = request.getPageSize() == 0 ? DEFAULT_PAGE_SIZE
        : Math.min(request.getPageSize(), MAX_PAGE_SIZE);
    Inventory.Filter filter = new Inventory.Filter(request.getComputeKind(),
        Set.copyOf(request.getProvinceCodesList()), request.getProviderId(),
        request.getOriginNodeCode(), request.getStatus(), request.getAcceleratorModel());
    // One more than asked tells whether this is the last page.
    List<Resource> page = inventory.list(filter, after, size + 1);
    ListResourcesResponse.Builder response = ListResourcesResponse.newBuilder();
    if (page.size() > size) {
      page = page.subList(0, size);
      response.setNextPageToken(token(page.get(size - 1).getResourceId(), filterDigest));
    }
    return response.addAllResources(page).build();
  }

  private static String filterDigest(ListResourcesRequest request) {
    byte[] filter = request.toBuilder().clearPageSize().clearPageToken().build().toByteArray();
    try {
      return Base64.getEncoder().encodeToString(
          MessageDigest.getInstance("SHA-256").digest(filter));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private String token(String lastId, String filterDigest) {
    byte[] id = lastId.getBytes(StandardCharsets.UTF_8);
    byte[] mac = mac(lastId, filterDigest);
    byte[] token = Arrays.copyOf(id, id.length + MAC_BYTES);
    System.arraycopy(mac, 0, token, id.length, MAC_BYTES);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(token);
  }

  /** The last resource_id of a token issued for this filter, or null. */
  private String openToken(String token, String filterDigest) {
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (bytes.length <= MAC_BYTES) {
      return null;
    }
    String lastId = new String(bytes, 0, bytes.length - MAC_BYTES, StandardCharsets.UTF_8);
    byte[] expected = mac(lastId, filterDigest);
    return MessageDigest.isEqual(Arrays.copyOfRange(bytes, bytes.length - MAC_BYTES, bytes.length),
        expected) ? lastId : null;
  }

  private byte[] mac(String lastId, String filterDigest) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(tokenKey, "HmacSHA256"));
      mac.update(filterDigest.getBytes(StandardCharsets.US_ASCII));
      mac.update((byte) 0);
      return Arrays.copyOf(mac.doFinal(lastId.getBytes(StandardCharsets.UTF_8)), MAC_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
