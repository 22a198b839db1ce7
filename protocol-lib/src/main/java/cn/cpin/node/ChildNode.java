package cn.cpin.node;

import cn.cpin.node.trust.ChildNodeTrust;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.node.trust.ParticipantCertificateIssuer;
import cn.cpin.node.trust.ParticipantCertificateServiceImpl;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.BindableService;
import java.util.ArrayList;
import java.util.List;

/**
 * What regional and industry nodes share: enrollment with the national node, and the systems both
 * run (A, B, C, F). The two differ in profile, and a regional node adds its own systems.
 */
public class ChildNode implements NodeKind {
  private final NodeProfile profile;
  private final String softwareName;

  public ChildNode(NodeProfile profile, String softwareName) {
    this.profile = profile;
    this.softwareName = softwareName;
  }

  @Override
  public NodeProfile profile() {
    return profile;
  }

  @Override
  public String softwareName() {
    return softwareName;
  }

  @Override
  public NodeTrust trust(NodeContext context) throws Exception {
    return ChildNodeTrust.open(context);
  }

  @Override
  public List<BindableService> services(NodeContext context, NodeTrust trust) {
    List<BindableService> services = new ArrayList<>();
    if (trust != null) {
      services.add(new ParticipantCertificateServiceImpl(
          new ParticipantCertificateIssuer(context.nodeCode(),
              () -> trust.issuingCa().orElseThrow(() -> new IllegalStateException(
                  "node " + context.nodeCode() + " has no issuing CA"))),
          trust::trustAnchors));
    }
    return services;
  }
}
