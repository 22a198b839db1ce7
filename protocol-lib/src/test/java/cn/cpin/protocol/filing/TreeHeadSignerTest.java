package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.identifier.v1.SignatureAlgorithm;
import cn.cpin.identifier.v1.SignedTreeHead;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** {@link TreeHeadSigner}: the IDN-018 signed bytes, signing and verification. */
class TreeHeadSignerTest {

  private static final HexFormat HEX = HexFormat.of();

  static KeyPair ecKeyPair(String curve) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec(curve));
      return g.generateKeyPair();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static KeyPair keyPair(String algorithm) {
    try {
      return KeyPairGenerator.getInstance(algorithm).generateKeyPair();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static byte[] root() {
    byte[] r = new byte[32];
    for (int i = 0; i < 32; i++) {
      r[i] = (byte) (0xA0 + i);
    }
    return r;
  }

  private static ByteString flip(ByteString b, int i) {
    byte[] c = b.toByteArray();
    c[i] ^= 0x01;
    return ByteString.copyFrom(c);
  }

  @Test
  void signedDataIsThe49BytesOfIdn018() {
    long ts = 0x0102030405060708L;
    long size = 0x1112131415161718L;
    byte[] data = TreeHeadSigner.signedData(ts, size, root());
    assertThat(data).hasSize(49);
    assertThat(data[0]).isEqualTo((byte) 0x01);
    byte[] tsBytes = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    byte[] sizeBytes = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
    for (int i = 0; i < 8; i++) {
      assertThat(data[1 + i]).as("timestamp byte %d", i).isEqualTo(tsBytes[i]);
      assertThat(data[9 + i]).as("tree size byte %d", i).isEqualTo(sizeBytes[i]);
    }
    for (int i = 0; i < 32; i++) {
      assertThat(data[17 + i]).as("root byte %d", i).isEqualTo((byte) (0xA0 + i));
    }
    // A realistic head: 2024-01-01T00:00:00.123Z, 1000 leaves.
    assertThat(HEX.formatHex(TreeHeadSigner.signedData(1_704_067_200_123L, 1000, new byte[32])))
        .isEqualTo("01" + "0000018cc251f47b" + "00000000000003e8" + "00".repeat(32));
  }

  @Test
  void signedDataRefusesOutOfRangeValues() {
    assertThatThrownBy(() -> TreeHeadSigner.signedData(-1, 0, root()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TreeHeadSigner.signedData(0, -1, root()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TreeHeadSigner.signedData(0, 0, new byte[31]))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void ecdsaHeadRoundTrip() throws Exception {
    KeyPair kp = ecKeyPair("secp256r1");
    TreeHeadSigner signer = new TreeHeadSigner(kp);
    long millis = 1_704_067_200_123L;
    SignedTreeHead sth = signer.sign(1000, root(), millis);

    assertThat(sth.getTreeSize()).isEqualTo(1000);
    assertThat(sth.getRootHash().toByteArray()).isEqualTo(root());
    assertThat(sth.getTimestamp().getSeconds()).isEqualTo(1_704_067_200L);
    assertThat(sth.getTimestamp().getNanos()).isEqualTo(123_000_000);
    assertThat(sth.getSignatureAlgorithm())
        .isEqualTo(SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256);
    byte[] keyId = MessageDigest.getInstance("SHA-256").digest(kp.getPublic().getEncoded());
    assertThat(sth.getLogKeyId().toByteArray()).isEqualTo(keyId);
    assertThat(TreeHeadSigner.logKeyId(kp.getPublic())).isEqualTo(keyId);
    assertThat(signer.logKeyId()).isEqualTo(keyId);
    assertThat(sth.getSignature().byteAt(0)).as("DER SEQUENCE").isEqualTo((byte) 0x30);

    assertThat(TreeHeadSigner.verify(sth, kp.getPublic())).isTrue();
    // The signature is a plain SHA256withECDSA over the 49 bytes.
    java.security.Signature v = java.security.Signature.getInstance("SHA256withECDSA");
    v.initVerify(kp.getPublic());
    v.update(TreeHeadSigner.signedData(millis, 1000, root()));
    assertThat(v.verify(sth.getSignature().toByteArray())).isTrue();
    // Survives the wire.
    assertThat(TreeHeadSigner.verify(SignedTreeHead.parseFrom(sth.toByteArray()), kp.getPublic()))
        .isTrue();
  }

  @Test
  void ed25519HeadRoundTrip() {
    KeyPair kp = keyPair("Ed25519");
    TreeHeadSigner signer = new TreeHeadSigner(kp);
    SignedTreeHead sth = signer.sign(0, MerkleTree.emptyRootHash(), 0);
    assertThat(sth.getSignatureAlgorithm()).isEqualTo(SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519);
    assertThat(sth.getSignature().size()).isEqualTo(64);
    assertThat(TreeHeadSigner.verify(sth, kp.getPublic())).isTrue();
    assertThat(TreeHeadSigner.verify(sth, ecKeyPair("secp256r1").getPublic())).isFalse();
  }

  @Test
  void anyTamperingIsRejected() {
    KeyPair kp = ecKeyPair("secp256r1");
    SignedTreeHead sth = new TreeHeadSigner(kp).sign(77, root(), 1_700_000_000_000L);
    var key = kp.getPublic();
    assertThat(TreeHeadSigner.verify(sth, key)).isTrue();

    Timestamp ts = sth.getTimestamp();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setTimestamp(ts.toBuilder().setNanos(1_000_000)).build(), key))
        .as("timestamp + 1 ms")
        .isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setTimestamp(ts.toBuilder().setSeconds(ts.getSeconds() - 1)).build(), key))
        .as("timestamp - 1 s")
        .isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setTimestamp(ts.toBuilder().setNanos(1)).build(), key))
        .as("sub-millisecond timestamp")
        .isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().clearTimestamp().build(), key)).isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setTreeSize(78).build(), key)).as("size").isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setTreeSize(-1).build(), key)).as("size").isFalse();
    for (int i = 0; i < 32; i++) {
      assertThat(TreeHeadSigner.verify(sth.toBuilder().setRootHash(flip(sth.getRootHash(), i)).build(), key))
          .as("root byte %d", i)
          .isFalse();
    }
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setRootHash(sth.getRootHash().substring(1)).build(), key))
        .isFalse();
    for (int i = 0; i < sth.getSignature().size(); i++) {
      assertThat(TreeHeadSigner.verify(sth.toBuilder().setSignature(flip(sth.getSignature(), i)).build(), key))
          .as("signature byte %d", i)
          .isFalse();
    }
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setSignature(ByteString.EMPTY).build(), key)).isFalse();
    assertThat(TreeHeadSigner.verify(
            sth.toBuilder().setSignatureAlgorithm(SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519).build(), key))
        .isFalse();
    assertThat(TreeHeadSigner.verify(
            sth.toBuilder().setSignatureAlgorithm(SignatureAlgorithm.SIGNATURE_ALGORITHM_UNSPECIFIED).build(), key))
        .isFalse();
    assertThat(TreeHeadSigner.verify(sth.toBuilder().setLogKeyId(flip(sth.getLogKeyId(), 0)).build(), key))
        .isFalse();
    assertThat(TreeHeadSigner.verify(sth, ecKeyPair("secp256r1").getPublic())).as("another key").isFalse();
    assertThat(TreeHeadSigner.verify(sth, ecKeyPair("secp384r1").getPublic())).isFalse();
    assertThat(TreeHeadSigner.verify(null, key)).isFalse();
    assertThat(TreeHeadSigner.verify(sth, null)).isFalse();
  }

  @Test
  void signerRefusesOtherKeysAndMismatchedPairs() {
    assertThatThrownBy(() -> new TreeHeadSigner(ecKeyPair("secp384r1")))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new TreeHeadSigner(keyPair("RSA"))).isInstanceOf(IllegalArgumentException.class);
    KeyPair a = ecKeyPair("secp256r1");
    KeyPair b = ecKeyPair("secp256r1");
    assertThatThrownBy(() -> new TreeHeadSigner(new KeyPair(a.getPublic(), b.getPrivate())))
        .isInstanceOf(IllegalArgumentException.class);
    TreeHeadSigner signer = new TreeHeadSigner(a);
    assertThatThrownBy(() -> signer.sign(1, new byte[31], 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> signer.sign(-1, root(), 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> signer.sign(1, root(), -1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void timestampsAreWholeMilliseconds() {
    Timestamp t = TreeHeadSigner.toTimestamp(1_704_067_200_123L);
    assertThat(t.getSeconds()).isEqualTo(1_704_067_200L);
    assertThat(t.getNanos()).isEqualTo(123_000_000);
    assertThat(TreeHeadSigner.timestampMillis(t)).isEqualTo(1_704_067_200_123L);
    assertThat(TreeHeadSigner.timestampMillis(Timestamp.getDefaultInstance())).isZero();
    assertThatThrownBy(() -> TreeHeadSigner.timestampMillis(t.toBuilder().setNanos(123_000_001).build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TreeHeadSigner.timestampMillis(t.toBuilder().setNanos(-1_000_000).build()))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> TreeHeadSigner.timestampMillis(t.toBuilder().setSeconds(Long.MAX_VALUE).build()))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
