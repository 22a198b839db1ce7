package cn.cpin.node.monitoring;

import io.grpc.MethodDescriptor;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;

/**
 * Passes encoded batches through gRPC unchanged: the exporter sends what the spool stored and the
 * receiver decodes only what it checks, so a batch is encoded once on its way up (MON-012).
 */
final class RawBytes implements MethodDescriptor.Marshaller<byte[]> {
  static final RawBytes MARSHALLER = new RawBytes();

  private RawBytes() {}

  @Override
  public InputStream stream(byte[] value) {
    return new ByteArrayInputStream(value);
  }

  @Override
  public byte[] parse(InputStream stream) {
    try {
      return stream.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
