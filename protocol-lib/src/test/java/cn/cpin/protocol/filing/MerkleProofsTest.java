package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link MerkleProofs}: honest proofs verify, and every alteration is refused. */
class MerkleProofsTest {

  private static final int MAX = 40;

  private final List<byte[]> d = MerkleTreeTest.leaves(Math.max(MAX + 4, 40));
  private final MerkleTree tree = MerkleTreeTest.treeOf(d);
  private final byte[][] roots = new byte[MAX + 5][];

  {
    for (int n = 0; n < roots.length; n++) {
      roots[n] = tree.rootHash(n);
    }
  }

  private static byte[] flip(byte[] b, int i) {
    byte[] c = b.clone();
    c[i] ^= 0x01;
    return c;
  }

  private static List<byte[]> replace(List<byte[]> proof, int index, byte[] element) {
    List<byte[]> c = new ArrayList<>(proof);
    c.set(index, element);
    return c;
  }

  // ------------------------------------------------------------------ inclusion

  @Test
  void everyInclusionProofVerifiesAndEveryAlterationFails() {
    for (int n = 1; n <= MAX; n++) {
      for (int m = 0; m < n; m++) {
        List<byte[]> proof = tree.inclusionProof(m, n);
        byte[] leaf = d.get(m);
        byte[] root = roots[n];
        String at = "leaf " + m + " in " + n;
        assertThat(MerkleProofs.verifyInclusion(leaf, m, n, proof, root)).as(at).isTrue();

        // Any byte of any proof element, of the root, of the leaf hash.
        for (int e = 0; e < proof.size(); e++) {
          for (int i = 0; i < 32; i++) {
            assertThat(MerkleProofs.verifyInclusion(leaf, m, n, replace(proof, e, flip(proof.get(e), i)), root))
                .as("%s, element %d byte %d flipped", at, e, i)
                .isFalse();
          }
        }
        for (int i = 0; i < 32; i++) {
          assertThat(MerkleProofs.verifyInclusion(leaf, m, n, proof, flip(root, i))).as(at).isFalse();
          assertThat(MerkleProofs.verifyInclusion(flip(leaf, i), m, n, proof, root)).as(at).isFalse();
        }
        // Any other index in the same tree; any other size (with that size's root).
        for (int other = -1; other <= n; other++) {
          if (other != m) {
            assertThat(MerkleProofs.verifyInclusion(leaf, other, n, proof, root))
                .as("%s claimed at index %d", at, other)
                .isFalse();
          }
        }
        for (int size = 0; size <= MAX + 4; size++) {
          if (size != n) {
            assertThat(MerkleProofs.verifyInclusion(leaf, m, size, proof, roots[size]))
                .as("%s claimed in size %d", at, size)
                .isFalse();
          }
        }
        // Another leaf; a shorter, longer or reordered path.
        if (n > 1) {
          assertThat(MerkleProofs.verifyInclusion(d.get((m + 1) % n), m, n, proof, root)).as(at).isFalse();
          assertThat(MerkleProofs.verifyInclusion(leaf, m, n, proof.subList(0, proof.size() - 1), root))
              .as(at)
              .isFalse();
          assertThat(MerkleProofs.verifyInclusion(leaf, m, n, proof.subList(1, proof.size()), root))
              .as(at)
              .isFalse();
        }
        if (proof.size() > 1) {
          List<byte[]> swapped = new ArrayList<>(proof);
          java.util.Collections.swap(swapped, 0, 1);
          assertThat(MerkleProofs.verifyInclusion(leaf, m, n, swapped, root)).as(at).isFalse();
        }
        List<byte[]> longer = new ArrayList<>(proof);
        longer.add(roots[n]);
        assertThat(MerkleProofs.verifyInclusion(leaf, m, n, longer, MerkleTree.nodeHash(root, root)))
            .as(at)
            .isFalse();
        assertThat(MerkleProofs.verifyInclusion(leaf, m, n, longer, root)).as(at).isFalse();
      }
    }
  }

  @Test
  void malformedInclusionInputIsRefusedWithoutThrowing() {
    List<byte[]> proof = tree.inclusionProof(3, 10);
    byte[] leaf = d.get(3);
    byte[] root = roots[10];
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, proof, root)).isTrue();
    assertThat(MerkleProofs.verifyInclusion(null, 3, 10, proof, root)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, null, root)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, proof, null)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, proof, Arrays.copyOf(root, 31))).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, replace(proof, 0, null), root)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, replace(proof, 0, Arrays.copyOf(proof.get(0), 33)), root))
        .isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, -1, 10, proof, root)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, -10, proof, root)).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 0, 0, List.of(), MerkleTree.emptyRootHash())).isFalse();
    assertThat(MerkleProofs.verifyInclusion(leaf, 3, 10, List.of(), root)).isFalse();
    // The single-leaf tree: empty path, root = leaf hash.
    assertThat(MerkleProofs.verifyInclusion(d.get(0), 0, 1, List.of(), roots[1])).isTrue();
  }

  // ------------------------------------------------------------------ consistency

  @Test
  void everyConsistencyProofVerifiesAndEveryAlterationFails() {
    for (int n = 1; n <= MAX; n++) {
      for (int m = 1; m <= n; m++) {
        List<byte[]> proof = tree.consistencyProof(m, n);
        byte[] r1 = roots[m];
        byte[] r2 = roots[n];
        String at = m + " -> " + n;
        assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, proof)).as(at).isTrue();

        for (int e = 0; e < proof.size(); e++) {
          for (int i = 0; i < 32; i++) {
            assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, replace(proof, e, flip(proof.get(e), i))))
                .as("%s, element %d byte %d flipped", at, e, i)
                .isFalse();
          }
        }
        for (int i = 0; i < 32; i++) {
          assertThat(MerkleProofs.verifyConsistency(m, n, flip(r1, i), r2, proof)).as(at).isFalse();
          assertThat(MerkleProofs.verifyConsistency(m, n, r1, flip(r2, i), proof)).as(at).isFalse();
        }
        // Other sizes, each with its own (honest) root. (An empty proof from the empty tree is
        // a true claim: every tree extends it.)
        for (int s = 0; s <= MAX + 4; s++) {
          if (s != m && !(s == 0 && proof.isEmpty())) {
            assertThat(MerkleProofs.verifyConsistency(s, n, roots[s], r2, proof))
                .as("%s claimed from size %d", at, s)
                .isFalse();
          }
          if (s != n) {
            assertThat(MerkleProofs.verifyConsistency(m, s, r1, roots[s], proof))
                .as("%s claimed to size %d", at, s)
                .isFalse();
          }
        }
        // Shorter, longer, reordered proofs.
        if (!proof.isEmpty()) {
          assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, proof.subList(0, proof.size() - 1)))
              .as(at)
              .isFalse();
          assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, proof.subList(1, proof.size())))
              .as(at)
              .isFalse();
        }
        List<byte[]> longer = new ArrayList<>(proof);
        longer.add(r2);
        assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, longer)).as(at).isFalse();
        if (proof.size() > 1) {
          List<byte[]> swapped = new ArrayList<>(proof);
          java.util.Collections.swap(swapped, 0, proof.size() - 1);
          if (!Arrays.equals(swapped.get(0), proof.get(0))) {
            assertThat(MerkleProofs.verifyConsistency(m, n, r1, r2, swapped)).as(at).isFalse();
          }
        }
      }
    }
  }

  @Test
  void consistencyEdgeCases() {
    byte[] r5 = roots[5];
    byte[] r10 = roots[10];
    List<byte[]> proof = tree.consistencyProof(5, 10);
    // Equal sizes: empty proof and equal roots only.
    assertThat(MerkleProofs.verifyConsistency(10, 10, r10, r10, List.of())).isTrue();
    assertThat(MerkleProofs.verifyConsistency(10, 10, r10, r5, List.of())).isFalse();
    assertThat(MerkleProofs.verifyConsistency(10, 10, r10, r10, List.of(r10))).isFalse();
    // Every tree extends the empty tree.
    byte[] empty = MerkleTree.emptyRootHash();
    assertThat(MerkleProofs.verifyConsistency(0, 10, empty, r10, List.of())).isTrue();
    assertThat(MerkleProofs.verifyConsistency(0, 10, r5, r10, List.of())).isFalse();
    assertThat(MerkleProofs.verifyConsistency(0, 10, empty, r10, List.of(r10))).isFalse();
    // Different sizes need a proof.
    assertThat(MerkleProofs.verifyConsistency(5, 10, r5, r10, List.of())).isFalse();
    // Power-of-two first size: the first root is implied, the proof starts above it.
    assertThat(MerkleProofs.verifyConsistency(4, 10, roots[4], r10, tree.consistencyProof(4, 10))).isTrue();
    // Malformed input.
    assertThat(MerkleProofs.verifyConsistency(10, 5, r10, r5, proof)).isFalse();
    assertThat(MerkleProofs.verifyConsistency(-5, 10, r5, r10, proof)).isFalse();
    assertThat(MerkleProofs.verifyConsistency(5, 10, null, r10, proof)).isFalse();
    assertThat(MerkleProofs.verifyConsistency(5, 10, r5, new byte[0], proof)).isFalse();
    assertThat(MerkleProofs.verifyConsistency(5, 10, r5, r10, null)).isFalse();
    assertThat(MerkleProofs.verifyConsistency(5, 10, r5, r10, replace(proof, 0, null))).isFalse();
    assertThat(MerkleProofs.verifyConsistency(5, 10, r5, r10, proof)).isTrue();
  }

  @Test
  void aForkedLogIsNotConsistent() {
    // A log of 40 leaves that differs from the honest one at leaf 7 only: it extends the honest
    // trees of sizes 1..7 and none of the larger ones.
    List<byte[]> forked = new ArrayList<>(d.subList(0, 40));
    forked.set(7, MerkleTree.leafHash(new byte[] {42}));
    MerkleTree fork = MerkleTreeTest.treeOf(forked);
    for (int m = 1; m <= 40; m++) {
      for (int n = Math.max(m, 8); n <= 40; n++) {
        assertThat(MerkleProofs.verifyConsistency(m, n, roots[m], fork.rootHash(n), fork.consistencyProof(m, n)))
            .as("%d -> forked %d", m, n)
            .isEqualTo(m <= 7);
      }
    }
  }
}
