package cn.cpin.regional;

import cn.cpin.identifier.v1.Endpoint;
import cn.cpin.identifier.v1.EndpointTransport;
import cn.cpin.identifier.v1.PrefixServiceGrpc;
import cn.cpin.identifier.v1.RegisterEndpointsRequest;
import cn.cpin.node.ChildNode;
import cn.cpin.node.IdentifierIssuer;
import cn.cpin.node.NodeContext;
import cn.cpin.node.monitoring.MonitoringUplinkServiceImpl;
import cn.cpin.node.trust.ChildNodeTrust;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.BindableService;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A regional node: what it shares with industry nodes, plus the identifier library (system D). */
final class RegionalNode extends ChildNode {
  private IdentifierLibrary library;
  private FilingOutbox outbox;

  RegionalNode() {
    super(NodeProfile.REGIONAL, "cpin-regional-node");
  }

  @Override
  public List<BindableService> services(NodeContext context, NodeTrust trust) {
    List<BindableService> services = new ArrayList<>(super.services(context, trust));
    library = new IdentifierLibrary(context.nodeCode(), context.store(), context.clock(),
        () -> {
          FilingOutbox current = outbox;
          if (current != null) {
            current.wake();
          }
        });
    services.add(new IdentifierServiceImpl(library));
    services.add(new MonitoringUplinkServiceImpl(monitoring().relay()));
    return services;
  }

  // The service center's participants and demands get identifiers from this node's library,
  // issued as by its operator (IDN-008).
  @Override
  protected IdentifierIssuer identifierIssuer(NodeContext context, NodeTrust trust) {
    CpinIdentity operator = CpinIdentity.operator(context.nodeCode());
    return (requestId, kind, ownerId, attributes) -> Identifier.parse(library.issue(requestId,
        operator, kind, null, ownerId, attributes).getIdentifier());
  }

  @Override
  public List<AutoCloseable> started(NodeContext context, NodeTrust trust, String endpoint)
      throws Exception {
    List<AutoCloseable> running = new ArrayList<>(super.started(context, trust, endpoint));
    ChildNodeTrust child = (ChildNodeTrust) trust;
    outbox = new FilingOutbox(library, context.store(), child.nationalChannel(),
        child.filingLogKey(), context.events());
    outbox.start();
    registerEndpoint(context, child, endpoint);
    running.add(outbox);
    return running;
  }

  // IDN-023: where this node's prefix is served, so that any client can resolve it.
  private static void registerEndpoint(NodeContext context, ChildNodeTrust trust,
      String endpoint) {
    try {
      PrefixServiceGrpc.newBlockingStub(trust.nationalChannel())
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .registerEndpoints(RegisterEndpointsRequest.newBuilder()
              .setRequestId("endpoints-" + context.nodeCode() + "-" + endpoint.replace(':', '.'))
              .setPrefix(context.nodeCode().toString())
              .addEndpoints(Endpoint.newBuilder().setAddress(endpoint)
                  .setTransport(EndpointTransport.ENDPOINT_TRANSPORT_GRPC_MTLS))
              .build());
      context.events().info("prefix.registered", "prefix", context.nodeCode(),
          "endpoint", endpoint);
    } catch (StatusRuntimeException e) {
      context.events().warn("prefix.registration_failed", "status", e.getStatus().getCode(),
          "description", String.valueOf(e.getStatus().getDescription()));
    }
  }
}
