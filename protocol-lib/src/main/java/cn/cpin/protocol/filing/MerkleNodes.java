package cn.cpin.protocol.filing;

import java.util.List;

/**
 * The RFC 9162 §2.1.3.1 and §2.1.4.1 proof recursions over a tree known by its node hashes: the
 * whole log ({@link MerkleTree}) or a batch proof's frontier and leaves ({@link MerkleProofs}).
 */
interface MerkleNodes {

  /** MTH(D[start:end]) for a node of the RFC's left-balanced tree. */
  byte[] hash(long start, long end);

  /** PATH(m, D[start:end]) of RFC 9162 §2.1.3.1, with m absolute, appended to {@code out}. */
  default void path(long m, long start, long end, List<byte[]> out) {
    if (end - start == 1) {
      return;
    }
    long k = MerkleTree.largestPowerOfTwoBelow(end - start);
    if (m < start + k) {
      path(m, start, start + k, out);
      out.add(hash(start + k, end));
    } else {
      path(m, start + k, end, out);
      out.add(hash(start, start + k));
    }
  }

  /** SUBPROOF(m, D[start:end], b) of RFC 9162 §2.1.4.1, with m relative to start. */
  default void subproof(long m, long start, long end, boolean b, List<byte[]> out) {
    if (m == end - start) {
      if (!b) {
        out.add(hash(start, end));
      }
      return;
    }
    long k = MerkleTree.largestPowerOfTwoBelow(end - start);
    if (m <= k) {
      subproof(m, start, start + k, b, out);
      out.add(hash(start + k, end));
    } else {
      subproof(m - k, start + k, end, false, out);
      out.add(hash(start, start + k));
    }
  }
}
