package cn.cpin.protocol.filing;

import cn.cpin.identifier.v1.FilingEntry;
import com.google.protobuf.Timestamp;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetEncoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The canonical encodings of IDN-021: the RFC 9162 leaf data of a {@link FilingEntry} and the
 * record digest of an issued identifier record (version 1).
 *
 * <p>All integers are big-endian; {@code str(x)} is a {@code uint16} byte length followed by
 * the UTF-8 bytes of {@code x}. Strings that are not valid Unicode (unpaired surrogates) or
 * longer than 65535 UTF-8 bytes are refused with {@link IllegalArgumentException}.
 */
public final class FilingEncoding {

  /** Version byte that starts both encodings. */
  public static final byte VERSION = 0x01;

  /** Length of a record digest (SHA-256). */
  public static final int RECORD_DIGEST_LENGTH = 32;

  private FilingEncoding() {}

  /**
   * RFC 9162 leaf data of a filing entry:
   *
   * <pre>
   * 0x01 ‖ str(identifier) ‖ uint8(kind) ‖ str(owner_id)
   *      ‖ int64(issued_at.seconds) ‖ uint32(issued_at.nanos) ‖ record_digest (32 bytes)
   * </pre>
   *
   * An unset {@code issued_at} encodes as seconds 0, nanos 0.
   *
   * @throws IllegalArgumentException if {@code record_digest} is not 32 bytes, the nanos are out
   *     of [0, 999999999], or a string cannot be encoded
   */
  public static byte[] leafData(FilingEntry entry) {
    Objects.requireNonNull(entry, "entry");
    if (entry.getRecordDigest().size() != RECORD_DIGEST_LENGTH) {
      throw new IllegalArgumentException(
          "record_digest must be 32 bytes, got " + entry.getRecordDigest().size());
    }
    Writer w = new Writer(128);
    w.u8(VERSION);
    w.str(entry.getIdentifier(), "identifier");
    w.u8(kindByte(entry.getKindValue()));
    w.str(entry.getOwnerId(), "owner_id");
    w.timestamp(entry.getIssuedAt());
    w.bytes(entry.getRecordDigest().toByteArray());
    return w.toByteArray();
  }

  /** RFC 9162 leaf hash of a filing entry: {@code SHA-256(0x00 ‖ leafData(entry))}. */
  public static byte[] leafHash(FilingEntry entry) {
    return MerkleTree.leafHash(leafData(entry));
  }

  /**
   * Record digest of an issued identifier record: SHA-256 of
   *
   * <pre>
   * 0x01 ‖ str(identifier) ‖ uint8(kind) ‖ str(issuing_node_code) ‖ str(owner_id)
   *      ‖ int64(issued_at.seconds) ‖ uint32(issued_at.nanos)
   *      ‖ uint16(n) ‖ n × ( str(key) ‖ str(value) )   ; attributes sorted by key bytes
   * </pre>
   *
   * @param kindNumber the {@code IdentifierKind} number, 0..255
   * @param ownerId empty (or null) for participant identifiers
   * @param issuedAt null encodes as seconds 0, nanos 0
   * @param attributes null means none; at most 65535 entries
   * @throws IllegalArgumentException if a value cannot be encoded
   */
  public static byte[] recordDigest(
      String identifier,
      int kindNumber,
      String issuingNodeCode,
      String ownerId,
      Timestamp issuedAt,
      Map<String, String> attributes) {
    byte[] data = recordData(identifier, kindNumber, issuingNodeCode, ownerId, issuedAt, attributes);
    return MerkleTree.sha256().digest(data);
  }

  /** The bytes that {@link #recordDigest} hashes. */
  static byte[] recordData(
      String identifier,
      int kindNumber,
      String issuingNodeCode,
      String ownerId,
      Timestamp issuedAt,
      Map<String, String> attributes) {
    Objects.requireNonNull(identifier, "identifier");
    Objects.requireNonNull(issuingNodeCode, "issuingNodeCode");
    Writer w = new Writer(256);
    w.u8(VERSION);
    w.str(identifier, "identifier");
    w.u8(kindByte(kindNumber));
    w.str(issuingNodeCode, "issuing_node_code");
    w.str(ownerId == null ? "" : ownerId, "owner_id");
    w.timestamp(issuedAt == null ? Timestamp.getDefaultInstance() : issuedAt);

    Map<String, String> attrs = attributes == null ? Map.of() : attributes;
    if (attrs.size() > 0xFFFF) {
      throw new IllegalArgumentException("at most 65535 attributes, got " + attrs.size());
    }
    List<byte[][]> pairs = new ArrayList<>(attrs.size());
    for (Map.Entry<String, String> e : attrs.entrySet()) {
      String key = Objects.requireNonNull(e.getKey(), "attribute key");
      String value = Objects.requireNonNull(e.getValue(), () -> "value of attribute " + key);
      pairs.add(new byte[][] {utf8(key, "attribute key"), utf8(value, "attribute " + key)});
    }
    pairs.sort((a, b) -> Arrays.compareUnsigned(a[0], b[0]));
    w.u16(pairs.size());
    for (byte[][] p : pairs) {
      w.str(p[0], "attribute key");
      w.str(p[1], "attribute value");
    }
    return w.toByteArray();
  }

  private static int kindByte(int kindNumber) {
    if (kindNumber < 0 || kindNumber > 0xFF) {
      throw new IllegalArgumentException("kind number must fit uint8, got " + kindNumber);
    }
    return kindNumber;
  }

  static byte[] utf8(String s, String what) {
    CharsetEncoder enc =
        StandardCharsets.UTF_8
            .newEncoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try {
      ByteBuffer b = enc.encode(CharBuffer.wrap(s));
      byte[] out = new byte[b.remaining()];
      b.get(out);
      return out;
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(what + " is not valid Unicode text", e);
    }
  }

  /** Big-endian writer of the IDN-021 primitives. */
  private static final class Writer {
    private final ByteArrayOutputStream out;

    Writer(int capacity) {
      out = new ByteArrayOutputStream(capacity);
    }

    void u8(int v) {
      out.write(v);
    }

    void u16(int v) {
      out.write(v >>> 8);
      out.write(v);
    }

    void u32(long v) {
      for (int shift = 24; shift >= 0; shift -= 8) {
        out.write((int) (v >>> shift));
      }
    }

    void i64(long v) {
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.write((int) (v >>> shift));
      }
    }

    void bytes(byte[] b) {
      out.write(b, 0, b.length);
    }

    void str(String s, String what) {
      str(utf8(Objects.requireNonNull(s, what), what), what);
    }

    void str(byte[] b, String what) {
      if (b.length > 0xFFFF) {
        throw new IllegalArgumentException(what + " longer than 65535 UTF-8 bytes: " + b.length);
      }
      u16(b.length);
      bytes(b);
    }

    void timestamp(Timestamp ts) {
      int nanos = ts.getNanos();
      if (nanos < 0 || nanos > 999_999_999) {
        throw new IllegalArgumentException("timestamp nanos out of range: " + nanos);
      }
      i64(ts.getSeconds());
      u32(nanos);
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }
  }
}
