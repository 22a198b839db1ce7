package cn.cpin.node.servicecenter;

import cn.cpin.common.v1.CallerRole;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.monitoring.v1.EventSeverity;
import cn.cpin.node.monitoring.Indicators;
import cn.cpin.node.monitoring.MonitoringCollector;
import cn.cpin.node.trust.ParticipantRoles;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.servicecenter.v1.ParticipantStatus;
import cn.cpin.servicecenter.v1.QualificationStatus;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.Map;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.servicecenter.v1.Participant;
import cn.cpin.servicecenter.v1.ParticipationKind;
import io.grpc.BindableService;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * System A of one regional or industry node: participants, qualifications and demands, and the
 * roles its participants hold at the node (SEC-007).
 */
public final class ServiceCenter implements ParticipantRoles {
  private final ParticipantRegistry participants;
  private final QualificationBook qualifications;
  private final DemandBook demands;

  public ServiceCenter(NodeContext context, IdentifierIssuer issuer,
      DemandBook.DemandMatcher matcher, Runnable onChange) {
    this.participants = new ParticipantRegistry(context.nodeCode(), context.store(),
        context.clock(), issuer, onChange);
    this.qualifications = new QualificationBook(context.store(), context.clock(), participants);
    this.demands = new DemandBook(context.store(), context.clock(), participants, issuer,
        matcher);
  }

  public ParticipantRegistry participants() {
    return participants;
  }

  public QualificationBook qualifications() {
    return qualifications;
  }

  public DemandBook demands() {
    return demands;
  }

  /** The gRPC services of system A. */
  public List<BindableService> services() {
    return List.of(new ParticipantServiceImpl(participants),
        new QualificationServiceImpl(qualifications), new DemandServiceImpl(demands));
  }

  /**
   * Reports system A's indicators (MON-002, category 8 and 10) of the participants registered at
   * this node itself; an industry node's participants held here are its own to report.
   */
  public void reportTo(MonitoringCollector collector, NodeCode self) {
    collector.gauge(Indicators.PARTICIPANTS_REGISTERED, "1", () -> {
      Map<ParticipantStatus, Integer> byStatus = new EnumMap<>(ParticipantStatus.class);
      for (Participant p : local(self)) {
        byStatus.merge(p.getStatus(), 1, Integer::sum);
      }
      List<MonitoringCollector.Sample> samples = new ArrayList<>();
      for (ParticipantStatus status : List.of(ParticipantStatus.PARTICIPANT_STATUS_PENDING,
          ParticipantStatus.PARTICIPANT_STATUS_APPROVED,
          ParticipantStatus.PARTICIPANT_STATUS_REJECTED,
          ParticipantStatus.PARTICIPANT_STATUS_SUSPENDED)) {
        samples.add(new MonitoringCollector.Sample(Map.of("status", status.name()
            .substring("PARTICIPANT_STATUS_".length())), byStatus.getOrDefault(status, 0)));
      }
      return samples;
    });
    collector.gauge(Indicators.APPLICATION_PROVIDERS, "1", () -> List.of(
        new MonitoringCollector.Sample(Map.of(), local(self).stream().filter(p ->
            p.getStatus() == ParticipantStatus.PARTICIPANT_STATUS_APPROVED
                && p.getKindsList().contains(ParticipationKind.PARTICIPATION_KIND_APPLICATION_SERVICE))
            .count())));
    collector.gauge(Indicators.QUALIFICATIONS_GRANTED, "1", () -> List.of(
        new MonitoringCollector.Sample(Map.of(), qualifications.list(q -> q.getStatus()
            == QualificationStatus.QUALIFICATION_STATUS_GRANTED, "", Integer.MAX_VALUE).size())));
    demands.onSubmitted(() -> collector.count(Indicators.DEMANDS_SUBMITTED, "1", Map.of(), 1));
    participants.onSecurityEvent((type, attributes) -> collector.securityEvent(type,
        type.equals("security.participant_suspended") ? EventSeverity.EVENT_SEVERITY_WARNING
            : EventSeverity.EVENT_SEVERITY_INFO, type, attributes));
  }

  private List<Participant> local(NodeCode self) {
    return participants.list(p -> p.getNodeCode().equals(self.toString()), "",
        Integer.MAX_VALUE);
  }

  /**
   * Roles from the participant's kinds, whatever its status: a participant that is not approved
   * is refused by the services with FAILED_PRECONDITION (SVC-006), not by role.
   */
  @Override
  public Set<CallerRole> rolesOf(Identifier participant) {
    Optional<Participant> record = participants.find(participant);
    if (record.isEmpty()) {
      return Set.of();
    }
    Set<CallerRole> roles = EnumSet.noneOf(CallerRole.class);
    for (ParticipationKind kind : record.get().getKindsList()) {
      switch (kind) {
        case PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER, PARTICIPATION_KIND_AI_COMPUTE_PROVIDER,
            PARTICIPATION_KIND_SUPERCOMPUTING_PROVIDER -> roles.add(CallerRole.CALLER_ROLE_PROVIDER);
        case PARTICIPATION_KIND_DEDICATED_LINE -> roles.add(CallerRole.CALLER_ROLE_LINE_PROVIDER);
        case PARTICIPATION_KIND_RESALE_SCHEDULING -> roles.add(CallerRole.CALLER_ROLE_RESELLER);
        case PARTICIPATION_KIND_USER -> roles.add(CallerRole.CALLER_ROLE_USER);
        default -> { }
      }
    }
    if (roles.contains(CallerRole.CALLER_ROLE_RESELLER)
        && qualifications.isQualifiedReseller(participant)) {
      roles.add(CallerRole.CALLER_ROLE_USER); // SEC-007: a qualified reseller also counts as user
    }
    return roles;
  }
}
