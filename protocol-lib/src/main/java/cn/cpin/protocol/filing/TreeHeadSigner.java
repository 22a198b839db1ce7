package cn.cpin.protocol.filing;

import cn.cpin.identifier.v1.SignatureAlgorithm;
import cn.cpin.identifier.v1.SignedTreeHead;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import java.nio.ByteBuffer;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.interfaces.ECKey;
import java.security.interfaces.EdECKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.NamedParameterSpec;
import java.util.Objects;

/**
 * Signs and verifies signed tree heads of the national filing log (IDN-018).
 *
 * <p>The signature covers the 49 bytes {@code 0x01 ‖ uint64(timestamp ms) ‖ uint64(tree_size) ‖
 * root_hash} (big-endian), with {@link SignatureAlgorithm#SIGNATURE_ALGORITHM_ECDSA_P256_SHA256}
 * (DER signature) for an EC P-256 log key or {@link SignatureAlgorithm#SIGNATURE_ALGORITHM_ED25519}
 * for an Ed25519 log key. {@code log_key_id} is SHA-256 of the key's DER SubjectPublicKeyInfo.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class TreeHeadSigner {

  /** Version byte that starts the signed data. */
  public static final byte SIGNED_DATA_VERSION = 0x01;

  /** Length of the signed data: 1 + 8 + 8 + 32. */
  public static final int SIGNED_DATA_LENGTH = 49;

  private static final ECParameterSpec P256 = p256();

  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final SignatureAlgorithm algorithm;
  private final byte[] logKeyId;

  /**
   * A signer with the log key pair: EC over P-256 (ECDSA/SHA-256) or Ed25519.
   *
   * @throws IllegalArgumentException if the key is of another type or curve, or the private key
   *     does not match the public key
   */
  public TreeHeadSigner(KeyPair logKeyPair) {
    Objects.requireNonNull(logKeyPair, "logKeyPair");
    this.privateKey = Objects.requireNonNull(logKeyPair.getPrivate(), "private key");
    this.publicKey = Objects.requireNonNull(logKeyPair.getPublic(), "public key");
    this.algorithm = algorithmOf(publicKey);
    if (algorithm == null || algorithmOf(privateKey) != algorithm) {
      throw new IllegalArgumentException(
          "log key must be an EC P-256 or Ed25519 key pair, got " + publicKey.getAlgorithm());
    }
    this.logKeyId = logKeyId(publicKey);
    // A mismatched pair would sign heads nobody can verify: check once.
    byte[] probe = signedData(0, 0, MerkleTree.emptyRootHash());
    if (!verifySignature(algorithm, publicKey, probe, signRaw(probe))) {
      throw new IllegalArgumentException("private key does not match the public log key");
    }
  }

  /** The public log key. */
  public PublicKey publicKey() {
    return publicKey;
  }

  /** The signature algorithm of the heads this signer produces. */
  public SignatureAlgorithm algorithm() {
    return algorithm;
  }

  /** SHA-256 of the public key's DER SubjectPublicKeyInfo. */
  public byte[] logKeyId() {
    return logKeyId.clone();
  }

  /**
   * Signs a tree head.
   *
   * @param treeSize number of leaves, at least 0
   * @param rootHash Merkle tree hash of those leaves, 32 bytes
   * @param timestampMillis milliseconds since the epoch, at least 0
   */
  public SignedTreeHead sign(long treeSize, byte[] rootHash, long timestampMillis) {
    byte[] data = signedData(timestampMillis, treeSize, rootHash);
    return SignedTreeHead.newBuilder()
        .setTreeSize(treeSize)
        .setRootHash(ByteString.copyFrom(rootHash))
        .setTimestamp(toTimestamp(timestampMillis))
        .setSignature(ByteString.copyFrom(signRaw(data)))
        .setSignatureAlgorithm(algorithm)
        .setLogKeyId(ByteString.copyFrom(logKeyId))
        .build();
  }

  /**
   * The 49 signed bytes of IDN-018: {@code 0x01 ‖ uint64(timestampMillis) ‖ uint64(treeSize) ‖
   * rootHash}, big-endian.
   *
   * @throws IllegalArgumentException if a number is negative or {@code rootHash} is not 32 bytes
   */
  public static byte[] signedData(long timestampMillis, long treeSize, byte[] rootHash) {
    if (timestampMillis < 0) {
      throw new IllegalArgumentException("timestamp must not be before 1970, got " + timestampMillis);
    }
    if (treeSize < 0) {
      throw new IllegalArgumentException("tree size must not be negative, got " + treeSize);
    }
    if (rootHash == null || rootHash.length != MerkleTree.HASH_LENGTH) {
      throw new IllegalArgumentException("root hash must be 32 bytes");
    }
    return ByteBuffer.allocate(SIGNED_DATA_LENGTH)
        .put(SIGNED_DATA_VERSION)
        .putLong(timestampMillis)
        .putLong(treeSize)
        .put(rootHash)
        .array();
  }

  /**
   * Whether {@code sth} is a well-formed tree head signed by {@code logKey}: the algorithm fits
   * the key, {@code log_key_id} is the key's, the root hash is 32 bytes, the timestamp is a
   * whole number of milliseconds (not before 1970), and the signature verifies over the IDN-018
   * bytes.
   */
  public static boolean verify(SignedTreeHead sth, PublicKey logKey) {
    if (sth == null || logKey == null) {
      return false;
    }
    SignatureAlgorithm alg = algorithmOf(logKey);
    if (alg == null || sth.getSignatureAlgorithm() != alg) {
      return false;
    }
    if (!MessageDigest.isEqual(sth.getLogKeyId().toByteArray(), logKeyId(logKey))) {
      return false;
    }
    if (sth.getRootHash().size() != MerkleTree.HASH_LENGTH || sth.getTreeSize() < 0) {
      return false;
    }
    if (!sth.hasTimestamp()) {
      return false;
    }
    long millis;
    try {
      millis = timestampMillis(sth.getTimestamp());
    } catch (IllegalArgumentException e) {
      return false;
    }
    if (millis < 0) {
      return false;
    }
    byte[] data = signedData(millis, sth.getTreeSize(), sth.getRootHash().toByteArray());
    return verifySignature(alg, logKey, data, sth.getSignature().toByteArray());
  }

  /** SHA-256 of the DER SubjectPublicKeyInfo of {@code key} (the RFC 9162 log id). */
  public static byte[] logKeyId(PublicKey key) {
    byte[] spki = key.getEncoded();
    if (spki == null || !"X.509".equals(key.getFormat())) {
      throw new IllegalArgumentException("public key has no X.509 SubjectPublicKeyInfo encoding");
    }
    return MerkleTree.sha256().digest(spki);
  }

  /** A protobuf timestamp of {@code millis} since the epoch. */
  public static Timestamp toTimestamp(long millis) {
    return Timestamp.newBuilder()
        .setSeconds(Math.floorDiv(millis, 1000L))
        .setNanos((int) Math.floorMod(millis, 1000L) * 1_000_000)
        .build();
  }

  /**
   * Milliseconds since the epoch of a timestamp that is a whole number of milliseconds.
   *
   * @throws IllegalArgumentException if the nanos are out of range or not whole milliseconds, or
   *     the value overflows
   */
  public static long timestampMillis(Timestamp ts) {
    int nanos = ts.getNanos();
    if (nanos < 0 || nanos > 999_999_999 || nanos % 1_000_000 != 0) {
      throw new IllegalArgumentException("timestamp is not a whole number of milliseconds: " + ts);
    }
    try {
      return Math.addExact(Math.multiplyExact(ts.getSeconds(), 1000L), nanos / 1_000_000);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("timestamp out of range: " + ts, e);
    }
  }

  // ---------------------------------------------------------------- internals

  private byte[] signRaw(byte[] data) {
    try {
      Signature s = Signature.getInstance(jcaName(algorithm));
      s.initSign(privateKey);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("signing the tree head failed", e);
    }
  }

  private static boolean verifySignature(
      SignatureAlgorithm alg, PublicKey key, byte[] data, byte[] signature) {
    if (alg == SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519 && signature.length != 64) {
      return false;
    }
    try {
      Signature s = Signature.getInstance(jcaName(alg));
      s.initVerify(key);
      s.update(data);
      return s.verify(signature);
    } catch (SignatureException | InvalidKeyException e) {
      return false; // malformed signature or unusable key
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("signature algorithm unavailable", e);
    }
  }

  private static String jcaName(SignatureAlgorithm alg) {
    switch (alg) {
      case SIGNATURE_ALGORITHM_ECDSA_P256_SHA256:
        return "SHA256withECDSA";
      case SIGNATURE_ALGORITHM_ED25519:
        return "Ed25519";
      default:
        throw new IllegalArgumentException("unsupported signature algorithm " + alg);
    }
  }

  /** The algorithm for a P-256 or Ed25519 key, or null for any other key. */
  static SignatureAlgorithm algorithmOf(java.security.Key key) {
    if (key instanceof ECKey) {
      return isP256(((ECKey) key).getParams())
          ? SignatureAlgorithm.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256
          : null;
    }
    if (key instanceof EdECKey) {
      NamedParameterSpec p = ((EdECKey) key).getParams();
      return p != null && "Ed25519".equalsIgnoreCase(p.getName())
          ? SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519
          : null;
    }
    if ("Ed25519".equalsIgnoreCase(key.getAlgorithm())) {
      return SignatureAlgorithm.SIGNATURE_ALGORITHM_ED25519; // e.g. a provider without EdECKey
    }
    return null;
  }

  private static boolean isP256(ECParameterSpec p) {
    return p != null
        && p.getCofactor() == P256.getCofactor()
        && p.getOrder().equals(P256.getOrder())
        && p.getCurve().equals(P256.getCurve())
        && p.getGenerator().equals(P256.getGenerator());
  }

  private static ECParameterSpec p256() {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      return params.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
