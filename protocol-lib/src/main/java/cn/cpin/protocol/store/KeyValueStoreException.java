package cn.cpin.protocol.store;

/**
 * The store could not do what was asked: its server did not answer in time, refused the request
 * or is unreachable. When thrown by a write, the write may or may not have been applied.
 */
public class KeyValueStoreException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public KeyValueStoreException(String message, Throwable cause) {
    super(message, cause);
  }

  public KeyValueStoreException(String message) {
    super(message);
  }
}
