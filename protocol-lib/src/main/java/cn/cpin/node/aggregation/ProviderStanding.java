package cn.cpin.node.aggregation;

import cn.cpin.protocol.identifier.Identifier;

/**
 * Whether a provider may publish now (AGG-001): it must be APPROVED at the service center.
 */
@FunctionalInterface
public interface ProviderStanding {
  /**
   * @throws cn.cpin.protocol.error.CpinException FAILED_PRECONDITION if the provider is not
   *     APPROVED
   */
  void checkApproved(Identifier provider);
}
