/**
 * The CPIN identifier codec (IDN-001, IDN-002, IDN-004): {@link cn.cpin.protocol.identifier.NodeCode},
 * {@link cn.cpin.protocol.identifier.Identifier} and the ISO/IEC 7064 MOD 1271-36 check-character
 * system {@link cn.cpin.protocol.identifier.Mod1271_36}.
 *
 * <p>Plain Java with no gRPC or protobuf dependency; the request validator maps
 * {@link cn.cpin.protocol.identifier.MalformedIdentifierException.Reason} names to
 * {@code cpin.common.v1.ErrorReason}.
 */
package cn.cpin.protocol.identifier;
