package cn.cpin.protocol;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 as lower-case hex, for keys derived from secrets or requests (never for signatures). */
public final class Sha256 {
  private Sha256() {}

  /** The SHA-256 of {@code text}'s UTF-8 bytes, as 64 lower-case hex digits. */
  public static String hex(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
