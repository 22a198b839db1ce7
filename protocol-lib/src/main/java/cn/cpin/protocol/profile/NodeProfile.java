package cn.cpin.protocol.profile;

import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.NodeAggregationServiceGrpc;
import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.common.v1.NodeRole;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.NodeCodeServiceGrpc;
import cn.cpin.identifier.v1.PrefixServiceGrpc;
import cn.cpin.monitoring.v1.MonitoringQueryServiceGrpc;
import cn.cpin.monitoring.v1.MonitoringUplinkServiceGrpc;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.selection.v1.DedicatedLineServiceGrpc;
import cn.cpin.selection.v1.OrderServiceGrpc;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import cn.cpin.servicecenter.v1.DemandServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.QualificationServiceGrpc;
import cn.cpin.trust.v1.EnrollmentServiceGrpc;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import cn.cpin.trust.v1.RevocationServiceGrpc;
import io.grpc.ServiceDescriptor;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The standard services each kind of node must serve (docs/spec/README.md, "Profiles"; NOD-002).
 *
 * <p>The reference nodes register exactly these, and the conformance suite expects exactly these
 * from a vendor's node of the same profile. Besides them every node serves grpc.health.v1.Health and
 * grpc.reflection.v1.ServerReflection.
 */
public enum NodeProfile {
  NATIONAL(NodeRole.NODE_ROLE_NATIONAL, List.of(
      NodeInfoServiceGrpc.getServiceDescriptor(),
      NodeCodeServiceGrpc.getServiceDescriptor(),
      PrefixServiceGrpc.getServiceDescriptor(),
      FilingServiceGrpc.getServiceDescriptor(),
      EnrollmentServiceGrpc.getServiceDescriptor(),
      RevocationServiceGrpc.getServiceDescriptor(),
      MonitoringUplinkServiceGrpc.getServiceDescriptor(),
      MonitoringQueryServiceGrpc.getServiceDescriptor())),

  REGIONAL(NodeRole.NODE_ROLE_REGIONAL, List.of(
      NodeInfoServiceGrpc.getServiceDescriptor(),
      IdentifierServiceGrpc.getServiceDescriptor(),
      ParticipantCertificateServiceGrpc.getServiceDescriptor(),
      ParticipantServiceGrpc.getServiceDescriptor(),
      QualificationServiceGrpc.getServiceDescriptor(),
      DemandServiceGrpc.getServiceDescriptor(),
      ProviderInventoryServiceGrpc.getServiceDescriptor(),
      NodeAggregationServiceGrpc.getServiceDescriptor(),
      InventoryServiceGrpc.getServiceDescriptor(),
      SelectionServiceGrpc.getServiceDescriptor(),
      DedicatedLineServiceGrpc.getServiceDescriptor(),
      OrderServiceGrpc.getServiceDescriptor(),
      MonitoringUplinkServiceGrpc.getServiceDescriptor())),

  INDUSTRY(NodeRole.NODE_ROLE_INDUSTRY, List.of(
      NodeInfoServiceGrpc.getServiceDescriptor(),
      ParticipantCertificateServiceGrpc.getServiceDescriptor(),
      ParticipantServiceGrpc.getServiceDescriptor(),
      QualificationServiceGrpc.getServiceDescriptor(),
      DemandServiceGrpc.getServiceDescriptor(),
      ProviderInventoryServiceGrpc.getServiceDescriptor(),
      InventoryServiceGrpc.getServiceDescriptor(),
      SelectionServiceGrpc.getServiceDescriptor(),
      DedicatedLineServiceGrpc.getServiceDescriptor(),
      OrderServiceGrpc.getServiceDescriptor()));

  private final NodeRole role;
  private final List<ServiceDescriptor> services;

  NodeProfile(NodeRole role, List<ServiceDescriptor> services) {
    this.role = role;
    this.services = services;
  }

  public NodeRole role() {
    return role;
  }

  /** The standard CPIN services of this profile, in the order of the spec's table. */
  public List<ServiceDescriptor> services() {
    return services;
  }

  /** The protocol packages (e.g. {@code cpin.identifier.v1}) this profile's services belong to. */
  public Set<String> protocolPackages() {
    Set<String> packages = new TreeSet<>();
    for (ServiceDescriptor service : services) {
      packages.add(service.getName().substring(0, service.getName().lastIndexOf('.')));
    }
    return packages;
  }

  /** The profile of {@code role}. */
  public static NodeProfile of(NodeRole role) {
    for (NodeProfile profile : values()) {
      if (profile.role == role) {
        return profile;
      }
    }
    throw new IllegalArgumentException("no profile for " + role);
  }

  /** Parses a command-line profile name: national, regional or industry. */
  public static NodeProfile parse(String name) {
    return valueOf(name.trim().toUpperCase(java.util.Locale.ROOT));
  }
}
