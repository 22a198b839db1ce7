package cn.cpin.national;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.node.trust.RevocationList;
import cn.cpin.protocol.error.CpinException;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.trust.v1.RevocationEntry;
import cn.cpin.trust.v1.RevocationReason;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Timestamps;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The national revocation feed (SEC-010): entries numbered from 1 without gaps, durable before
 * they are acknowledged, pushed to every watcher as they are appended, and applied at once to the
 * national node's own revocation list. Thread-safe: appends are serialised.
 */
final class RevocationFeed implements AutoCloseable {
  private static final String ENTRY = "national/revocation/";
  private static final String BY_SERIAL = "national/revocation-serial/";
  private static final String BY_REQUEST = "national/revocation-request/";

  private final KeyValueStore store;
  private final RevocationList ownList;
  private final Clock clock;
  private final List<Consumer<RevocationEntry>> watchers = new CopyOnWriteArrayList<>();
  // Watchers are called on this thread, in feed order, never under the feed's lock: a watcher
  // takes its stream's lock, and a stream may be waiting for the feed's lock (no lock cycle).
  private final java.util.concurrent.ExecutorService notifier =
      java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "revocation-notifier");
        t.setDaemon(true);
        return t;
      });
  private volatile long latest;

  RevocationFeed(KeyValueStore store, RevocationList ownList, Clock clock) {
    this.store = store;
    this.ownList = ownList;
    this.clock = clock;
    List<RevocationEntry> all = after(0, Integer.MAX_VALUE);
    this.latest = all.isEmpty() ? 0 : all.get(all.size() - 1).getSequenceNumber();
    ownList.apply(all, latest);
  }

  /**
   * Revokes {@code certificateDer} for {@code caller}: the national operator may revoke any
   * certificate, a node those of its own code and of its children (SEC-013).
   */
  synchronized RevocationEntry revoke(String requestId, CpinIdentity caller, byte[] certificateDer,
      RevocationReason reason) {
    Optional<RevocationEntry> earlier = store.get(BY_REQUEST + requestId).map(this::entryAt);
    if (earlier.isPresent()) {
      return earlier.get();
    }
    X509Certificate certificate;
    CpinIdentity subject;
    try {
      certificate = KeyMaterial.parseCertificate(certificateDer);
      subject = CpinIdentity.fromCertificate(certificate);
    } catch (CertificateException | RuntimeException e) {
      throw InvalidArgumentException.of("certificate_der", "is not a CPIN certificate: "
          + e.getMessage(), ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    boolean nationalOperator = caller.kind() == CpinIdentity.Kind.OPERATOR
        && caller.nodeCode().isNational();
    boolean ownOrChild = caller.kind() == CpinIdentity.Kind.NODE
        && (subject.nodeCode().equals(caller.nodeCode())
            || subject.nodeCode().parent().map(caller.nodeCode()::equals).orElse(false));
    if (!nationalOperator && !ownOrChild) {
      throw CpinException.permissionDenied(ErrorReason.ERROR_REASON_NOT_OWNER, caller.uri()
          + " may not revoke certificates of " + subject.uri());
    }
    String serial = certificate.getSerialNumber().toString(16);
    Optional<RevocationEntry> existing = store.get(BY_SERIAL + serial).map(this::entryAt);
    if (existing.isPresent()) {
      return existing.get();
    }
    long sequence = latest + 1;
    RevocationEntry.Builder entry = RevocationEntry.newBuilder()
        .setSequenceNumber(sequence)
        .setSerialNumber(ByteString.copyFrom(certificate.getSerialNumber().toByteArray()))
        .setIssuerKeyId(ByteString.copyFrom(authorityKeyId(certificate)))
        .setReason(reason)
        .setRevokedAt(Timestamps.fromMillis(clock.millis()))
        .setSubjectUri(subject.uri())
        .setNodeCode(subject.nodeCode().toString())
        .setCertificateNotAfter(Timestamps.fromMillis(certificate.getNotAfter().getTime()));
    subject.participantId().ifPresent(p -> entry.setParticipantId(p.toString()));
    RevocationEntry built = entry.build();
    byte[] sequenceBytes = Long.toString(sequence).getBytes(StandardCharsets.US_ASCII);
    store.write(Map.of(ENTRY + key(sequence), built.toByteArray(), BY_SERIAL + serial,
        sequenceBytes, BY_REQUEST + requestId, sequenceBytes), List.of(), List.of());
    latest = sequence;
    ownList.apply(List.of(built), sequence);
    List<Consumer<RevocationEntry>> current = List.copyOf(watchers);
    notifier.execute(() -> current.forEach(w -> w.accept(built)));
    return built;
  }

  long latest() {
    return latest;
  }

  /** Up to {@code limit} entries after {@code sequence}, in order. */
  List<RevocationEntry> after(long sequence, int limit) {
    List<RevocationEntry> out = new ArrayList<>();
    for (Map.Entry<String, byte[]> e : store.scan(ENTRY).tailMap(ENTRY + key(sequence + 1))
        .entrySet()) {
      if (out.size() >= limit) {
        break;
      }
      out.add(parse(e.getValue()));
    }
    return out;
  }

  /**
   * Adds a watcher and returns the entries after {@code sequence} appended before it was added,
   * atomically, so that the watcher misses nothing and sees nothing twice.
   */
  synchronized List<RevocationEntry> watch(long sequence, Consumer<RevocationEntry> watcher) {
    watchers.add(watcher);
    return after(sequence, Integer.MAX_VALUE);
  }

  void unwatch(Consumer<RevocationEntry> watcher) {
    watchers.remove(watcher);
  }

  /** Stops notifying watchers. */
  @Override
  public void close() {
    notifier.shutdownNow();
  }

  private static byte[] authorityKeyId(X509Certificate certificate) {
    byte[] extension = certificate.getExtensionValue(
        org.bouncycastle.asn1.x509.Extension.authorityKeyIdentifier.getId());
    if (extension == null) {
      return new byte[0];
    }
    org.bouncycastle.asn1.ASN1OctetString keyId = org.bouncycastle.asn1.x509
        .AuthorityKeyIdentifier.getInstance(org.bouncycastle.asn1.ASN1OctetString
            .getInstance(extension).getOctets()).getKeyIdentifierObject();
    return keyId == null ? new byte[0] : keyId.getOctets();
  }

  private RevocationEntry entryAt(byte[] sequence) {
    return parse(store.get(ENTRY + key(Long.parseLong(new String(sequence,
        StandardCharsets.US_ASCII)))).orElseThrow());
  }

  private static String key(long sequence) {
    return String.format("%020d", sequence);
  }

  private static RevocationEntry parse(byte[] bytes) {
    try {
      return RevocationEntry.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt revocation entry", e);
    }
  }
}
