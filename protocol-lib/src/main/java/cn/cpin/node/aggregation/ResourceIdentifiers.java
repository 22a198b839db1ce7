package cn.cpin.node.aggregation;

/**
 * Issues the unified identifier (kind R) of a provider's resource under this node's code, through
 * the regional identifier library (AGG-005, flow 2). Implementations are idempotent per
 * (provider, local key): asking again returns the same identifier, also after a restart.
 */
@FunctionalInterface
public interface ResourceIdentifiers {
  /**
   * @return the identifier text
   * @throws cn.cpin.protocol.error.CpinException UNAVAILABLE if the library cannot be reached
   */
  String issue(String providerId, String localKey);
}
