package cn.cpin.conformance;

import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.error.StatusMapping;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.ManagedChannel;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.security.SecureRandom;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Base of every conformance suite, after grpc-java's {@code AbstractInteropTest}: the checks live
 * in abstract suites shipped in this artifact, and whoever runs them (the command line against a
 * vendor's node, the build against the reference nodes) binds them to a target by implementing
 * {@link #target()}.
 */
public abstract class ConformanceSuite {
  private static final SecureRandom RANDOM = new SecureRandom();
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

  // ---------------------------------------------------------------- identities and fixtures

  /** A channel to the node under test as its operator, minted by the suite's test CA. */
  protected final ManagedChannel asOperator() {
    return target().channelAs(CpinIdentity.operator(target().nodeCode()));
  }

  /** A channel to the node under test as its participant {@code id}, minted likewise. */
  protected final ManagedChannel asParticipant(String id) {
    return target().channelAs(CpinIdentity.participant(target().nodeCode(),
        Identifier.parse(id)));
  }

  /** A fresh, valid Unified Social Credit Code, so that every run registers new organisations. */
  protected static String freshCreditCode() {
    StringBuilder first17 = new StringBuilder("91110000");
    while (first17.length() < 17) {
      first17.append(CreditCode.ALPHABET.charAt(RANDOM.nextInt(CreditCode.ALPHABET.length())));
    }
    return first17.toString() + CreditCode.checkCharacter(first17);
  }

  /** A request id no earlier run used. */
  protected static String freshRequestId() {
    return "conformance-" + UUID.randomUUID();
  }

  /** A registration of a fresh organisation of {@code kind}, entered as by the operator. */
  protected static RegisterParticipantRequest.Builder organization(ParticipationKind kind) {
    return RegisterParticipantRequest.newBuilder().setRequestId(freshRequestId())
        .setOrganization(Organization.newBuilder().setCreditCode(freshCreditCode())
            .setLegalName("Conformance Test Co.").setProvinceCode("11"))
        .setDisplayName("Conformance " + kind.name().toLowerCase(java.util.Locale.ROOT))
        .addKinds(kind)
        .addContacts(Contact.newBuilder().setName("Conformance Contact"))
        .setTelecomLicenceNumber("B1-CONFORMANCE");
  }

  /** Registers a fresh organisation of {@code kind} at the node under test; returns its id. */
  protected final String newRegistration(ParticipationKind kind) {
    return ParticipantServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .registerParticipant(organization(kind).build()).getParticipant().getParticipantId();
  }

  /** {@link #newRegistration} and approved by the operator. */
  protected final String newApprovedParticipant(ParticipationKind kind) {
    String id = newRegistration(kind);
    ParticipantServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .approveParticipant(ApproveParticipantRequest.newBuilder()
            .setRequestId(freshRequestId()).setParticipantId(id).setReason("conformance")
            .build());
    return id;
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
