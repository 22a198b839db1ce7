package cn.cpin.node.monitoring;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.monitoring.v1.CounterTemporality;
import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import cn.cpin.monitoring.v1.MonitoringCategory;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.validation.FieldRulesValidator;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.util.Arrays;

/**
 * An {@code ExportMonitoringDataRequest} as received: its header decoded, its data points left as
 * the sender encoded them (MON-012). The receiver reads the few fields it checks straight from the
 * bytes and stores or relays the accepted points' bytes as they are, so a point is never decoded
 * into objects (its attribute map is the costliest part) nor encoded again on the way up.
 *
 * <p>{@link #checkFieldRules()} answers what the generic {@code FieldRulesValidator} would for this
 * message, which the receiver's custom marshaller bypasses; when it finds a violation it runs the
 * generic validator on the decoded message, so the error names exactly the same fields. Not
 * thread-safe: one storing thread reads it.
 */
public final class ReceivedBatch {
  private static final int DATA_POINTS = 4;
  private static final int MAX_POINTS = 10_000;
  private static final int MAX_STREAM_ID = 64;

  private final byte[] bytes;
  private final String senderNodeCode;
  private final String streamId;
  private final long sequenceNumber;
  // Of each data_points entry: offset of its tag and end of its value.
  private final int[] starts;
  private final int[] ends;
  private final int count;
  // Read once, on first use, by the thread that stores the batch.
  private PointFacts[] facts;

  private ReceivedBatch(byte[] bytes, String senderNodeCode, String streamId, long sequenceNumber,
      int[] starts, int[] ends, int count) {
    this.bytes = bytes;
    this.senderNodeCode = senderNodeCode;
    this.streamId = streamId;
    this.sequenceNumber = sequenceNumber;
    this.starts = starts;
    this.ends = ends;
    this.count = count;
  }

  /** Reads the header of an encoded batch and finds its points. */
  public static ReceivedBatch parse(byte[] bytes) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(bytes);
      String sender = "";
      String stream = "";
      long seq = 0;
      int[] starts = new int[64];
      int[] ends = new int[64];
      int n = 0;
      while (true) {
        int start = in.getTotalBytesRead();
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        switch (WireFormat.getTagFieldNumber(tag)) {
          case 1 -> sender = in.readStringRequireUtf8();
          case 2 -> stream = in.readStringRequireUtf8();
          case 3 -> seq = in.readUInt64();
          case DATA_POINTS -> {
            if (WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
              throw new InvalidProtocolBufferException("data_points is not length-delimited");
            }
            int length = in.readRawVarint32();
            in.skipRawBytes(length);
            if (n == starts.length) {
              starts = Arrays.copyOf(starts, n * 2);
              ends = Arrays.copyOf(ends, n * 2);
            }
            starts[n] = start;
            ends[n] = in.getTotalBytesRead();
            n++;
          }
          default -> in.skipField(tag);
        }
      }
      return new ReceivedBatch(bytes, sender, stream, seq, starts, ends, n);
    } catch (IOException e) {
      throw InvalidArgumentException.of("data_points", "not a well-formed "
          + "ExportMonitoringDataRequest: " + e.getMessage(),
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
  }

  /** The batch as the generated stubs send it. */
  public static ReceivedBatch of(ExportMonitoringDataRequest request) {
    return parse(request.toByteArray());
  }

  public String senderNodeCode() {
    return senderNodeCode;
  }

  public String streamId() {
    return streamId;
  }

  public long sequenceNumber() {
    return sequenceNumber;
  }

  public int pointCount() {
    return count;
  }

  /** The facts the receiver checks about point {@code i}, read from its bytes. */
  public PointFacts point(int i) {
    if (facts == null) {
      facts = new PointFacts[count];
    }
    PointFacts read = facts[i];
    if (read == null) {
      read = PointFacts.read(bytes, starts[i], ends[i]);
      facts[i] = read;
    }
    return read;
  }

  /** Appends point {@code i}, encoded as received (tag included), to {@code out}. */
  void copyPoint(int i, EncodedPoints.Builder out) {
    out.add(bytes, starts[i], ends[i] - starts[i]);
  }

  /** The whole message, decoded (for the rare paths that need objects). */
  public ExportMonitoringDataRequest decode() {
    try {
      return ExportMonitoringDataRequest.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("checked at parse", e);
    }
  }

  /**
   * Throws what the generic field-rule validation throws for this message (GEN-005, MON-005):
   * {@code sender_node_code} required and a node code, {@code stream_id} at most 64 characters,
   * at most 10,000 {@code data_points}, each with a well-formed {@code source_node_code} and, if
   * set, {@code subject_id}.
   */
  public void checkFieldRules() {
    if (!conformsToFieldRules()) {
      // Rare: let the generic validator name every violation, exactly as at any other RPC.
      FieldRulesValidator.check(decode());
    }
  }

  private boolean conformsToFieldRules() {
    if (!NodeCode.isValid(senderNodeCode) || streamId.length() > MAX_STREAM_ID
        || count > MAX_POINTS) {
      return false;
    }
    String lastSource = null;
    String lastSubject = null;
    for (int i = 0; i < count; i++) {
      PointFacts p = point(i);
      if (!p.sourceNodeCode().equals(lastSource)) {
        if (!NodeCode.isValid(p.sourceNodeCode())) {
          return false;
        }
        lastSource = p.sourceNodeCode();
      }
      if (!p.subjectId().isEmpty() && !p.subjectId().equals(lastSubject)) {
        try {
          Identifier.parse(p.subjectId());
        } catch (RuntimeException malformed) {
          return false;
        }
        lastSubject = p.subjectId();
      }
    }
    return true;
  }

  /** The checked fields of one encoded DataPoint; values as protobuf would decode them. */
  public record PointFacts(int category, boolean hasIndicator, String sourceNodeCode,
      boolean hasTime, long timeMillis, DataPoint.ValueCase valueCase, int temporality,
      double value, boolean hasEventType, int attributes, String subjectId) {

    /** Why the point is unacceptable (MON-006), or null if it is acceptable. */
    String problem(long latestMillis) {
      if (MonitoringCategory.forNumber(category) == null
          || category == MonitoringCategory.MONITORING_CATEGORY_UNSPECIFIED_VALUE) {
        return "category unspecified or unknown";
      }
      if (!hasIndicator) {
        return "indicator missing";
      }
      if (!hasTime) {
        return "time missing";
      }
      if (timeMillis > latestMillis) {
        return "time more than 1 h in the future";
      }
      if (attributes > MonitoringReceiver.MAX_ATTRIBUTES) {
        return "more than " + MonitoringReceiver.MAX_ATTRIBUTES + " attributes";
      }
      switch (valueCase) {
        case COUNTER -> {
          if (temporality != CounterTemporality.COUNTER_TEMPORALITY_CUMULATIVE_VALUE
              && temporality != CounterTemporality.COUNTER_TEMPORALITY_DELTA_VALUE) {
            return "counter without temporality";
          }
          if (!(value >= 0) || Double.isInfinite(value)) {
            return "counter value negative or not a number";
          }
        }
        case GAUGE -> {
          if (!Double.isFinite(value)) {
            return "gauge value not finite";
          }
        }
        case EVENT -> {
          if (!hasEventType) {
            return "event without event_type";
          }
        }
        default -> {
          return "no value";
        }
      }
      return null;
    }

    // Reads one data_points entry: tag, length, then the DataPoint's fields. Later occurrences
    // of a field win, and a message field seen twice merges, as protobuf decodes.
    static PointFacts read(byte[] bytes, int start, int end) {
      try {
        CodedInputStream in = CodedInputStream.newInstance(bytes, start, end - start);
        in.readTag();
        in.readRawVarint32();
        int category = 0;
        boolean hasIndicator = false;
        String source = "";
        boolean hasTime = false;
        long seconds = 0;
        int nanos = 0;
        DataPoint.ValueCase valueCase = DataPoint.ValueCase.VALUE_NOT_SET;
        int temporality = 0;
        double value = 0;
        boolean hasEventType = false;
        int attributes = 0;
        String subject = "";
        while (true) {
          int tag = in.readTag();
          if (tag == 0) {
            break;
          }
          switch (WireFormat.getTagFieldNumber(tag)) {
            case 1 -> hasIndicator = skipString(in) > 0;
            case 2 -> category = in.readEnum();
            case 3 -> source = in.readStringRequireUtf8();
            case 4 -> {
              hasTime = true;
              int limit = in.pushLimit(in.readRawVarint32());
              while (!in.isAtEnd()) {
                int t = in.readTag();
                switch (WireFormat.getTagFieldNumber(t)) {
                  case 1 -> seconds = in.readInt64();
                  case 2 -> nanos = in.readInt32();
                  default -> in.skipField(t);
                }
              }
              in.popLimit(limit);
            }
            case 5, 6, 7 -> {
              DataPoint.ValueCase now = DataPoint.ValueCase.forNumber(
                  WireFormat.getTagFieldNumber(tag));
              if (now != valueCase) {
                temporality = 0;
                value = 0;
                hasEventType = false;
              }
              valueCase = now;
              int limit = in.pushLimit(in.readRawVarint32());
              while (!in.isAtEnd()) {
                int t = in.readTag();
                int field = WireFormat.getTagFieldNumber(t);
                if (now != DataPoint.ValueCase.EVENT && field == 1
                    && WireFormat.getTagWireType(t) == WireFormat.WIRETYPE_FIXED64) {
                  value = in.readDouble();
                } else if (now == DataPoint.ValueCase.COUNTER && field == 2) {
                  temporality = in.readEnum();
                } else if (now == DataPoint.ValueCase.EVENT && field == 1) {
                  hasEventType = skipString(in) > 0;
                } else {
                  in.skipField(t);
                }
              }
              in.popLimit(limit);
            }
            case 9 -> subject = in.readStringRequireUtf8();
            case 12 -> {
              attributes++;
              in.skipField(tag);
            }
            default -> in.skipField(tag);
          }
        }
        long millis = Math.addExact(Math.multiplyExact(seconds, 1000L), nanos / 1_000_000);
        return new PointFacts(category, hasIndicator, source, hasTime, millis, valueCase,
            temporality, value, hasEventType, attributes, subject);
      } catch (IOException | ArithmeticException e) {
        throw InvalidArgumentException.of("data_points", "a data point is not well-formed: "
            + e.getMessage(), ErrorReason.ERROR_REASON_INVALID_FIELDS);
      }
    }

    // Skips a string field's value; returns its length in bytes.
    private static int skipString(CodedInputStream in) throws IOException {
      int length = in.readRawVarint32();
      in.skipRawBytes(length);
      return length;
    }
  }
}
