package cn.cpin.node;

import cn.cpin.node.trust.RevocationList;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.store.KeyValueStore;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Optional;

/**
 * What a node kind's trust and services get from the shared runtime when they are built.
 *
 * @param nodeCode this node's code
 * @param dataDirectory this node's state directory, locked by this process
 * @param events the node's structured event log
 * @param store the node's durable state
 * @param revocations the certificates this node refuses, from the national revocation feed
 * @param clock the node's clock
 * @param options the command line the node was started with
 */
public record NodeContext(NodeCode nodeCode, Path dataDirectory, EventLog events,
    KeyValueStore store, RevocationList revocations, Clock clock, NodeOptions options) {

  /** The endpoint of the node this node reports to (--parent), if it has one. */
  public Optional<InetSocketAddress> parentEndpoint() {
    return options.parent == null ? Optional.empty()
        : Optional.of(NodeOptions.parseAddress("--parent", options.parent));
  }

  /** The national node's endpoint: --national, or for a regional node its --parent. */
  public Optional<InetSocketAddress> nationalEndpoint() {
    if (options.national != null) {
      return Optional.of(NodeOptions.parseAddress("--national", options.national));
    }
    if (nodeCode.isRegional() && options.parent != null) {
      return Optional.of(NodeOptions.parseAddress("--parent", options.parent));
    }
    return Optional.empty();
  }
}
