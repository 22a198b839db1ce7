package cn.cpin.node;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.protocol.error.InvalidArgumentException;

/** The standard's page sizes (GEN-013): 0 means 100, more than 1,000 means 1,000. */
public final class Paging {
  public static final int DEFAULT_PAGE = 100;
  public static final int MAX_PAGE = 1000;

  private Paging() {}

  /** The page size to serve for a requested {@code page_size}. */
  public static int size(int requested) {
    if (requested < 0) {
      throw InvalidArgumentException.of("page_size", "must not be negative",
          ErrorReason.ERROR_REASON_INVALID_FIELDS);
    }
    return requested == 0 ? DEFAULT_PAGE : Math.min(MAX_PAGE, requested);
  }
}
