package cn.cpin.protocol.filing;

import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.SignedTreeHead;
import cn.cpin.protocol.filing.TreeHeadVerificationException.Reason;
import java.security.PublicKey;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Client-side view of the national filing log (IDN-013, IDN-019): remembers the largest tree head
 * verified so far and accepts a new one only if it is signed by the log key and extends the
 * remembered one.
 *
 * <p>A typical receipt check: {@link #accept} the receipt's tree head with a consistency proof
 * from {@link #trusted()} (from {@code GetConsistencyProof}), then {@link #checkInclusion} the
 * entry against that head. Failures throw {@link TreeHeadVerificationException}, an {@link
 * IllegalStateException} whose {@link TreeHeadVerificationException#reason()} says why.
 *
 * <p>Thread-safe.
 */
public final class TreeHeadVerifier {

  private final PublicKey logKey;
  private SignedTreeHead trusted; // guarded by this

  /**
   * @param logKey the national log public key (configured with the CPIN root, IDN-018)
   * @param trusted the largest tree head verified earlier (e.g. persisted), or null for none
   * @throws TreeHeadVerificationException if {@code trusted} is not signed by {@code logKey}
   */
  public TreeHeadVerifier(PublicKey logKey, SignedTreeHead trusted) {
    this.logKey = Objects.requireNonNull(logKey, "logKey");
    if (trusted != null) {
      checkSignature(trusted);
    }
    this.trusted = trusted;
  }

  /** The largest tree head verified so far. */
  public synchronized Optional<SignedTreeHead> trusted() {
    return Optional.ofNullable(trusted);
  }

  /**
   * Verifies {@code next} and makes it the trusted head.
   *
   * <p>{@code next} must be signed by the log key; its timestamp must not be earlier than the
   * trusted head's; a tree of the same size must have the same root (then the later of the two
   * heads is kept); a larger tree must come with a verifying RFC 9162 consistency proof from the
   * trusted head; a smaller tree is refused. With no trusted head, a validly signed head is
   * accepted as is.
   *
   * @param consistencyProofFromTrusted proof from the trusted head's size to {@code next}'s; may
   *     be null or empty when the sizes are equal or nothing is trusted yet
   * @throws TreeHeadVerificationException if {@code next} is not accepted; the trusted head is
   *     then unchanged
   */
  public synchronized void accept(SignedTreeHead next, List<byte[]> consistencyProofFromTrusted) {
    checkSignature(next);
    if (trusted == null) {
      trusted = next;
      return;
    }
    long oldSize = trusted.getTreeSize();
    long newSize = next.getTreeSize();
    if (newSize < oldSize) {
      throw new TreeHeadVerificationException(
          Reason.SMALLER_TREE,
          "tree size " + newSize + " is smaller than the trusted tree size " + oldSize);
    }
    if (newSize == oldSize && !next.getRootHash().equals(trusted.getRootHash())) {
      throw new TreeHeadVerificationException(
          Reason.SAME_SIZE_DIFFERENT_ROOT,
          "the log signed two different roots for tree size " + newSize);
    }
    long oldMillis = TreeHeadSigner.timestampMillis(trusted.getTimestamp());
    long newMillis = TreeHeadSigner.timestampMillis(next.getTimestamp());
    if (newMillis < oldMillis) {
      throw new TreeHeadVerificationException(
          Reason.TIMESTAMP_DECREASED,
          "timestamp " + newMillis + " ms is earlier than the trusted head's " + oldMillis + " ms");
    }
    if (newSize > oldSize) {
      List<byte[]> proof = consistencyProofFromTrusted == null ? List.of() : consistencyProofFromTrusted;
      if (!MerkleProofs.verifyConsistency(
          oldSize,
          newSize,
          trusted.getRootHash().toByteArray(),
          next.getRootHash().toByteArray(),
          proof)) {
        throw new TreeHeadVerificationException(
            Reason.INCONSISTENT,
            "no valid consistency proof from tree size " + oldSize + " to " + newSize);
      }
    }
    trusted = next;
  }

  /**
   * Verifies that an older signed head (as returned with a receipt that raced a larger one) is a
   * prefix of the trusted head, without changing the trusted head.
   *
   * @param consistencyProofToTrusted proof from {@code older}'s size to the trusted head's size
   * @throws TreeHeadVerificationException if {@code older} is not signed, is larger than the
   *     trusted head, or is not consistent with it
   */
  public synchronized void checkPrefix(SignedTreeHead older, List<byte[]> consistencyProofToTrusted) {
    checkSignature(older);
    if (trusted == null || older.getTreeSize() > trusted.getTreeSize()) {
      throw new TreeHeadVerificationException(
          Reason.NOT_ACCEPTED, "tree size " + older.getTreeSize() + " is beyond the trusted head");
    }
    List<byte[]> proof = consistencyProofToTrusted == null ? List.of() : consistencyProofToTrusted;
    if (older.getTreeSize() == trusted.getTreeSize()
        && !older.getRootHash().equals(trusted.getRootHash())) {
      throw new TreeHeadVerificationException(
          Reason.SAME_SIZE_DIFFERENT_ROOT,
          "the log signed two different roots for tree size " + older.getTreeSize());
    }
    if (!MerkleProofs.verifyConsistency(
        older.getTreeSize(),
        trusted.getTreeSize(),
        older.getRootHash().toByteArray(),
        trusted.getRootHash().toByteArray(),
        proof)) {
      throw new TreeHeadVerificationException(
          Reason.INCONSISTENT,
          "no valid consistency proof from tree size "
              + older.getTreeSize()
              + " to the trusted "
              + trusted.getTreeSize());
    }
  }

  /**
   * Verifies that {@code entry} is the leaf at {@code leafIndex} of the tree that {@code sth}
   * commits to: {@code sth} is signed by the log key and is not beyond the trusted head (accept
   * it first), a head of the trusted size has the trusted root, and the audit path verifies
   * (RFC 9162 §2.1.3.2) for the leaf hash recomputed from {@code entry} (IDN-021).
   *
   * <p>A head smaller than the trusted one is taken as verified earlier (as for {@code
   * GetInclusionProof} with an older tree size); use {@link #checkPrefix} for one that was not.
   *
   * @throws TreeHeadVerificationException if any check fails
   * @throws IllegalArgumentException if {@code entry} cannot be encoded (bad record digest)
   */
  public void checkInclusion(
      FilingEntry entry, long leafIndex, List<byte[]> auditPath, SignedTreeHead sth) {
    Objects.requireNonNull(entry, "entry");
    checkSignature(sth);
    synchronized (this) {
      if (trusted == null || sth.getTreeSize() > trusted.getTreeSize()) {
        throw new TreeHeadVerificationException(
            Reason.NOT_ACCEPTED,
            "tree head of size " + sth.getTreeSize() + " is beyond the trusted head; accept it first");
      }
      if (sth.getTreeSize() == trusted.getTreeSize()
          && !sth.getRootHash().equals(trusted.getRootHash())) {
        throw new TreeHeadVerificationException(
            Reason.SAME_SIZE_DIFFERENT_ROOT,
            "the log signed two different roots for tree size " + sth.getTreeSize());
      }
    }
    byte[] leafHash = FilingEncoding.leafHash(entry);
    if (!MerkleProofs.verifyInclusion(
        leafHash,
        leafIndex,
        sth.getTreeSize(),
        auditPath == null ? List.of() : auditPath,
        sth.getRootHash().toByteArray())) {
      throw new TreeHeadVerificationException(
          Reason.NOT_INCLUDED,
          "audit path does not prove "
              + entry.getIdentifier()
              + " at leaf index "
              + leafIndex
              + " in tree size "
              + sth.getTreeSize());
    }
  }

  private void checkSignature(SignedTreeHead sth) {
    Objects.requireNonNull(sth, "tree head");
    if (!TreeHeadSigner.verify(sth, logKey)) {
      throw new TreeHeadVerificationException(
          Reason.BAD_SIGNATURE,
          "tree head of size " + sth.getTreeSize() + " is malformed or not signed by the log key");
    }
  }
}
