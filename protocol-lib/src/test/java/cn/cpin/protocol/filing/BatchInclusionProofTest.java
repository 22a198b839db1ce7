package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Batch inclusion proofs (IDN-030): the compact range of the first m leaves and the leaves m to
 * n - 1 give the root of the tree of size n, and each batch leaf's audit path and the consistency
 * proof from m to n derived from them are the RFC 9162 ones {@link MerkleTree} computes. Every
 * alteration fails.
 */
class BatchInclusionProofTest {

  private static final int MAX = 70;

  private final List<byte[]> d = MerkleTreeTest.leaves(MAX);
  private final MerkleTree tree = MerkleTreeTest.treeOf(d);

  @Test
  void everyBatchOfEveryTreeUpToSeventyLeavesVerifiesAndYieldsTheRfcAuditPaths() {
    for (int n = 1; n <= MAX; n++) {
      for (int m = 0; m < n; m++) {
        List<byte[]> frontier = tree.leftFrontier(m);
        List<byte[]> batch = d.subList(m, n);
        assertThat(frontier).as("frontier of %d", m).hasSize(Long.bitCount(m));
        assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, batch, n, tree.rootHash(n)))
            .as("batch [%d, %d)", m, n).isTrue();
        if (m > 0) {
          assertThat(MerkleProofs.batchConsistencyProof(m, frontier, batch))
              .as("consistency proof from %d to %d from the batch", m, n)
              .containsExactlyElementsOf(tree.consistencyProof(m, n));
        }
        for (int i = m; i < n; i++) {
          assertThat(MerkleProofs.batchAuditPath(m, frontier, batch, i))
              .as("audit path of %d in %d from the batch [%d, %d)", i, n, m, n)
              .containsExactlyElementsOf(tree.inclusionProof(i, n));
        }
      }
    }
  }

  @Test
  void seededLargeTreesAgreeWithThePerLeafAuditPaths() {
    Random random = new Random(20261126L);
    List<byte[]> leaves = MerkleTreeTest.leaves(5000);
    MerkleTree big = MerkleTreeTest.treeOf(leaves);
    for (int round = 0; round < 60; round++) {
      int n = 1 + random.nextInt(5000);
      // Every third round, m or n a power of two.
      if (round % 3 == 1) {
        n = Integer.highestOneBit(n);
      }
      int m = round % 3 == 2 ? Integer.highestOneBit(Math.max(1, random.nextInt(n)))
          : random.nextInt(n);
      if (m >= n) {
        m = n - 1;
      }
      List<byte[]> frontier = big.leftFrontier(m);
      List<byte[]> batch = leaves.subList(m, n);
      assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, batch, n, big.rootHash(n)))
          .as("batch [%d, %d)", m, n).isTrue();
      if (m > 0) {
        assertThat(MerkleProofs.batchConsistencyProof(m, frontier, batch))
            .containsExactlyElementsOf(big.consistencyProof(m, n));
      }
      for (int probe = 0; probe < 5; probe++) {
        int i = m + random.nextInt(n - m);
        assertThat(MerkleProofs.batchAuditPath(m, frontier, batch, i))
            .as("audit path of %d in %d from the batch [%d, %d)", i, n, m, n)
            .containsExactlyElementsOf(big.inclusionProof(i, n));
        assertThat(MerkleProofs.verifyInclusion(leaves.get(i), i, n,
            MerkleProofs.batchAuditPath(m, frontier, batch, i), big.rootHash(n))).isTrue();
      }
    }
  }

  @Test
  void aTamperedLeafWrongFirstIndexWrongFrontierOrOtherHeadFails() {
    Random random = new Random(7L);
    for (int round = 0; round < 400; round++) {
      int n = 2 + random.nextInt(MAX - 1);
      int m = random.nextInt(n);
      List<byte[]> frontier = tree.leftFrontier(m);
      List<byte[]> batch = new ArrayList<>(d.subList(m, n));
      byte[] root = tree.rootHash(n);
      String at = "batch [" + m + ", " + n + ")";

      // A leaf altered in one byte.
      int leaf = random.nextInt(batch.size());
      List<byte[]> tampered = new ArrayList<>(batch);
      tampered.set(leaf, flip(batch.get(leaf), random.nextInt(32)));
      assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, tampered, n, root))
          .as("%s, leaf %d altered", at, m + leaf).isFalse();

      // Two leaves swapped, a leaf dropped, a leaf too many.
      if (batch.size() >= 2) {
        List<byte[]> swapped = new ArrayList<>(batch);
        swapped.set(0, batch.get(1));
        swapped.set(1, batch.get(0));
        assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, swapped, n, root))
            .as("%s, first two leaves swapped", at).isFalse();
      }
      assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, batch.subList(1, batch.size()),
          n, root)).as("%s, a leaf dropped", at).isFalse();

      // Another first leaf index, with the frontier of that index or the right one.
      for (int other : new int[] {m - 1, m + 1}) {
        if (other >= 0 && other < n) {
          assertThat(MerkleProofs.verifyBatchInclusion(other, frontier, batch, n, root))
              .as("%s claimed to start at %d", at, other).isFalse();
          assertThat(MerkleProofs.verifyBatchInclusion(other, tree.leftFrontier(other), batch, n,
              root)).as("%s with the frontier of %d", at, other).isFalse();
        }
      }

      // A frontier hash altered, or one left out.
      if (!frontier.isEmpty()) {
        int f = random.nextInt(frontier.size());
        List<byte[]> wrong = new ArrayList<>(frontier);
        wrong.set(f, flip(frontier.get(f), random.nextInt(32)));
        assertThat(MerkleProofs.verifyBatchInclusion(m, wrong, batch, n, root))
            .as("%s, frontier hash %d altered", at, f).isFalse();
        assertThat(MerkleProofs.verifyBatchInclusion(m, frontier.subList(1, frontier.size()),
            batch, n, root)).as("%s, frontier hash left out", at).isFalse();
      }

      // The head of another size, with the batch's or the other size's root.
      int otherSize = n < MAX ? n + 1 : n - 1;
      if (otherSize > m) {
        assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, batch, otherSize,
            tree.rootHash(otherSize))).as("%s against the head of %d", at, otherSize).isFalse();
      }
      assertThat(MerkleProofs.verifyBatchInclusion(m, frontier, batch, n, tree.rootHash(n - 1)))
          .as("%s against the root of %d", at, n - 1).isFalse();
    }
  }

  @Test
  void malformedBatchInputIsRefusedWithoutThrowing() {
    List<byte[]> frontier = tree.leftFrontier(5);
    List<byte[]> batch = d.subList(5, 9);
    byte[] root = tree.rootHash(9);
    assertThat(MerkleProofs.verifyBatchInclusion(5, frontier, batch, 9, root)).isTrue();
    assertThat(MerkleProofs.verifyBatchInclusion(5, frontier, List.of(), 5, tree.rootHash(5)))
        .as("an empty batch proves nothing").isFalse();
    assertThat(MerkleProofs.verifyBatchInclusion(-1, frontier, batch, 9, root)).isFalse();
    assertThat(MerkleProofs.verifyBatchInclusion(5, null, batch, 9, root)).isFalse();
    assertThat(MerkleProofs.verifyBatchInclusion(5, frontier, null, 9, root)).isFalse();
    assertThat(MerkleProofs.verifyBatchInclusion(5, frontier, batch, 9, new byte[31])).isFalse();
    List<byte[]> shortLeaf = new ArrayList<>(batch);
    shortLeaf.set(2, new byte[31]);
    assertThat(MerkleProofs.verifyBatchInclusion(5, frontier, shortLeaf, 9, root)).isFalse();
    assertThatThrownBy(() -> MerkleProofs.batchAuditPath(5, frontier, batch, 4))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> MerkleProofs.batchAuditPath(5, frontier, batch, 9))
        .isInstanceOf(IllegalArgumentException.class);
  }

  private static byte[] flip(byte[] b, int i) {
    byte[] c = b.clone();
    c[i] ^= 0x01;
    return c;
  }
}
