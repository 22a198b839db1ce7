package cn.cpin.node;

import cn.cpin.node.trust.NodeTrust;
import cn.cpin.node.trust.ParticipantRoles;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.BindableService;
import java.util.List;

/**
 * What a kind of node adds to the shared {@link NodeRuntime}: its profile, how it obtains its TLS
 * identity, and the services it implements. Every standard service of the profile it does not
 * implement is served as not yet implemented.
 */
public interface NodeKind {
  NodeProfile profile();

  /** Implementation name reported by NodeInfo, e.g. "cpin-regional-node". */
  String softwareName();

  /**
   * Loads this node's TLS identity, or establishes it on first start (the national stub creates
   * its CA; other nodes enroll). Called before the server starts, only in mutual TLS mode.
   */
  NodeTrust trust(NodeContext context) throws Exception;

  /** The services this kind implements; {@code trust} is null in plaintext development mode. */
  List<BindableService> services(NodeContext context, NodeTrust trust);

  /**
   * The roles participants registered at this node hold (SEC-007), read by access control on
   * every call; none for a node kind without a service center.
   */
  default ParticipantRoles participantRoles() {
    return ParticipantRoles.NONE;
  }

  /**
   * Starts what runs beside the services once the node serves (e.g. filing in the background);
   * returns what to close when the node stops. Not called in plaintext development mode.
   *
   * @param endpoint the address the node serves on, as peers should reach it
   */
  default List<AutoCloseable> started(NodeContext context, NodeTrust trust, String endpoint)
      throws Exception {
    return List.of();
  }
}
