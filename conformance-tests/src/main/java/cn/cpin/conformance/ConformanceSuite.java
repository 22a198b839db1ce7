package cn.cpin.conformance;

import cn.cpin.protocol.error.StatusMapping;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Base of every conformance suite, after grpc-java's {@code AbstractInteropTest}: the checks live
 * in abstract suites shipped in this artifact, and whoever runs them (the command line against a
 * vendor's node, the build against the reference nodes) binds them to a target by implementing
 * {@link #target()}.
 */
public abstract class ConformanceSuite {
  /** The node under test. */
  protected abstract ConformanceTarget target();

  /** A channel to the node under test as the identity that may call the most. */
  protected final ManagedChannel channel() {
    return target().channel();
  }

  /** The per-call deadline in milliseconds, for {@code withDeadlineAfter}. */
  protected final long deadlineMillis() {
    return target().deadline().toMillis();
  }

  /** Convenience for stubs: {@code stub.withDeadlineAfter(deadlineMillis(), MILLIS)}. */
  protected static final TimeUnit MILLIS = TimeUnit.MILLISECONDS;

  /** Runs {@code call}, which must fail with {@code code} and ErrorInfo {@code reason}. */
  protected final StatusRuntimeException expectError(String what, Status.Code code, String reason,
      Supplier<?> call) {
    try {
      call.get();
    } catch (StatusRuntimeException e) {
      Assertions.check(e.getStatus().getCode() == code, what + ": expected " + code
          + (reason == null ? "" : " (" + reason + ")") + ", got " + describe(e));
      String actual = reasonOf(e);
      if (reason != null) {
        Assertions.check(reason.equals(actual), what + ": " + code + " must carry ErrorInfo "
            + "reason " + reason + " in domain " + StatusMapping.DOMAIN + ", got "
            + (actual == null ? "no ErrorInfo" : actual));
      }
      return e;
    }
    throw new AssertionError(what + ": expected " + code
        + (reason == null ? "" : " (" + reason + ")") + ", but the call succeeded");
  }

  protected static String reasonOf(StatusRuntimeException e) {
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    if (details == null) {
      return null;
    }
    for (com.google.protobuf.Any any : details.getDetailsList()) {
      if (any.is(ErrorInfo.class)) {
        try {
          ErrorInfo info = any.unpack(ErrorInfo.class);
          if (StatusMapping.DOMAIN.equals(info.getDomain())) {
            return info.getReason();
          }
        } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
          return null;
        }
      }
    }
    return null;
  }

  protected static List<BadRequest.FieldViolation> violations(StatusRuntimeException e) {
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    List<BadRequest.FieldViolation> out = new ArrayList<>();
    if (details == null) {
      return out;
    }
    for (com.google.protobuf.Any any : details.getDetailsList()) {
      if (any.is(BadRequest.class)) {
        try {
          out.addAll(any.unpack(BadRequest.class).getFieldViolationsList());
        } catch (com.google.protobuf.InvalidProtocolBufferException ignored) {
          // reported as no violations
        }
      }
    }
    return out;
  }

  protected static String describe(StatusRuntimeException e) {
    Status status = e.getStatus();
    String reason = reasonOf(e);
    return status.getCode() + (status.getDescription() == null ? ""
        : " (" + status.getDescription() + ")") + (reason == null ? "" : " [" + reason + "]");
  }

  protected final void requireService(String name) {
    if (!hasService(name)) {
      throw new CheckSkipped("the " + target().profile().name().toLowerCase(
          java.util.Locale.ROOT) + " profile has no " + name);
    }
  }

  protected final boolean hasService(String name) {
    for (ServiceDescriptor service : target().profile().services()) {
      if (service.getName().equals(name)) {
        return true;
      }
    }
    return false;
  }
}
