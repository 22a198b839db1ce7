/**
 * GB 32100-2015 Unified Social Credit Codes (SVC-001): {@link cn.cpin.protocol.creditcode.CreditCode}.
 *
 * <p>Plain Java with no gRPC or protobuf dependency.
 */
package cn.cpin.protocol.creditcode;
