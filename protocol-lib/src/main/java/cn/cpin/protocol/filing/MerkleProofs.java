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

  /**
   * Whether the leaves {@code leafHashes}, in leaf order, are the leaves {@code first} to
   * {@code treeSize - 1} of the tree of size {@code treeSize} whose Merkle tree hash is
   * {@code rootHash}, given {@code frontier}, the compact range of the first {@code first} leaves
   * (IDN-030, {@link MerkleTree#leftFrontier}): the root recomputed from the frontier and the
   * leaves must equal {@code rootHash}.
   */
  public static boolean verifyBatchInclusion(long first, List<byte[]> frontier,
      List<byte[]> leafHashes, long treeSize, byte[] rootHash) {
    if (!isHash(rootHash) || !isProof(frontier) || leafHashes == null || leafHashes.isEmpty()
        || first < 0 || treeSize - first != leafHashes.size()
        || frontier.size() != Long.bitCount(first)) {
      return false;
    }
    for (byte[] h : leafHashes) {
      if (!isHash(h)) {
        return false;
      }
    }
    return MessageDigest.isEqual(batchRoot(first, frontier, leafHashes), rootHash);
  }

  // The root of [0, first + leaves) from the compact range of [0, first) and the leaves after it:
  // appending each leaf merges equal-sized perfect subtrees, as a binary counter carries.
  private static byte[] batchRoot(long first, List<byte[]> frontier, List<byte[]> leafHashes) {
    int capacity = frontier.size() + 64;
    byte[][] hashes = new byte[capacity][];
    long[] sizes = new long[capacity];
    int top = 0;
    long bits = first;
    for (byte[] h : frontier) {
      long size = Long.highestOneBit(bits);
      bits -= size;
      hashes[top] = h;
      sizes[top++] = size;
    }
    for (byte[] leaf : leafHashes) {
      hashes[top] = leaf;
      sizes[top++] = 1;
      while (top >= 2 && sizes[top - 1] == sizes[top - 2]) {
        hashes[top - 2] = MerkleTree.nodeHash(hashes[top - 2], hashes[top - 1]);
        sizes[top - 2] *= 2;
        top--;
      }
    }
    byte[] root = hashes[--top];
    while (top > 0) {
      root = MerkleTree.nodeHash(hashes[--top], root);
    }
    return root;
  }

  /**
   * The RFC 9162 audit path of leaf {@code leafIndex} (one of the batch's) in the tree of size
   * {@code first + leafHashes.size()}, derived from a batch proof (IDN-030) that verified: every
   * sibling on the path is a frontier subtree or lies over batch leaves.
   *
   * @throws IllegalArgumentException if {@code leafIndex} is not a leaf of the batch or the
   *     frontier does not have one hash per bit set in {@code first}
   */
  public static List<byte[]> batchAuditPath(long first, List<byte[]> frontier,
      List<byte[]> leafHashes, long leafIndex) {
    long treeSize = first + leafHashes.size();
    if (leafIndex < first || leafIndex >= treeSize) {
      throw new IllegalArgumentException("leaf " + leafIndex + " is not in the batch [" + first
          + ", " + treeSize + ")");
    }
    if (frontier.size() != Long.bitCount(first)) {
      throw new IllegalArgumentException("a frontier of " + first + " leaves has "
          + Long.bitCount(first) + " hashes, not " + frontier.size());
    }
    java.util.ArrayList<byte[]> path = new java.util.ArrayList<>();
    new BatchTree(first, frontier, leafHashes).path(leafIndex, 0, treeSize, path);
    return path;
  }

  /**
   * The RFC 9162 §2.1.4.1 consistency proof from the tree of size {@code first} to the tree of
   * size {@code first + leafHashes.size()}, derived from a batch proof (IDN-030): every node it
   * names is a frontier subtree or lies over the batch's leaves. A filer whose trusted head has
   * size {@code first} so checks consistency without asking the log (IDN-013).
   *
   * @throws IllegalArgumentException if {@code first} is 0, the batch is empty or the frontier
   *     does not have one hash per bit set in {@code first}
   */
  public static List<byte[]> batchConsistencyProof(long first, List<byte[]> frontier,
      List<byte[]> leafHashes) {
    if (first < 1 || leafHashes.isEmpty() || frontier.size() != Long.bitCount(first)) {
      throw new IllegalArgumentException("no consistency proof from " + first + " with "
          + frontier.size() + " frontier hashes and " + leafHashes.size() + " leaves");
    }
    java.util.ArrayList<byte[]> proof = new java.util.ArrayList<>();
    new BatchTree(first, frontier, leafHashes).subproof(first, 0, first + leafHashes.size(),
        true, proof);
    return proof;
  }

  /** The nodes of a tree known only by the compact range of its first leaves and the rest. */
  private record BatchTree(long first, List<byte[]> frontier, List<byte[]> leaves)
      implements MerkleNodes {
    // Over batch leaves, a frontier subtree, or split.
    @Override
    public byte[] hash(long start, long end) {
      if (start >= first) {
        if (end - start == 1) {
          return leaves.get((int) (start - first));
        }
      } else {
        long at = 0;
        long bits = first;
        for (byte[] h : frontier) {
          long size = Long.highestOneBit(bits);
          bits -= size;
          if (at == start && at + size == end) {
            return h;
          }
          at += size;
        }
        if (end <= first) {
          throw new IllegalStateException("[" + start + ", " + end + ") is inside a frontier "
              + "subtree");
        }
      }
      long k = MerkleTree.largestPowerOfTwoBelow(end - start);
      return MerkleTree.nodeHash(hash(start, start + k), hash(start + k, end));
    }
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
