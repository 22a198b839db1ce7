package cn.cpin.conformance;

import cn.cpin.common.v1.FieldFormat;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Values a conforming node must reject for each field format, each named by what is wrong. They
 * are derived from valid values with the reference codec so that exactly one thing is wrong.
 */
final class MalformedSamples {
  private MalformedSamples() {}

  static Map<String, String> forFormat(FieldFormat format) {
    Map<String, String> samples = new LinkedHashMap<>();
    switch (format) {
      case FIELD_FORMAT_IDENTIFIER -> {
        String valid = Identifier.of(NodeCode.parse("86.44"), IdentifierKind.RESOURCE, 1L)
            .toString();
        samples.put("wrong check character", replaceLast(valid));
        samples.put("lower case", valid.toLowerCase(java.util.Locale.ROOT));
        samples.put("oversize (2,000 characters)", "86.44/R-" + "1".repeat(1992));
        samples.put("unknown province", valid.replace("86.44", "86.99"));
        samples.put("no kind", "86.44/1");
      }
      case FIELD_FORMAT_NODE_CODE -> {
        samples.put("unknown province", "86.99");
        samples.put("unknown industry section", "86.44.Z");
        samples.put("wrong separator", "86-44");
      }
      case FIELD_FORMAT_CREDIT_CODE -> {
        String first17 = "91440300MA5F" + "00001";
        String valid = first17 + CreditCode.checkCharacter(first17);
        samples.put("wrong check character", replaceLast(valid));
        samples.put("forbidden letter O", "91440300MA5FO0001" + valid.charAt(17));
        samples.put("17 characters", valid.substring(0, 17));
      }
      case FIELD_FORMAT_REQUEST_ID -> {
        samples.put("contains spaces", "not a valid id");
        samples.put("65 characters", "r".repeat(65));
      }
      default -> {
        // No format, nothing to reject.
      }
    }
    return samples;
  }

  // Replaces the last character by another character of the same class.
  private static String replaceLast(String valid) {
    char last = valid.charAt(valid.length() - 1);
    char other = last == '1' ? '2' : '1';
    return valid.substring(0, valid.length() - 1) + other;
  }
}
