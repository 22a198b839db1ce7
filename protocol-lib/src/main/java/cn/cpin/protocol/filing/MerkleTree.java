package cn.cpin.protocol.filing;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * An append-only Merkle tree of RFC 9162 §2.1 (SHA-256) over 32-byte leaf hashes, held in memory
 * (IDN-015).
 *
 * <p>Besides the leaf hashes, the tree keeps the hash of every complete, aligned subtree: level
 * {@code k} holds, at index {@code i}, the Merkle tree hash of leaves {@code [i·2^k, (i+1)·2^k)}.
 * Every node of the RFC's left-balanced tree for any size {@code n} is either such a complete
 * subtree or a right-edge node whose hash folds at most {@code log2(n)} of them, so the root of
 * any prefix and every inclusion or consistency proof costs {@code O(log n)} hash computations.
 * Each append computes at most {@code log2(n)} node hashes. Hashes are stored in chunked
 * {@code byte[]} arrays (about {@code 64·n} bytes in all for {@code n} leaves).
 *
 * <p>Thread safety: {@link #append} is synchronized (meant for one writer); every read method
 * may run concurrently with it and with each other, and sees a consistent prefix of the log —
 * the leaves appended before the size it read.
 */
public final class MerkleTree {

  /** Length of every hash in the tree (SHA-256). */
  public static final int HASH_LENGTH = 32;

  private static final int CHUNK_BITS = 14; // 16384 hashes (512 KiB) per chunk
  private static final int CHUNK_HASHES = 1 << CHUNK_BITS;
  private static final long CHUNK_MASK = CHUNK_HASHES - 1L;
  private static final int MAX_LEVELS = 63;

  /** Largest tree this implementation holds (far beyond what fits in memory anyway). */
  static final long MAX_SIZE = ((long) Integer.MAX_VALUE - 8) << CHUNK_BITS;

  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(MerkleTree::newSha256);

  private static final byte[] EMPTY_ROOT = newSha256().digest();

  private final Level[] levels;
  private final MerkleNodes nodes = this::subtreeHash;
  private volatile long size;

  /** Creates an empty tree. */
  public MerkleTree() {
    Level[] l = new Level[MAX_LEVELS];
    for (int k = 0; k < l.length; k++) {
      l[k] = new Level();
    }
    this.levels = l;
  }

  // ---------------------------------------------------------------- hashing (RFC 9162 §2.1.1)

  /** RFC 9162 leaf hash: {@code SHA-256(0x00 ‖ leafData)}. */
  public static byte[] leafHash(byte[] leafData) {
    MessageDigest md = sha256();
    md.update((byte) 0x00);
    md.update(leafData);
    return md.digest();
  }

  /** RFC 9162 interior node hash: {@code SHA-256(0x01 ‖ left ‖ right)}; both 32 bytes. */
  public static byte[] nodeHash(byte[] left, byte[] right) {
    checkHash(left, "left");
    checkHash(right, "right");
    MessageDigest md = sha256();
    md.update((byte) 0x01);
    md.update(left);
    md.update(right);
    return md.digest();
  }

  /** The Merkle tree hash of the empty tree: SHA-256 of the empty string. */
  public static byte[] emptyRootHash() {
    return EMPTY_ROOT.clone();
  }

  // ---------------------------------------------------------------- writing

  /**
   * Appends a leaf hash and returns its zero-based leaf index.
   *
   * @throws IllegalArgumentException if {@code leafHash} is not 32 bytes
   */
  public synchronized long append(byte[] leafHash) {
    checkHash(leafHash, "leafHash");
    long n = size;
    if (n >= MAX_SIZE) {
      throw new IllegalStateException("Merkle tree is full at " + n + " leaves");
    }
    levels[0].set(n, leafHash, 0);
    // Every level at which the new leaf completes an aligned subtree gets that subtree's hash.
    MessageDigest md = sha256();
    byte[] buf = new byte[HASH_LENGTH];
    long idx = n;
    int k = 0;
    while ((idx & 1L) == 1L) {
      Level child = levels[k];
      md.update((byte) 0x01);
      child.feed(md, idx - 1);
      child.feed(md, idx);
      digestInto(md, buf);
      idx >>>= 1;
      k++;
      levels[k].set(idx, buf, 0);
    }
    size = n + 1; // publishes the writes above to readers
    return n;
  }

  // ---------------------------------------------------------------- reading

  /** Number of leaves. */
  public long size() {
    return size;
  }

  /** Leaf hash at {@code leafIndex} (a copy). */
  public byte[] leafHashAt(long leafIndex) {
    long n = size;
    if (leafIndex < 0 || leafIndex >= n) {
      throw new IndexOutOfBoundsException("leaf index " + leafIndex + " outside tree of size " + n);
    }
    return levels[0].get(leafIndex);
  }

  /** Merkle tree hash of the whole tree as of this call. */
  public byte[] rootHash() {
    return rootHashOf(size);
  }

  /**
   * Merkle tree hash (RFC 9162 §2.1.1) of the first {@code treeSize} leaves.
   *
   * @throws IllegalArgumentException if {@code treeSize} is negative or greater than {@link #size()}
   */
  public byte[] rootHash(long treeSize) {
    long n = size;
    if (treeSize < 0 || treeSize > n) {
      throw new IllegalArgumentException("tree size " + treeSize + " outside [0, " + n + "]");
    }
    return rootHashOf(treeSize);
  }

  private byte[] rootHashOf(long treeSize) {
    return treeSize == 0 ? EMPTY_ROOT.clone() : subtreeHash(0, treeSize);
  }

  /**
   * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf {@code leafIndex} in the tree of the
   * first {@code treeSize} leaves: sibling hashes from the leaf up to the root.
   *
   * @throws IllegalArgumentException unless {@code 0 <= leafIndex < treeSize <= size()}
   */
  public List<byte[]> inclusionProof(long leafIndex, long treeSize) {
    long n = size;
    if (treeSize < 1 || treeSize > n) {
      throw new IllegalArgumentException("tree size " + treeSize + " outside [1, " + n + "]");
    }
    if (leafIndex < 0 || leafIndex >= treeSize) {
      throw new IllegalArgumentException(
          "leaf index " + leafIndex + " outside [0, " + treeSize + ") for tree size " + treeSize);
    }
    List<byte[]> out = new ArrayList<>(64 - Long.numberOfLeadingZeros(treeSize));
    nodes.path(leafIndex, 0, treeSize, out);
    return out;
  }

  /**
   * RFC 9162 §2.1.4.1 consistency proof that the tree of the first {@code firstSize} leaves is a
   * prefix of the tree of the first {@code secondSize} leaves; empty when the sizes are equal.
   *
   * @throws IllegalArgumentException unless {@code 1 <= firstSize <= secondSize <= size()}
   */
  public List<byte[]> consistencyProof(long firstSize, long secondSize) {
    long n = size;
    if (secondSize < 0 || secondSize > n) {
      throw new IllegalArgumentException("second size " + secondSize + " outside [0, " + n + "]");
    }
    if (firstSize < 1 || firstSize > secondSize) {
      throw new IllegalArgumentException(
          "first size " + firstSize + " outside [1, " + secondSize + "] (second size)");
    }
    List<byte[]> out = new ArrayList<>(2 * (64 - Long.numberOfLeadingZeros(secondSize)));
    nodes.subproof(firstSize, 0, secondSize, true, out);
    return out;
  }

  /**
   * The compact range of the first {@code treeSize} leaves (IDN-030): the hashes of the perfect
   * subtrees of {@code treeSize}'s binary decomposition, left to right (largest first); empty for
   * 0. With the leaves after them these give the root of any larger tree.
   *
   * @throws IllegalArgumentException if {@code treeSize} is negative or greater than {@link #size()}
   */
  public List<byte[]> leftFrontier(long treeSize) {
    long n = size;
    if (treeSize < 0 || treeSize > n) {
      throw new IllegalArgumentException("tree size " + treeSize + " outside [0, " + n + "]");
    }
    List<byte[]> out = new ArrayList<>(Long.bitCount(treeSize));
    long start = 0;
    for (int k = 62; k >= 0; k--) {
      if ((treeSize & (1L << k)) != 0) {
        out.add(levels[k].get(start >>> k));
        start += 1L << k;
      }
    }
    return out;
  }

  /**
   * MTH(D[start:end]) for a node of the RFC's tree: {@code start} is a multiple of a power of
   * two at least {@code end - start}, so the left part of every split is a stored complete
   * subtree and only the right edge recurses.
   */
  private byte[] subtreeHash(long start, long end) {
    long len = end - start;
    if (Long.bitCount(len) == 1) {
      int k = Long.numberOfTrailingZeros(len);
      if ((start & (len - 1)) != 0) {
        throw new IllegalStateException("unaligned subtree [" + start + ", " + end + ")");
      }
      return levels[k].get(start >>> k);
    }
    long k = largestPowerOfTwoBelow(len);
    return nodeHash(subtreeHash(start, start + k), subtreeHash(start + k, end));
  }

  /** The largest power of two strictly less than {@code n}, for {@code n >= 2}. */
  static long largestPowerOfTwoBelow(long n) {
    return Long.highestOneBit(n - 1);
  }

  // ---------------------------------------------------------------- helpers

  private static void checkHash(byte[] hash, String name) {
    if (hash == null || hash.length != HASH_LENGTH) {
      throw new IllegalArgumentException(
          name + " must be " + HASH_LENGTH + " bytes, got " + (hash == null ? "null" : hash.length));
    }
  }

  private static void digestInto(MessageDigest md, byte[] buf) {
    try {
      md.digest(buf, 0, HASH_LENGTH);
    } catch (java.security.DigestException e) {
      throw new IllegalStateException(e);
    }
  }

  static MessageDigest sha256() {
    MessageDigest md = SHA256.get();
    md.reset();
    return md;
  }

  private static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /** One level of complete subtree hashes, in chunks of {@link #CHUNK_HASHES} hashes. */
  private static final class Level {
    // Replaced (never mutated in place once shared) by the writer when it grows.
    private volatile byte[][] chunks = new byte[0][];

    void set(long index, byte[] src, int srcOffset) {
      int c = (int) (index >>> CHUNK_BITS);
      byte[][] cs = chunks;
      if (c >= cs.length || cs[c] == null) {
        // Copy rather than fill in place, so that a published array never changes.
        byte[][] grown = Arrays.copyOf(cs, Math.max(c + 1, cs.length));
        grown[c] = new byte[CHUNK_HASHES * HASH_LENGTH];
        chunks = grown;
        cs = grown;
      }
      System.arraycopy(src, srcOffset, cs[c], (int) (index & CHUNK_MASK) * HASH_LENGTH, HASH_LENGTH);
    }

    byte[] get(long index) {
      byte[] chunk = chunks[(int) (index >>> CHUNK_BITS)];
      int off = (int) (index & CHUNK_MASK) * HASH_LENGTH;
      return Arrays.copyOfRange(chunk, off, off + HASH_LENGTH);
    }

    void feed(MessageDigest md, long index) {
      byte[] chunk = chunks[(int) (index >>> CHUNK_BITS)];
      md.update(chunk, (int) (index & CHUNK_MASK) * HASH_LENGTH, HASH_LENGTH);
    }
  }
}
