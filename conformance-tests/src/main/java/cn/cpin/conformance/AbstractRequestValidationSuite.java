package cn.cpin.conformance;

import cn.cpin.common.v1.FieldFormat;
import cn.cpin.protocol.error.StatusMapping;
import com.google.protobuf.Descriptors;
import com.google.protobuf.DynamicMessage;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.protobuf.ProtoMethodDescriptorSupplier;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.protobuf.StatusProto;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Malformed input on every RPC of the profile: for each request field the standard annotates as an
 * identifier, node code, credit code or request id, the node must answer INVALID_ARGUMENT with a
 * BadRequest naming that field and an ErrorInfo in domain cpin.cn, never INTERNAL (GEN-001,
 * GEN-004).
 *
 * <p>Fields are found in the standard's descriptors, so a new RPC is covered without a new check.
 */
public abstract class AbstractRequestValidationSuite extends ConformanceSuite {
  private static final int MAX_REPORTED = 8;

  @Check(requirements = {"IDN-003", "GEN-001", "GEN-004", "GEN-005"},
      title = "a malformed identifier in any request field gets INVALID_ARGUMENT naming the field")
  void malformedIdentifiersRejected() {
    rejectsMalformed(FieldFormat.FIELD_FORMAT_IDENTIFIER);
  }

  @Check(requirements = {"IDN-004", "GEN-001", "GEN-004"},
      title = "a malformed node code in any request field gets INVALID_ARGUMENT naming the field")
  void malformedNodeCodesRejected() {
    rejectsMalformed(FieldFormat.FIELD_FORMAT_NODE_CODE);
  }

  @Check(requirements = {"SVC-001", "GEN-001", "GEN-004"},
      title = "a malformed credit code in any request field gets INVALID_ARGUMENT naming the field")
  void malformedCreditCodesRejected() {
    rejectsMalformed(FieldFormat.FIELD_FORMAT_CREDIT_CODE);
  }

  @Check(requirements = {"GEN-003", "GEN-001"},
      title = "a malformed request_id gets INVALID_ARGUMENT naming request_id")
  void malformedRequestIdsRejected() {
    rejectsMalformed(FieldFormat.FIELD_FORMAT_REQUEST_ID);
  }

  @Check(requirements = {"GEN-003", "GEN-001"},
      title = "a mutating RPC called without request_id gets INVALID_ARGUMENT naming request_id")
  void missingRequestIdRejected() {
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (StandardMethod method : methods()) {
      Descriptors.FieldDescriptor requestId = method.input().findFieldByName("request_id");
      if (requestId == null || !requestId.getOptions()
          .getExtension(cn.cpin.common.v1.FieldRulesProto.field).getRequired()) {
        continue;
      }
      cases++;
      String problem = expectViolations(method,
          DynamicMessage.newBuilder(method.input()).build(), List.of("request_id"));
      if (problem != null) {
        failures.add(method.name() + " without request_id: " + problem);
      }
    }
    report(cases, failures, "no RPC of this profile takes a required request_id");
  }

  @Check(requirements = {"GEN-002"},
      title = "every invalid field of a request is reported at once")
  void allViolationsReportedAtOnce() {
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (StandardMethod method : methods()) {
      List<RuleField> plain = RuleField.find(method.input()).stream()
          .filter(RuleField::isTopLevelPlain)
          .toList();
      if (plain.size() < 2) {
        continue;
      }
      cases++;
      DynamicMessage.Builder request = DynamicMessage.newBuilder(method.input());
      List<String> paths = new ArrayList<>();
      for (RuleField field : plain) {
        field.set(request, MalformedSamples.forFormat(field.format()).values().iterator().next());
        paths.add(field.violationPath());
      }
      String problem = expectViolations(method, request.build(), paths);
      if (problem != null) {
        failures.add(method.name() + " with " + paths + " all malformed: " + problem);
      }
    }
    report(cases, failures, "no RPC of this profile has two plain top-level rule fields");
  }

  private void rejectsMalformed(FieldFormat format) {
    List<String> failures = new ArrayList<>();
    int cases = 0;
    for (StandardMethod method : methods()) {
      for (RuleField field : RuleField.find(method.input())) {
        if (field.format() != format) {
          continue;
        }
        for (Map.Entry<String, String> sample : MalformedSamples.forFormat(format).entrySet()) {
          cases++;
          DynamicMessage.Builder request = DynamicMessage.newBuilder(method.input());
          field.set(request, sample.getValue());
          String problem = expectViolations(method, request.build(),
              List.of(field.violationPath()));
          if (problem != null) {
            failures.add(method.name() + " " + field.violationPath() + " (" + sample.getKey()
                + "): " + problem);
          }
        }
      }
    }
    report(cases, failures, "no RPC of profile " + target().profile() + " has a "
        + format + " field");
  }

  private static void report(int cases, List<String> failures, String whyNone) {
    if (cases == 0) {
      throw new CheckSkipped(whyNone);
    }
    if (!failures.isEmpty()) {
      throw new AssertionError(failures.size() + " of " + cases + " cases failed: "
          + String.join("; ", failures.subList(0, Math.min(MAX_REPORTED, failures.size())))
          + (failures.size() > MAX_REPORTED ? "; …" : ""));
    }
  }

  /**
   * Sends {@code request} and returns null if the node answered INVALID_ARGUMENT naming every
   * path in {@code paths} with an ErrorInfo of domain cpin.cn, or else what was wrong.
   */
  private String expectViolations(StandardMethod method, DynamicMessage request,
      List<String> paths) {
    Closed closed = call(method, request);
    if (closed.status().getCode() != Status.Code.INVALID_ARGUMENT) {
      return "expected INVALID_ARGUMENT, got " + closed.status().getCode()
          + (closed.status().getDescription() == null ? "" : " (" + closed.status()
              .getDescription() + ")");
    }
    com.google.rpc.Status details = StatusProto.fromStatusAndTrailers(closed.status(),
        closed.trailers());
    List<String> named = new ArrayList<>();
    ErrorInfo errorInfo = null;
    for (com.google.protobuf.Any any : details.getDetailsList()) {
      try {
        if (any.is(BadRequest.class)) {
          for (BadRequest.FieldViolation v : any.unpack(BadRequest.class)
              .getFieldViolationsList()) {
            named.add(v.getField());
          }
        } else if (any.is(ErrorInfo.class)) {
          errorInfo = any.unpack(ErrorInfo.class);
        }
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        return "undecodable status detail " + any.getTypeUrl();
      }
    }
    List<String> missing = new ArrayList<>(paths);
    missing.removeAll(named);
    if (!missing.isEmpty()) {
      return "BadRequest does not name " + missing + " (names " + named + ")";
    }
    if (errorInfo == null || !StatusMapping.DOMAIN.equals(errorInfo.getDomain())
        || errorInfo.getReason().isEmpty()) {
      return "no ErrorInfo with domain " + StatusMapping.DOMAIN + " and a reason";
    }
    return null;
  }

  private record Closed(Status status, Metadata trailers) {}

  private Closed call(StandardMethod method, DynamicMessage request) {
    CompletableFuture<Closed> closed = new CompletableFuture<>();
    ClientCall<DynamicMessage, DynamicMessage> call = method.channel().newCall(
        method.descriptor(),
        CallOptions.DEFAULT.withDeadlineAfter(deadlineMillis(), TimeUnit.MILLISECONDS));
    call.start(new ClientCall.Listener<>() {
      @Override
      public void onClose(Status status, Metadata trailers) {
        closed.complete(new Closed(status, trailers));
      }
    }, new Metadata());
    call.request(1);
    call.sendMessage(request);
    call.halfClose();
    try {
      return closed.get(deadlineMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      call.cancel("conformance check gave up", e);
      return new Closed(Status.DEADLINE_EXCEEDED.withDescription("no answer"), new Metadata());
    }
  }

  /** One RPC of the profile, callable with dynamic messages by an identity it allows. */
  private record StandardMethod(String name, Descriptors.Descriptor input,
      ManagedChannel channel, MethodDescriptor<DynamicMessage, DynamicMessage> descriptor) {}

  /**
   * The profile's RPCs that the suite can call as an allowed identity (access control comes
   * before validation, GEN-024); RPCs open only to participant kinds the suite cannot claim
   * (provider, user …) are left out.
   */
  private List<StandardMethod> methods() {
    List<StandardMethod> methods = new ArrayList<>();
    for (ServiceDescriptor service : target().profile().services()) {
      for (MethodDescriptor<?, ?> method : service.getMethods()) {
        Descriptors.MethodDescriptor proto =
            ((ProtoMethodDescriptorSupplier) method.getSchemaDescriptor()).getMethodDescriptor();
        ManagedChannel caller = Callers.allowedChannel(target(), proto);
        if (caller == null) {
          continue;
        }
        methods.add(new StandardMethod(method.getFullMethodName(), proto.getInputType(), caller,
            MethodDescriptor.<DynamicMessage, DynamicMessage>newBuilder()
                .setType(method.getType())
                .setFullMethodName(method.getFullMethodName())
                .setRequestMarshaller(ProtoUtils.marshaller(
                    DynamicMessage.getDefaultInstance(proto.getInputType())))
                .setResponseMarshaller(ProtoUtils.marshaller(
                    DynamicMessage.getDefaultInstance(proto.getOutputType())))
                .build()));
      }
    }
    return methods;
  }
}
