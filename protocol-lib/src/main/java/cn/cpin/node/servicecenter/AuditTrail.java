package cn.cpin.node.servicecenter;

import cn.cpin.protocol.store.KeyValueStore;
import cn.cpin.servicecenter.v1.AuditEvent;
import com.google.protobuf.InvalidProtocolBufferException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The service center's audit events (SVC-007): numbered from one node-wide counter, written in
 * the same store write as the change they record, never changed or deleted. Thread-safe.
 */
final class AuditTrail {
  private static final String EVENTS = "svc/audit/";
  private static final String COUNTER = "svc/audit-number";

  private final KeyValueStore store;

  AuditTrail(KeyValueStore store) {
    this.store = store;
  }

  /**
   * Numbers {@code event} and returns the put that records it. A number whose write then fails
   * is skipped, so numbers increase but may have gaps.
   */
  Map.Entry<String, byte[]> record(AuditEvent.Builder event) {
    long number = store.increment(COUNTER, 1);
    AuditEvent numbered = event.setEventNumber(number).build();
    return Map.entry(key(numbered.getParticipantId(), number), numbered.toByteArray());
  }

  /** Events of {@code participantId} (all if empty) after {@code afterNumber}, ascending. */
  List<AuditEvent> list(String participantId, long afterNumber, int max) {
    List<AuditEvent> events = new ArrayList<>();
    for (byte[] value : store.scan(participantId.isEmpty() ? EVENTS
        : EVENTS + participantId + "/").values()) {
      AuditEvent event = parse(value);
      if (event.getEventNumber() > afterNumber) {
        events.add(event);
      }
    }
    events.sort(Comparator.comparingLong(AuditEvent::getEventNumber));
    return events.size() > max ? events.subList(0, max) : events;
  }

  private static String key(String participantId, long number) {
    return EVENTS + participantId + "/" + String.format("%020d", number);
  }

  private static AuditEvent parse(byte[] value) {
    try {
      return AuditEvent.parseFrom(value);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt audit event", e);
    }
  }
}
