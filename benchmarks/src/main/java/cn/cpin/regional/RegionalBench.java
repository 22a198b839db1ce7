package cn.cpin.regional;

import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.node.EventLog;
import cn.cpin.node.NodeKind;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.security.PublicKey;
import java.time.Clock;
import java.util.Map;

/**
 * The benchmark harness's way to the package-private regional node kind, identifier library and
 * filing outbox (the harness lives in another jar; the package is split across jars on the class
 * path). It drives the production classes unchanged.
 */
public final class RegionalBench {
  private RegionalBench() {}

  /** The node kind the regional node program runs. */
  public static NodeKind regionalNode() {
    return new RegionalNode();
  }

  /** An identifier library over {@code store}, as a regional node {@code self} builds it. */
  public static Library library(NodeCode self, KeyValueStore store) {
    return new Library(self, store);
  }

  /** An {@link IdentifierLibrary}, optionally with a {@link FilingOutbox} woken per issuance. */
  public static final class Library implements AutoCloseable {
    private final IdentifierLibrary library;
    private final KeyValueStore store;
    private volatile FilingOutbox outbox;

    private Library(NodeCode self, KeyValueStore store) {
      this.store = store;
      this.library = new IdentifierLibrary(self, store, Clock.systemUTC(), () -> {
        FilingOutbox current = outbox;
        if (current != null) {
          current.wake();
        }
      });
    }

    /** IdentifierLibrary.issue: durable when it returns. */
    public IdentifierRecord issue(String requestId, CpinIdentity caller, IdentifierKind kind,
        NodeCode issuing, String ownerId, Map<String, String> attributes) {
      return library.issue(requestId, caller, kind, issuing, ownerId, attributes);
    }

    /**
     * Starts filing with the national node over {@code national} (a channel authenticated as the
     * regional node), verifying receipts with {@code logKey}; filed batches are logged to
     * {@code events} as {@code filing.filed} with their count.
     */
    public void startFiling(ManagedChannel national, PublicKey logKey, EventLog events) {
      FilingOutbox started = new FilingOutbox(library, store, national, logKey, events);
      outbox = started;
      started.start();
    }

    /** How many entries wait in the outbox (scans it: call rarely). */
    public int pending(int max) {
      return library.pendingFilings(max).size();
    }

    /**
     * The bytes of values one issuance writes (record, request index, outbox entry), for a raw
     * store write of a similar size.
     */
    public static int valueBytes(IdentifierRecord record) {
      FilingEntry entry = FilingEntry.newBuilder()
          .setIdentifier(record.getIdentifier())
          .setKindValue(record.getKindValue())
          .setOwnerId(record.getOwnerId())
          .setIssuedAt(record.getIssuedAt())
          .setRecordDigest(ByteString.copyFrom(new byte[32]))
          .build();
      return record.getSerializedSize() + entry.getSerializedSize()
          + record.getIdentifier().length();
    }

    @Override
    public void close() {
      FilingOutbox current = outbox;
      if (current != null) {
        current.close();
      }
    }
  }
}
