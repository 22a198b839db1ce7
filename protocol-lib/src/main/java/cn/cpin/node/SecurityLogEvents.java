package cn.cpin.node;

/**
 * Names of the security-relevant {@link EventLog} events that the transport and access control
 * log and the monitoring collector reports upward (MON-002 category 11, MON-010).
 */
public final class SecurityLogEvents {
  /** A client certificate refused at the TLS handshake; keys {@code peer}, {@code reason}. */
  public static final String CONNECTION_REFUSED = "security.connection_refused";
  /** A call answered UNAUTHENTICATED; keys {@code rpc}, {@code peer}, {@code reason}. */
  public static final String CALL_UNAUTHENTICATED = "security.call_unauthenticated";
  /** A call answered PERMISSION_DENIED; keys {@code rpc}, {@code peer}, {@code reason}. */
  public static final String CALL_DENIED = "security.call_denied";

  private SecurityLogEvents() {}
}
