package cn.cpin.protocol.filing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.IdentifierKind;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.protocol.filing.TreeHeadVerificationException.Reason;
import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** {@link TreeHeadVerifier}: the client's IDN-013 / IDN-019 checks of the national log. */
class TreeHeadVerifierTest {

  private static final long T0 = 1_704_067_200_000L;

  private final KeyPair logKeys = TreeHeadSignerTest.ecKeyPair("secp256r1");
  private final TreeHeadSigner signer = new TreeHeadSigner(logKeys);
  private final List<FilingEntry> entries = new ArrayList<>();
  private final MerkleTree log = new MerkleTree();

  private static FilingEntry entry(int i) {
    String id = "86.44.C/R-" + Integer.toString(i + 1, 36).toUpperCase() + "00";
    Timestamp issued = Timestamp.newBuilder().setSeconds(1_704_067_200L + i).setNanos(i * 1000).build();
    byte[] digest =
        FilingEncoding.recordDigest(
            id, IdentifierKind.IDENTIFIER_KIND_RESOURCE_VALUE, "86.44.C", "86.44.C/P-1AB", issued, Map.of("n", "" + i));
    return FilingEntry.newBuilder()
        .setIdentifier(id)
        .setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
        .setOwnerId("86.44.C/P-1AB")
        .setIssuedAt(issued)
        .setRecordDigest(ByteString.copyFrom(digest))
        .build();
  }

  /** Files entries until the log has {@code size} leaves and signs a head at {@code millis}. */
  private SignedTreeHead growTo(int size, long millis) {
    while (log.size() < size) {
      FilingEntry e = entry(entries.size());
      entries.add(e);
      log.append(FilingEncoding.leafHash(e));
    }
    return signer.sign(size, log.rootHash(size), millis);
  }

  private static void assertRefused(ThrowingCallable call, Reason reason) {
    assertThatThrownBy(call)
        .isInstanceOf(IllegalStateException.class)
        .isInstanceOfSatisfying(
            TreeHeadVerificationException.class, e -> assertThat(e.reason()).isEqualTo(reason));
  }

  @Test
  void acceptsAnExtendingHeadWithItsConsistencyProof() {
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), null);
    assertThat(v.trusted()).isEmpty();
    SignedTreeHead h5 = growTo(5, T0);
    v.accept(h5, List.of());
    assertThat(v.trusted()).contains(h5);

    SignedTreeHead h12 = growTo(12, T0 + 1000);
    v.accept(h12, log.consistencyProof(5, 12));
    assertThat(v.trusted()).contains(h12);

    SignedTreeHead h12later = signer.sign(12, log.rootHash(12), T0 + 2000);
    v.accept(h12later, null); // same tree, later head
    assertThat(v.trusted()).contains(h12later);
    v.accept(h12later, List.of()); // the same head again

    SignedTreeHead h64 = growTo(64, T0 + 2000); // an equal timestamp is not a decrease
    v.accept(h64, log.consistencyProof(12, 64));
    assertThat(v.trusted()).contains(h64);
  }

  @Test
  void startsFromAPersistedHeadIncludingTheEmptyTree() {
    SignedTreeHead empty = signer.sign(0, MerkleTree.emptyRootHash(), T0);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), empty);
    assertThat(v.trusted()).contains(empty);
    SignedTreeHead h3 = growTo(3, T0 + 1);
    v.accept(h3, List.of());
    assertThat(v.trusted()).contains(h3);

    SignedTreeHead forged = h3.toBuilder().setTreeSize(4).build();
    assertRefused(() -> new TreeHeadVerifier(logKeys.getPublic(), forged), Reason.BAD_SIGNATURE);
  }

  @Test
  void refusesASmallerTree() {
    SignedTreeHead h5 = growTo(5, T0);
    SignedTreeHead h9 = growTo(9, T0 + 1);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h9);
    assertRefused(() -> v.accept(h5, log.consistencyProof(5, 9)), Reason.SMALLER_TREE);
    SignedTreeHead h5later = signer.sign(5, log.rootHash(5), T0 + 5);
    assertRefused(() -> v.accept(h5later, List.of()), Reason.SMALLER_TREE);
    assertThat(v.trusted()).contains(h9);
  }

  @Test
  void refusesTwoRootsForOneSize() {
    SignedTreeHead h9 = growTo(9, T0);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h9);
    byte[] otherRoot = log.rootHash(8);
    SignedTreeHead equivocation = signer.sign(9, otherRoot, T0 + 1);
    assertRefused(() -> v.accept(equivocation, List.of()), Reason.SAME_SIZE_DIFFERENT_ROOT);
    assertThat(v.trusted()).contains(h9);
  }

  @Test
  void refusesADecreasingTimestamp() {
    SignedTreeHead h5 = growTo(5, T0 + 10);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h5);
    SignedTreeHead h9early = growTo(9, T0 + 9);
    assertRefused(() -> v.accept(h9early, log.consistencyProof(5, 9)), Reason.TIMESTAMP_DECREASED);
    SignedTreeHead h5early = signer.sign(5, log.rootHash(5), T0 + 9);
    assertRefused(() -> v.accept(h5early, List.of()), Reason.TIMESTAMP_DECREASED);
    assertThat(v.trusted()).contains(h5);
  }

  @Test
  void refusesAHeadNotSignedByTheLogKey() {
    SignedTreeHead h5 = growTo(5, T0);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h5);
    SignedTreeHead h9 = growTo(9, T0 + 1);
    List<byte[]> proof = log.consistencyProof(5, 9);
    SignedTreeHead byAnotherKey =
        new TreeHeadSigner(TreeHeadSignerTest.ecKeyPair("secp256r1")).sign(9, log.rootHash(9), T0 + 1);
    assertRefused(() -> v.accept(byAnotherKey, proof), Reason.BAD_SIGNATURE);
    assertRefused(() -> v.accept(h9.toBuilder().setTreeSize(10).build(), proof), Reason.BAD_SIGNATURE);
    assertRefused(
        () -> v.accept(h9.toBuilder().setTimestamp(TreeHeadSigner.toTimestamp(T0 + 2)).build(), proof),
        Reason.BAD_SIGNATURE);
    v.accept(h9, proof);
    assertThat(v.trusted()).contains(h9);
  }

  @Test
  void refusesALargerHeadWithoutAValidConsistencyProof() {
    SignedTreeHead h6 = growTo(6, T0);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h6);
    SignedTreeHead h20 = growTo(20, T0 + 1);
    List<byte[]> proof = log.consistencyProof(6, 20);
    assertRefused(() -> v.accept(h20, List.of()), Reason.INCONSISTENT);
    assertRefused(() -> v.accept(h20, null), Reason.INCONSISTENT);
    assertRefused(() -> v.accept(h20, log.consistencyProof(5, 20)), Reason.INCONSISTENT);
    List<byte[]> tampered = new ArrayList<>(proof);
    byte[] first = tampered.get(0).clone();
    first[31] ^= 1;
    tampered.set(0, first);
    assertRefused(() -> v.accept(h20, tampered), Reason.INCONSISTENT);

    // A log that rewrote leaf 2 and signed the result: no proof makes it extend h6.
    MerkleTree fork = new MerkleTree();
    for (int i = 0; i < 20; i++) {
      fork.append(i == 2 ? MerkleTree.leafHash(new byte[] {9}) : log.leafHashAt(i));
    }
    SignedTreeHead forked = signer.sign(20, fork.rootHash(), T0 + 1);
    assertRefused(() -> v.accept(forked, fork.consistencyProof(6, 20)), Reason.INCONSISTENT);
    assertRefused(() -> v.accept(forked, proof), Reason.INCONSISTENT);

    assertThat(v.trusted()).contains(h6);
    v.accept(h20, proof);
    assertThat(v.trusted()).contains(h20);
  }

  @Test
  void checksInclusionOfEveryFiledEntry() {
    SignedTreeHead h7 = growTo(7, T0);
    SignedTreeHead h13 = growTo(13, T0 + 1);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h7);
    v.accept(h13, log.consistencyProof(7, 13));
    for (int i = 0; i < 13; i++) {
      v.checkInclusion(entries.get(i), i, log.inclusionProof(i, 13), h13);
      if (i < 7) {
        v.checkInclusion(entries.get(i), i, log.inclusionProof(i, 7), h7); // an older, verified head
      }
    }
  }

  @Test
  void refusesInclusionThatDoesNotHold() {
    SignedTreeHead h13 = growTo(13, T0);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h13);
    FilingEntry e = entries.get(4);
    List<byte[]> path = log.inclusionProof(4, 13);
    v.checkInclusion(e, 4, path, h13);

    assertRefused(() -> v.checkInclusion(e, 5, path, h13), Reason.NOT_INCLUDED);
    assertRefused(() -> v.checkInclusion(entries.get(5), 4, path, h13), Reason.NOT_INCLUDED);
    assertRefused(
        () -> v.checkInclusion(e.toBuilder().setOwnerId("86.44.C/P-2AB").build(), 4, path, h13),
        Reason.NOT_INCLUDED);
    assertRefused(
        () -> v.checkInclusion(e.toBuilder().setIssuedAt(e.getIssuedAt().toBuilder().setNanos(1)).build(), 4, path, h13),
        Reason.NOT_INCLUDED);
    List<byte[]> tampered = new ArrayList<>(path);
    byte[] x = tampered.get(1).clone();
    x[0] ^= 1;
    tampered.set(1, x);
    assertRefused(() -> v.checkInclusion(e, 4, tampered, h13), Reason.NOT_INCLUDED);
    assertRefused(() -> v.checkInclusion(e, 4, List.of(), h13), Reason.NOT_INCLUDED);
    assertRefused(() -> v.checkInclusion(e, 4, log.inclusionProof(4, 12), h13), Reason.NOT_INCLUDED);

    // Heads that were not accepted, are not the log's, or equivocate.
    SignedTreeHead h20 = growTo(20, T0 + 1);
    assertRefused(() -> v.checkInclusion(e, 4, log.inclusionProof(4, 20), h20), Reason.NOT_ACCEPTED);
    SignedTreeHead other13 = signer.sign(13, log.rootHash(12), T0 + 1);
    assertRefused(() -> v.checkInclusion(e, 4, path, other13), Reason.SAME_SIZE_DIFFERENT_ROOT);
    assertRefused(
        () -> v.checkInclusion(e, 4, path, h13.toBuilder().setSignature(ByteString.EMPTY).build()),
        Reason.BAD_SIGNATURE);
    assertRefused(
        () -> new TreeHeadVerifier(logKeys.getPublic(), null).checkInclusion(e, 4, path, h13),
        Reason.NOT_ACCEPTED);
  }

  @Test
  void checksThatAnOlderHeadIsAPrefixOfTheTrustedOne() {
    SignedTreeHead h10 = growTo(10, T0);
    SignedTreeHead h25 = growTo(25, T0 + 1);
    TreeHeadVerifier v = new TreeHeadVerifier(logKeys.getPublic(), h25);
    v.checkPrefix(h10, log.consistencyProof(10, 25));
    v.checkPrefix(h25, List.of());
    assertRefused(() -> v.checkPrefix(h10, log.consistencyProof(11, 25)), Reason.INCONSISTENT);
    SignedTreeHead bogus10 = signer.sign(10, log.rootHash(9), T0);
    assertRefused(() -> v.checkPrefix(bogus10, log.consistencyProof(10, 25)), Reason.INCONSISTENT);
    SignedTreeHead h30 = growTo(30, T0 + 2);
    assertRefused(() -> v.checkPrefix(h30, List.of()), Reason.NOT_ACCEPTED);
    assertThat(v.trusted()).contains(h25);
  }
}
