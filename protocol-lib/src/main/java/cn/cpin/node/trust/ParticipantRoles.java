package cn.cpin.node.trust;

import cn.cpin.common.v1.CallerRole;
import cn.cpin.protocol.identifier.Identifier;
import java.util.Set;

/**
 * The roles a registered participant holds because of its kinds of participation (provider, line
 * provider, reseller, user). The service center supplies them; until it does, none.
 */
@FunctionalInterface
public interface ParticipantRoles {
  ParticipantRoles NONE = participant -> Set.of();

  Set<CallerRole> rolesOf(Identifier participant);
}
