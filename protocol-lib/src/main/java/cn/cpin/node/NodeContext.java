package cn.cpin.node;

import cn.cpin.protocol.identifier.NodeCode;
import java.nio.file.Path;

/**
 * What a node kind's services get from the shared runtime when they are built.
 *
 * @param nodeCode this node's code
 * @param dataDirectory this node's state directory, locked by this process
 * @param events the node's structured event log
 */
public record NodeContext(NodeCode nodeCode, Path dataDirectory, EventLog events) {}
