package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.IdentifierKind;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** {@link FilingEncoding} against byte layouts of IDN-021 written out by hand. */
class FilingEncodingTest {

  private static final HexFormat HEX = HexFormat.of();

  private static final String ID = "86.44.C/R-1A2B3C4"; // 17 bytes
  private static final String ID_HEX = "3836" + "2e" + "3434" + "2e" + "43" + "2f" + "52" + "2d" + "31413242334334";
  private static final String OWNER = "86.44.C/P-7Q"; // 12 bytes
  private static final String OWNER_HEX = "3836" + "2e" + "3434" + "2e" + "43" + "2f" + "50" + "2d" + "3751";
  private static final Timestamp ISSUED = Timestamp.newBuilder().setSeconds(1_700_000_000L).setNanos(5).build();
  private static final String ISSUED_HEX = "000000006553f100" + "00000005";

  private static byte[] digest() {
    byte[] d = new byte[32];
    for (int i = 0; i < 32; i++) {
      d[i] = (byte) i;
    }
    return d;
  }

  private static FilingEntry entry() {
    return FilingEntry.newBuilder()
        .setIdentifier(ID)
        .setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
        .setOwnerId(OWNER)
        .setIssuedAt(ISSUED)
        .setRecordDigest(ByteString.copyFrom(digest()))
        .build();
  }

  private static byte[] sha256(byte[]... parts) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    for (byte[] p : parts) {
      md.update(p);
    }
    return md.digest();
  }

  @Test
  void leafDataLayout() throws Exception {
    String expected =
        "01" // version
            + "0011" + ID_HEX // str(identifier)
            + "02" // uint8(kind): RESOURCE
            + "000c" + OWNER_HEX // str(owner_id)
            + ISSUED_HEX // int64(seconds) ‖ uint32(nanos)
            + "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"; // record_digest
    assertThat(HEX.formatHex(FilingEncoding.leafData(entry()))).isEqualTo(expected);
    assertThat(FilingEncoding.leafHash(entry())).isEqualTo(sha256(new byte[] {0}, HEX.parseHex(expected)));
    assertThat(FilingEncoding.leafHash(entry())).isEqualTo(MerkleTree.leafHash(HEX.parseHex(expected)));
  }

  @Test
  void leafDataOfAParticipantWithNegativeSecondsAndUnsetTime() {
    FilingEntry participant =
        entry().toBuilder()
            .setIdentifier("86/P-1X")
            .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT)
            .clearOwnerId()
            .setIssuedAt(Timestamp.newBuilder().setSeconds(-1).setNanos(999_999_999))
            .build();
    assertThat(HEX.formatHex(FilingEncoding.leafData(participant)))
        .isEqualTo(
            "01" + "0007" + "38362f502d3158" + "01" + "0000" + "ffffffffffffffff" + "3b9ac9ff"
                + HEX.formatHex(digest()));
    FilingEntry unsetTime = participant.toBuilder().clearIssuedAt().build();
    assertThat(HEX.formatHex(FilingEncoding.leafData(unsetTime)))
        .isEqualTo(
            "01" + "0007" + "38362f502d3158" + "01" + "0000" + "0000000000000000" + "00000000"
                + HEX.formatHex(digest()));
  }

  @Test
  void recordDigestLayoutWithAttributesSortedByKeyBytes() throws Exception {
    Map<String, String> attrs = new LinkedHashMap<>();
    attrs.put("b", "2");
    attrs.put("\uD83D\uDE00", "y"); // U+1F600: UTF-8 f0 9f 98 80, after U+FFFF in byte order
    attrs.put("\uFFFF", "x"); // UTF-8 ef bf bf (String.compareTo would put it last)
    attrs.put("a", "1");
    attrs.put("é", "算力"); // c3 a9 -> e7 ae 97 e5 8a 9b
    String expected =
        "01"
            + "0011" + ID_HEX
            + "02"
            + "0007" + "38362e34342e43" // str(issuing_node_code) "86.44.C"
            + "000c" + OWNER_HEX
            + ISSUED_HEX
            + "0005" // uint16(n)
            + "0001" + "61" + "0001" + "31"
            + "0001" + "62" + "0001" + "32"
            + "0002" + "c3a9" + "0006" + "e7ae97e58a9b"
            + "0003" + "efbfbf" + "0001" + "78"
            + "0004" + "f09f9880" + "0001" + "79";
    assertThat(HEX.formatHex(FilingEncoding.recordData(ID, 2, "86.44.C", OWNER, ISSUED, attrs)))
        .isEqualTo(expected);
    byte[] digest = FilingEncoding.recordDigest(ID, 2, "86.44.C", OWNER, ISSUED, attrs);
    assertThat(digest).isEqualTo(sha256(HEX.parseHex(expected)));
    // The map's own order does not matter.
    assertThat(FilingEncoding.recordDigest(ID, 2, "86.44.C", OWNER, ISSUED, new TreeMap<>(attrs)))
        .isEqualTo(digest);
    assertThat(FilingEncoding.recordDigest(ID, 2, "86.44.C", OWNER, ISSUED, new HashMap<>(attrs)))
        .isEqualTo(digest);
    // Every field counts.
    assertThat(FilingEncoding.recordDigest(ID, 3, "86.44.C", OWNER, ISSUED, attrs)).isNotEqualTo(digest);
    assertThat(FilingEncoding.recordDigest(ID, 2, "86.44", OWNER, ISSUED, attrs)).isNotEqualTo(digest);
    attrs.put("a", "0");
    assertThat(FilingEncoding.recordDigest(ID, 2, "86.44.C", OWNER, ISSUED, attrs)).isNotEqualTo(digest);
  }

  @Test
  void recordDigestWithoutAttributesOrOwner() throws Exception {
    String expected =
        "01" + "0007" + "38362f502d3158" + "01" + "0002" + "3836" + "0000"
            + "0000000065920080" + "00000000" // 2024-01-01T00:00:00Z
            + "0000";
    Timestamp t = Timestamp.newBuilder().setSeconds(1_704_067_200L).build();
    assertThat(HEX.formatHex(FilingEncoding.recordData("86/P-1X", 1, "86", "", t, Map.of())))
        .isEqualTo(expected);
    assertThat(FilingEncoding.recordDigest("86/P-1X", 1, "86", null, t, null))
        .isEqualTo(sha256(HEX.parseHex(expected)));
  }

  @Test
  void unencodableValuesAreRefused() {
    assertThatThrownBy(
            () -> FilingEncoding.leafData(entry().toBuilder().setRecordDigest(ByteString.copyFrom(new byte[31])).build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FilingEncoding.leafData(entry().toBuilder().clearRecordDigest().build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(
            () -> FilingEncoding.leafData(
                entry().toBuilder().setIssuedAt(Timestamp.newBuilder().setNanos(-1)).build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FilingEncoding.leafData(entry().toBuilder().setKindValue(256).build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FilingEncoding.recordDigest(ID, 2, "86", "x".repeat(65_536), ISSUED, null))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(FilingEncoding.recordDigest(ID, 2, "86", "x".repeat(65_535), ISSUED, null)).hasSize(32);
    assertThatThrownBy(() -> FilingEncoding.recordDigest(ID, 2, "86", "\uD800", ISSUED, null))
        .as("unpaired surrogate")
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> FilingEncoding.recordDigest(ID, -1, "86", "", ISSUED, null))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
