package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** {@link MerkleTree} against RFC 9162 §2.1's recursive definitions and the RFC 6962 vectors. */
class MerkleTreeTest {

  private static final HexFormat HEX = HexFormat.of();

  // ------------------------------------------------------------------ naive RFC 9162 reference

  /**
   * RFC 9162 §2.1 written down literally, over a list of leaf hashes (so MTH of one element is
   * that element, which is the leaf hash of the RFC's single input).
   */
  static final class Naive {
    static byte[] sha256(byte[]... parts) {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (byte[] p : parts) {
          md.update(p);
        }
        return md.digest();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }

    static byte[] node(byte[] l, byte[] r) {
      return sha256(new byte[] {1}, l, r);
    }

    /** k: the largest power of two smaller than n (n > 1). */
    static int split(int n) {
      int k = 1;
      while (k * 2 < n) {
        k *= 2;
      }
      return k;
    }

    /** MTH(D[n]). */
    static byte[] mth(List<byte[]> d) {
      int n = d.size();
      if (n == 0) {
        return sha256();
      }
      if (n == 1) {
        return d.get(0);
      }
      int k = split(n);
      return node(mth(d.subList(0, k)), mth(d.subList(k, n)));
    }

    /** PATH(m, D[n]). */
    static List<byte[]> path(int m, List<byte[]> d) {
      int n = d.size();
      List<byte[]> out = new ArrayList<>();
      if (n == 1) {
        return out;
      }
      int k = split(n);
      if (m < k) {
        out.addAll(path(m, d.subList(0, k)));
        out.add(mth(d.subList(k, n)));
      } else {
        out.addAll(path(m - k, d.subList(k, n)));
        out.add(mth(d.subList(0, k)));
      }
      return out;
    }

    /** PROOF(m, D[n]). */
    static List<byte[]> proof(int m, List<byte[]> d) {
      return subproof(m, d, true);
    }

    static List<byte[]> subproof(int m, List<byte[]> d, boolean b) {
      int n = d.size();
      List<byte[]> out = new ArrayList<>();
      if (m == n) {
        if (!b) {
          out.add(mth(d));
        }
        return out;
      }
      int k = split(n);
      if (m <= k) {
        out.addAll(subproof(m, d.subList(0, k), b));
        out.add(mth(d.subList(k, n)));
      } else {
        out.addAll(subproof(m - k, d.subList(k, n), false));
        out.add(mth(d.subList(0, k)));
      }
      return out;
    }
  }

  static byte[] leaf(int i) {
    return MerkleTree.leafHash(ByteBuffer.allocate(4).putInt(i).array());
  }

  static List<byte[]> leaves(int n) {
    List<byte[]> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(leaf(i));
    }
    return out;
  }

  static MerkleTree treeOf(List<byte[]> leaves) {
    MerkleTree t = new MerkleTree();
    for (byte[] l : leaves) {
      t.append(l);
    }
    return t;
  }

  static List<String> hex(List<byte[]> hashes) {
    List<String> out = new ArrayList<>();
    for (byte[] h : hashes) {
      out.add(HEX.formatHex(h));
    }
    return out;
  }

  // ------------------------------------------------------------------ basics and known answers

  @Test
  void emptyTreeRootIsSha256OfTheEmptyString() {
    MerkleTree t = new MerkleTree();
    assertThat(t.size()).isZero();
    String empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    assertThat(HEX.formatHex(t.rootHash())).isEqualTo(empty);
    assertThat(HEX.formatHex(t.rootHash(0))).isEqualTo(empty);
    assertThat(HEX.formatHex(MerkleTree.emptyRootHash())).isEqualTo(empty);
  }

  @Test
  void leafAndNodeHashesAreDomainSeparated() {
    byte[] data = {5, 6, 7};
    assertThat(MerkleTree.leafHash(data)).isEqualTo(Naive.sha256(new byte[] {0}, data));
    byte[] l = leaf(1);
    byte[] r = leaf(2);
    assertThat(MerkleTree.nodeHash(l, r)).isEqualTo(Naive.sha256(new byte[] {1}, l, r));
    assertThatThrownBy(() -> MerkleTree.nodeHash(new byte[31], r))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // RFC 6962 reference vectors (as in the Certificate Transparency and transparency-dev/merkle
  // test suites): the eight leaves and the roots of sizes 0..8.
  private static final String[] REF_LEAVES = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"
  };
  private static final String[] REF_ROOTS = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };

  static MerkleTree referenceTree() {
    MerkleTree t = new MerkleTree();
    for (String l : REF_LEAVES) {
      t.append(MerkleTree.leafHash(HEX.parseHex(l)));
    }
    return t;
  }

  @Test
  void rfc6962ReferenceRoots() {
    MerkleTree t = referenceTree();
    for (int n = 0; n <= 8; n++) {
      assertThat(HEX.formatHex(t.rootHash(n))).as("size %d", n).isEqualTo(REF_ROOTS[n]);
    }
  }

  @Test
  void rfc6962ReferenceProofs() {
    MerkleTree t = referenceTree();
    assertThat(hex(t.inclusionProof(0, 8)))
        .containsExactly(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
    assertThat(hex(t.inclusionProof(5, 8)))
        .containsExactly(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
    assertThat(hex(t.consistencyProof(2, 8)))
        .containsExactly(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4");
    assertThat(hex(t.consistencyProof(6, 8)))
        .containsExactly(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7");
    assertThat(hex(t.consistencyProof(2, 5)))
        .containsExactly(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b");
  }

  // ------------------------------------------------------------------ against the naive reference

  @Test
  void matchesTheRecursiveDefinitionsForEverySizeUpTo130() {
    List<byte[]> d = leaves(130);
    MerkleTree t = new MerkleTree();
    for (int n = 0; n <= 130; n++) {
      if (n > 0) {
        assertThat(t.append(d.get(n - 1))).isEqualTo(n - 1);
      }
      assertThat(t.size()).isEqualTo(n);
      byte[] root = Naive.mth(d.subList(0, n));
      assertThat(t.rootHash()).as("root of size %d", n).isEqualTo(root);
    }
    for (int n = 0; n <= 130; n++) {
      List<byte[]> dn = d.subList(0, n);
      byte[] root = Naive.mth(dn);
      assertThat(t.rootHash(n)).as("root of size %d", n).isEqualTo(root);
      for (int m = 0; m < n; m++) {
        List<byte[]> path = t.inclusionProof(m, n);
        assertThat(hex(path)).as("PATH(%d, D[%d])", m, n).isEqualTo(hex(Naive.path(m, dn)));
        assertThat(MerkleProofs.verifyInclusion(d.get(m), m, n, path, root)).isTrue();
      }
      for (int m = 1; m <= n; m++) {
        List<byte[]> proof = t.consistencyProof(m, n);
        assertThat(hex(proof)).as("PROOF(%d, D[%d])", m, n).isEqualTo(hex(Naive.proof(m, dn)));
        assertThat(MerkleProofs.verifyConsistency(m, n, Naive.mth(d.subList(0, m)), root, proof))
            .as("consistency %d -> %d", m, n)
            .isTrue();
      }
    }
  }

  @Test
  void matchesTheRecursiveDefinitionsForRandomPairsUpTo100000Leaves() {
    int max = 100_000;
    List<byte[]> d = leaves(max);
    MerkleTree t = treeOf(d);
    SplittableRandom rnd = new SplittableRandom(20240917L);
    // Sizes at and around chunk (16384 hashes) and power-of-two boundaries, then random ones.
    List<Integer> sizes =
        new ArrayList<>(List.of(16383, 16384, 16385, 32768, 32769, 65535, 65536, 65537, max));
    while (sizes.size() < 24) {
      sizes.add(rnd.nextInt(1, max + 1));
    }
    for (int n : sizes) {
      List<byte[]> dn = d.subList(0, n);
      byte[] root = Naive.mth(dn);
      assertThat(t.rootHash(n)).as("root of size %d", n).isEqualTo(root);

      int m = rnd.nextInt(n);
      assertThat(hex(t.inclusionProof(m, n))).as("PATH(%d, D[%d])", m, n).isEqualTo(hex(Naive.path(m, dn)));

      int first = rnd.nextInt(1, n + 1);
      assertThat(hex(t.consistencyProof(first, n)))
          .as("PROOF(%d, D[%d])", first, n)
          .isEqualTo(hex(Naive.proof(first, dn)));
    }
    // Many more random pairs, checked by verification (cheap) rather than the naive recursion.
    byte[][] roots = new byte[max + 1][];
    for (int i = 0; i < 2000; i++) {
      int n = rnd.nextInt(1, max + 1);
      int m = rnd.nextInt(n);
      int first = rnd.nextInt(1, n + 1);
      byte[] root = roots[n] != null ? roots[n] : (roots[n] = t.rootHash(n));
      byte[] firstRoot = roots[first] != null ? roots[first] : (roots[first] = t.rootHash(first));
      assertThat(MerkleProofs.verifyInclusion(d.get(m), m, n, t.inclusionProof(m, n), root))
          .as("inclusion %d in %d", m, n)
          .isTrue();
      assertThat(MerkleProofs.verifyConsistency(first, n, firstRoot, root, t.consistencyProof(first, n)))
          .as("consistency %d -> %d", first, n)
          .isTrue();
    }
  }

  @Test
  void proofsHaveLogarithmicLength() {
    MerkleTree t = treeOf(leaves(1000));
    assertThat(t.inclusionProof(999, 1000)).hasSizeLessThanOrEqualTo(10);
    assertThat(t.consistencyProof(999, 1000)).hasSizeLessThanOrEqualTo(20);
    assertThat(t.consistencyProof(1000, 1000)).isEmpty();
    assertThat(t.inclusionProof(0, 1)).isEmpty();
  }

  @Test
  void leafHashesAreKept() {
    List<byte[]> d = leaves(40_000);
    MerkleTree t = treeOf(d);
    for (int i : new int[] {0, 1, 16383, 16384, 39_999}) {
      assertThat(t.leafHashAt(i)).isEqualTo(d.get(i));
    }
    assertThatThrownBy(() -> t.leafHashAt(40_000)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void refusesArgumentsOutsideTheTree() {
    MerkleTree t = treeOf(leaves(10));
    assertThatThrownBy(() -> t.append(new byte[31])).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.append(null)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.rootHash(11)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.rootHash(-1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.inclusionProof(10, 10)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.inclusionProof(0, 11)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.inclusionProof(-1, 5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.inclusionProof(0, 0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.consistencyProof(0, 5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.consistencyProof(6, 5)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> t.consistencyProof(5, 11)).isInstanceOf(IllegalArgumentException.class);
    assertThat(t.size()).isEqualTo(10);
  }

  @Test
  void appendCopiesTheLeafHash() {
    byte[] h = leaf(7);
    MerkleTree t = new MerkleTree();
    t.append(h);
    byte[] before = t.rootHash();
    h[0] ^= 1;
    assertThat(t.rootHash()).isEqualTo(before);
    t.rootHash()[0] ^= 1; // returned arrays are copies too
    assertThat(t.rootHash()).isEqualTo(before);
  }

  @Test
  void readersRunningBesideTheWriterSeeConsistentPrefixes() throws Exception {
    int n = 30_000;
    List<byte[]> d = leaves(n);
    MerkleTree reference = treeOf(d);
    byte[][] roots = new byte[n + 1][];
    for (int i = 0; i <= n; i++) {
      roots[i] = reference.rootHash(i);
    }
    MerkleTree t = new MerkleTree();
    AtomicBoolean done = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<Integer>> readers = new ArrayList<>();
      for (int r = 0; r < 3; r++) {
        long seed = r;
        readers.add(
            pool.submit(
                () -> {
                  SplittableRandom rnd = new SplittableRandom(seed);
                  int checks = 0;
                  while (!done.get() || checks == 0) {
                    int size = (int) t.size();
                    assertThat(t.rootHash(size)).isEqualTo(roots[size]);
                    if (size > 0) {
                      int m = rnd.nextInt(size);
                      assertThat(
                              MerkleProofs.verifyInclusion(
                                  d.get(m), m, size, t.inclusionProof(m, size), roots[size]))
                          .isTrue();
                      int first = rnd.nextInt(1, size + 1);
                      assertThat(
                              MerkleProofs.verifyConsistency(
                                  first, size, roots[first], roots[size], t.consistencyProof(first, size)))
                          .isTrue();
                    }
                    checks++;
                  }
                  return checks;
                }));
      }
      for (byte[] h : d) {
        t.append(h);
      }
      done.set(true);
      for (Future<Integer> f : readers) {
        assertThat(f.get(60, TimeUnit.SECONDS)).isPositive();
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(t.rootHash()).isEqualTo(roots[n]);
  }
}
