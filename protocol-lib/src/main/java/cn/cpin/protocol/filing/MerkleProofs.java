package cn.cpin.protocol.filing;

import java.security.MessageDigest;
import java.util.List;

/**
 * Verification of RFC 9162 inclusion proofs (§2.1.3.2) and consistency proofs (§2.1.4.2) with
 * SHA-256 (IDN-013, IDN-015). Every method answers {@code false} for malformed input (negative
 * sizes, hashes that are not 32 bytes, null elements) rather than throwing.
 */
public final class MerkleProofs {

  private MerkleProofs() {}

  /**
   * Whether {@code proof} proves that {@code leafHash} is the leaf at {@code leafIndex} of the tree
   * of size {@code treeSize} whose Merkle tree hash is {@code rootHash} (RFC 9162 §2.1.3.2).
   */
  public static boolean verifyInclusion(
      byte[] leafHash, long leafIndex, long treeSize, List<byte[]> proof, byte[] rootHash) {
    if (!isHash(leafHash) || !isHash(rootHash) || !isProof(proof)) {
      return false;
    }
    // 1. leaf_index must be below tree_size.
    if (leafIndex < 0 || treeSize < 0 || leafIndex >= treeSize) {
      return false;
    }
    // 2.-3.
    long fn = leafIndex;
    long sn = treeSize - 1;
    byte[] r = leafHash;
    // 4.
    for (byte[] p : proof) {
      if (sn == 0) {
        return false;
      }
      if ((fn & 1L) == 1L || fn == sn) {
        r = MerkleTree.nodeHash(p, r);
        if ((fn & 1L) == 0L) {
          while ((fn & 1L) == 0L && fn != 0) {
            fn >>>= 1;
            sn >>>= 1;
          }
        }
      } else {
        r = MerkleTree.nodeHash(r, p);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    // 5.
    return sn == 0 && MessageDigest.isEqual(r, rootHash);
  }

  /**
   * Whether {@code proof} proves that the tree of size {@code size1} with hash {@code root1} is a
   * prefix of the tree of size {@code size2} with hash {@code root2} (RFC 9162 §2.1.4.2).
   *
   * <p>Equal sizes need an empty proof and equal roots. The RFC defines no proof from the empty
   * tree; as every tree extends it, {@code size1 == 0} is accepted with an empty proof when
   * {@code root1} is the empty-tree hash.
   */
  public static boolean verifyConsistency(
      long size1, long size2, byte[] root1, byte[] root2, List<byte[]> proof) {
    if (!isHash(root1) || !isHash(root2) || !isProof(proof)) {
      return false;
    }
    if (size1 < 0 || size2 < size1) {
      return false;
    }
    if (size1 == size2) {
      return proof.isEmpty() && MessageDigest.isEqual(root1, root2);
    }
    if (size1 == 0) {
      return proof.isEmpty() && MessageDigest.isEqual(root1, MerkleTree.emptyRootHash());
    }
    // 1. An empty proof proves nothing between different sizes.
    if (proof.isEmpty()) {
      return false;
    }
    // 2. If first is an exact power of 2, first_hash is the first value of the path.
    boolean prepend = Long.bitCount(size1) == 1;
    int count = proof.size() + (prepend ? 1 : 0);
    // 3.
    long fn = size1 - 1;
    long sn = size2 - 1;
    // 4.
    while ((fn & 1L) == 1L) {
      fn >>>= 1;
      sn >>>= 1;
    }
    // 5.
    byte[] first = prepend ? root1 : proof.get(0);
    byte[] fr = first;
    byte[] sr = first;
    // 6.
    for (int i = 1; i < count; i++) {
      byte[] c = proof.get(prepend ? i - 1 : i);
      if (sn == 0) {
        return false;
      }
      if ((fn & 1L) == 1L || fn == sn) {
        fr = MerkleTree.nodeHash(c, fr);
        sr = MerkleTree.nodeHash(c, sr);
        if ((fn & 1L) == 0L) {
          while ((fn & 1L) == 0L && fn != 0) {
            fn >>>= 1;
            sn >>>= 1;
          }
        }
      } else {
        sr = MerkleTree.nodeHash(sr, c);
      }
      fn >>>= 1;
      sn >>>= 1;
    }
    // 7.
    return sn == 0 && MessageDigest.isEqual(fr, root1) && MessageDigest.isEqual(sr, root2);
  }

  private static boolean isHash(byte[] h) {
    return h != null && h.length == MerkleTree.HASH_LENGTH;
  }

  private static boolean isProof(List<byte[]> proof) {
    if (proof == null || proof.size() > 128) {
      return false;
    }
    for (byte[] p : proof) {
      if (!isHash(p)) {
        return false;
      }
    }
    return true;
  }
}
