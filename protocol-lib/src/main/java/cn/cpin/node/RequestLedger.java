package cn.cpin.node;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.Sha256;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.Message;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The first answer to every mutating request, by caller and request id (GEN-009, GEN-010), kept
 * in the node's store in the same write as the change it answers, so that a retry never changes
 * anything twice and a reused request id with another request is refused. Thread-safe.
 */
public final class RequestLedger {
  private static final String BODY = "/body";

  private final KeyValueStore store;
  private final String prefix;

  /** @param prefix the store key prefix of this ledger, e.g. {@code "svc/request/"} */
  public RequestLedger(KeyValueStore store, String prefix) {
    this.store = store;
    this.prefix = prefix;
  }

  /** One request: where its answer is kept and what it asked. */
  public final class Entry {
    private final String key;
    private final byte[] body;

    private Entry(String key, byte[] body) {
      this.key = key;
      this.body = body;
    }

    /** The store key of this request's answer; unique per caller, operation and request id. */
    public String key() {
      return key;
    }

    /**
     * The first answer to this request, or empty if the request id is new; the same request id
     * with another request fails with INVALID_ARGUMENT ({@code REQUEST_ID_REUSED}).
     */
    public Optional<byte[]> replay() {
      Optional<byte[]> first = store.get(key);
      if (first.isEmpty()) {
        return Optional.empty();
      }
      if (!Arrays.equals(store.get(key + BODY).orElse(new byte[0]), body)) {
        throw InvalidArgumentException.of("request_id", "was used before with a different request",
            ErrorReason.ERROR_REASON_REQUEST_ID_REUSED);
      }
      store.sync(); // the first call may not have reached the disk yet
      return first;
    }

    /** Adds the answer to a write's puts; the write must also expect {@link #absent()}. */
    public Map<String, byte[]> record(byte[] answer, Map<String, byte[]> puts) {
      Map<String, byte[]> all = new HashMap<>(puts);
      all.put(key, answer);
      all.put(key + BODY, body);
      return all;
    }

    /** The expectation that makes a racing retry of the same request lose its write. */
    public Map<String, Optional<byte[]>> absent(Map<String, Optional<byte[]>> expected) {
      Map<String, Optional<byte[]>> all = new HashMap<>(expected);
      all.put(key, Optional.empty());
      return all;
    }
  }

  /**
   * The entry of {@code request} by {@code caller}; two requests are the same if they are equal
   * but for their request id field.
   */
  public Entry entry(CpinIdentity caller, String operation, String requestId, Message request) {
    Message.Builder withoutId = request.toBuilder();
    var idField = request.getDescriptorForType().findFieldByName("request_id");
    if (idField != null) {
      withoutId.clearField(idField);
    }
    String key = prefix + Sha256.hex(caller.uri() + "\n" + operation + "\n" + requestId);
    byte[] body = Sha256.hex(operation + "\n" + java.util.HexFormat.of()
        .formatHex(serialize(withoutId.build()))).getBytes(StandardCharsets.US_ASCII);
    return new Entry(key, body);
  }

  private static byte[] serialize(Message message) {
    try {
      var out = new java.io.ByteArrayOutputStream();
      var coded = com.google.protobuf.CodedOutputStream.newInstance(out);
      coded.useDeterministicSerialization();
      message.writeTo(coded);
      coded.flush();
      return out.toByteArray();
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
