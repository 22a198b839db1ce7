package cn.cpin.node.monitoring;

import cn.cpin.monitoring.v1.DataPoint;
import cn.cpin.monitoring.v1.ExportMonitoringDataRequest;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;

/**
 * Data points in their wire form: a run of {@code data_points} (field 4) entries, which is itself a
 * valid encoding of an {@code ExportMonitoringDataRequest} holding only those points. Prefixing it
 * with an encoded header (sender, stream, sequence number) gives the whole batch, since protobuf
 * fields may come in any order; so points travel from the wire to the spool or archive without
 * being decoded or encoded again (MON-012). Immutable.
 */
public final class EncodedPoints {
  private static final EncodedPoints NONE = new EncodedPoints(new byte[0], 0);
  private static final int DATA_POINTS = 4;

  private final byte[] bytes;
  private final int count;

  private EncodedPoints(byte[] bytes, int count) {
    this.bytes = bytes;
    this.count = count;
  }

  public static EncodedPoints none() {
    return NONE;
  }

  /** Encodes {@code points} once. */
  public static EncodedPoints of(List<DataPoint> points) {
    int size = 0;
    for (DataPoint p : points) {
      size += CodedOutputStream.computeMessageSize(DATA_POINTS, p);
    }
    byte[] out = new byte[size];
    CodedOutputStream coded = CodedOutputStream.newInstance(out);
    try {
      for (DataPoint p : points) {
        coded.writeMessage(DATA_POINTS, p);
      }
      coded.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new EncodedPoints(out, points.size());
  }

  /** Number of points. */
  public int count() {
    return count;
  }

  public boolean isEmpty() {
    return count == 0;
  }

  /** Encoded size in bytes. */
  public int size() {
    return bytes.length;
  }

  /** {@code header} (an encoded ExportMonitoringDataRequest without points) followed by these. */
  public byte[] after(byte[] header) {
    byte[] batch = Arrays.copyOf(header, header.length + bytes.length);
    System.arraycopy(bytes, 0, batch, header.length, bytes.length);
    return batch;
  }

  /** The points as objects (for tests and queries; the uplink never needs them). */
  public List<DataPoint> decode() {
    try {
      return ExportMonitoringDataRequest.parseFrom(bytes).getDataPointsList();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("encoded points are corrupt", e);
    }
  }

  /** Collects encoded points, copying each once. Not thread-safe. */
  static final class Builder {
    private byte[] buffer = new byte[1 << 16];
    private int length;
    private int count;

    void add(byte[] source, int offset, int size) {
      if (length + size > buffer.length) {
        buffer = Arrays.copyOf(buffer, Math.max(buffer.length * 2, length + size));
      }
      System.arraycopy(source, offset, buffer, length, size);
      length += size;
      count++;
    }

    int count() {
      return count;
    }

    EncodedPoints build() {
      return count == 0 ? NONE : new EncodedPoints(Arrays.copyOf(buffer, length), count);
    }
  }
}
