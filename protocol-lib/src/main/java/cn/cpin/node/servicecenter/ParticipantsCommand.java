package cn.cpin.node.servicecenter;

import cn.cpin.node.NodeOptions;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.ApproveParticipantResponse;
import cn.cpin.servicecenter.v1.AuditEvent;
import cn.cpin.servicecenter.v1.ListAuditEventsRequest;
import cn.cpin.servicecenter.v1.ListParticipantsRequest;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.RejectParticipantRequest;
import cn.cpin.servicecenter.v1.ReinstateParticipantRequest;
import cn.cpin.servicecenter.v1.SuspendParticipantRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The operator's workflow at a regional or industry node (SVC-004): list registrations, approve,
 * reject, suspend, reinstate, and read a participant's audit trail, as the node's operator over
 * mutual TLS with the credentials the node keeps in its data directory.
 */
@Command(name = "participants", mixinStandardHelpOptions = true,
    description = "As this node's operator: list, approve, reject, suspend or reinstate "
        + "participants, or show one's audit trail.")
public final class ParticipantsCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "ACTION",
      description = "list | approve | reject | suspend | reinstate | audit")
  private String action;

  @Parameters(index = "1", arity = "0..1", paramLabel = "PARTICIPANT_ID",
      description = "The participant, e.g. 86.44/P-1SF (all but list).")
  private String participantId;

  @Option(names = "--node", defaultValue = "127.0.0.1:7861", paramLabel = "HOST:PORT",
      description = "The node's endpoint (default: ${DEFAULT-VALUE}).")
  private String node;

  @Option(names = "--data-dir", required = true, paramLabel = "DIR",
      description = "The node's data directory; its operator/ and pki/ hold the credentials.")
  private Path dataDir;

  @Option(names = "--reason", defaultValue = "", description = "Why (required for reject, "
      + "suspend and reinstate; recorded in the audit trail).")
  private String reason;

  @Option(names = "--status", defaultValue = "PENDING",
      description = "For list: PENDING, APPROVED, REJECTED, SUSPENDED or ALL "
          + "(default: ${DEFAULT-VALUE}).")
  private String status;

  @Override
  public Integer call() throws Exception {
    try {
      return run();
    } catch (IllegalArgumentException e) {
      System.err.println("participants " + action + ": " + e.getMessage());
      return 2;
    }
  }

  private int run() throws Exception {
    CredentialFiles files = new CredentialFiles(dataDir);
    Credentials operator = files.operatorCredentials().orElseThrow(() ->
        new IllegalArgumentException("no operator credentials in " + files.operatorDirectory()));
    CpinIdentity self = CpinIdentity.fromCertificate(operator.leaf());
    ManagedChannel channel = NodeTls.channel(NodeOptions.parseAddress("--node", node), operator,
        files.trustAnchors(), CpinIdentity.node(self.nodeCode()));
    try {
      ParticipantServiceGrpc.ParticipantServiceBlockingStub stub = ParticipantServiceGrpc
          .newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
      String requestId = "cli-" + UUID.randomUUID();
      switch (action) {
        case "list" -> {
          ListParticipantsRequest.Builder request = ListParticipantsRequest.newBuilder();
          if (!status.equalsIgnoreCase("ALL")) {
            request.setStatus(ParticipantStatus.valueOf("PARTICIPANT_STATUS_"
                + status.toUpperCase(java.util.Locale.ROOT)));
          }
          String token = "";
          do {
            var page = stub.listParticipants(request.setPageToken(token).build());
            page.getParticipantsList().forEach(p -> System.out.println(line(p)));
            token = page.getNextPageToken();
          } while (!token.isEmpty());
        }
        case "approve" -> {
          ApproveParticipantResponse approved = stub.approveParticipant(ApproveParticipantRequest
              .newBuilder().setRequestId(requestId).setParticipantId(id()).setReason(reason)
              .build());
          System.out.println(line(approved.getParticipant()));
          System.out.println("certificate enrollment token (one use, hand to the participant "
              + "securely): " + approved.getCertificateEnrollmentToken());
        }
        case "reject" -> System.out.println(line(stub.rejectParticipant(RejectParticipantRequest
            .newBuilder().setRequestId(requestId).setParticipantId(id()).setReason(reason)
            .build()).getParticipant()));
        case "suspend" -> System.out.println(line(stub.suspendParticipant(
            SuspendParticipantRequest.newBuilder().setRequestId(requestId)
                .setParticipantId(id()).setReason(reason).build()).getParticipant()));
        case "reinstate" -> {
          var reinstated = stub.reinstateParticipant(ReinstateParticipantRequest.newBuilder()
              .setRequestId(requestId).setParticipantId(id()).setReason(reason).build());
          System.out.println(line(reinstated.getParticipant()));
          System.out.println("certificate enrollment token (one use): "
              + reinstated.getCertificateEnrollmentToken());
        }
        case "audit" -> {
          for (AuditEvent e : stub.listAuditEvents(ListAuditEventsRequest.newBuilder()
              .setParticipantId(id()).build()).getEventsList()) {
            System.out.println(e.getEventNumber() + "\t" + e.getOccurredAt().getSeconds() + "\t"
                + e.getAction().name().substring("AUDIT_ACTION_".length()) + "\t" + e.getActor()
                + "\t" + e.getReason());
          }
        }
        default -> throw new IllegalArgumentException("unknown action " + action
            + "; use list, approve, reject, suspend, reinstate or audit");
      }
      return 0;
    } catch (StatusRuntimeException e) {
      System.err.println(action + " failed: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return 1;
    } finally {
      channel.shutdownNow();
    }
  }

  private String id() {
    if (participantId == null) {
      throw new IllegalArgumentException(action + " needs a PARTICIPANT_ID");
    }
    return participantId;
  }

  private static String line(Participant p) {
    return p.getParticipantId() + "\t" + p.getStatus().name().substring(
        "PARTICIPANT_STATUS_".length()) + "\t" + p.getDisplayName() + "\t"
        + (p.hasOrganization() ? p.getOrganization().getCreditCode() : "individual") + "\t"
        + p.getKindsList().stream().map(k -> k.name().substring("PARTICIPATION_KIND_".length()))
            .toList();
  }
}
