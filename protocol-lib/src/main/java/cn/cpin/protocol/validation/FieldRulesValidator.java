package cn.cpin.protocol.validation;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.common.v1.FieldFormat;
import cn.cpin.common.v1.FieldRules;
import cn.cpin.common.v1.FieldRulesProto;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.creditcode.MalformedCreditCodeException;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.MalformedIdentifierException;
import cn.cpin.protocol.identifier.NodeCode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import com.google.protobuf.MapEntry;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Validates any request against the {@code (cpin.common.v1.field)} rules in its descriptor
 * (GEN-005), reporting every violation at once with its field path (GEN-002).
 *
 * <p>Because the rules live in the standard's descriptors, a field that carries an identifier is
 * validated on every RPC that takes it, with no code per RPC. Thread-safe.
 */
public final class FieldRulesValidator {
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

  /** Per message type, the fields worth visiting: those with rules or leading to some. */
  private static final Map<Descriptor, List<FieldDescriptor>> PLAN = new ConcurrentHashMap<>();

  private FieldRulesValidator() {}

  /** Throws {@link InvalidArgumentException} listing every violation, if there is any. */
  public static void check(Message request) {
    List<FieldViolation> violations = validate(request);
    if (!violations.isEmpty()) {
      throw new InvalidArgumentException(violations);
    }
  }

  /** Every violation in {@code message}, in field order; empty if it is valid. */
  public static List<FieldViolation> validate(Message message) {
    List<FieldViolation> out = new ArrayList<>();
    walk(message, "", out);
    return out;
  }

  private static void walk(Message message, String prefix, List<FieldViolation> out) {
    for (FieldDescriptor field : plan(message.getDescriptorForType())) {
      String path = prefix + field.getName();
      FieldRules rules = field.getOptions().getExtension(FieldRulesProto.field);
      if (field.isMapField()) {
        walkMap(message, field, path, out);
      } else if (field.isRepeated()) {
        int count = message.getRepeatedFieldCount(field);
        if (rules.getRequired() && count == 0) {
          out.add(required(path));
        } else if (rules.getMaxLength() > 0 && count > rules.getMaxLength()) {
          out.add(tooLong(path, rules.getMaxLength(), "elements"));
        } else {
          for (int i = 0; i < count; i++) {
            visit(field, rules, message.getRepeatedField(field, i), path + "[" + i + "]", out);
          }
        }
      } else if (field.getJavaType() == JavaType.MESSAGE && !message.hasField(field)) {
        if (rules.getRequired()) {
          out.add(required(path));
        }
      } else {
        visit(field, rules, message.getField(field), path, out);
      }
    }
  }

  private static void walkMap(
      Message message, FieldDescriptor field, String path, List<FieldViolation> out) {
    for (Object entry : (List<?>) message.getField(field)) {
      Message mapEntry = (Message) entry;
      Object key = mapEntry.getField(field.getMessageType().findFieldByName("key"));
      Object value = mapEntry instanceof MapEntry<?, ?> e ? e.getValue()
          : mapEntry.getField(field.getMessageType().findFieldByName("value"));
      if (value instanceof Message valueMessage) {
        walk(valueMessage, path + "[" + quote(key) + "].", out);
      }
    }
  }

  private static void visit(
      FieldDescriptor field, FieldRules rules, Object value, String path,
      List<FieldViolation> out) {
    if (value instanceof Message nested) {
      walk(nested, path + ".", out);
      return;
    }
    if (!(value instanceof String text)) {
      return;
    }
    if (text.isEmpty()) {
      if (rules.getRequired()) {
        out.add(required(path));
      }
      return;
    }
    if (rules.getMaxLength() > 0 && text.length() > rules.getMaxLength()) {
      out.add(tooLong(path, rules.getMaxLength(), "characters"));
      return;
    }
    FieldViolation violation = checkFormat(rules.getFormat(), text, path);
    if (violation != null) {
      out.add(violation);
    }
  }

  /** The violation of {@code text} against {@code format}, or null if it conforms. */
  static FieldViolation checkFormat(FieldFormat format, String text, String path) {
    try {
      switch (format) {
        case FIELD_FORMAT_IDENTIFIER -> Identifier.parse(text);
        case FIELD_FORMAT_NODE_CODE -> NodeCode.parse(text);
        case FIELD_FORMAT_CREDIT_CODE -> CreditCode.parse(text);
        case FIELD_FORMAT_REQUEST_ID -> {
          if (!REQUEST_ID.matcher(text).matches()) {
            return new FieldViolation(path,
                "request id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -",
                ErrorReason.ERROR_REASON_REQUEST_ID_MALFORMED);
          }
        }
        default -> {
          // FIELD_FORMAT_UNSPECIFIED or a format added by a newer standard: nothing to check.
        }
      }
      return null;
    } catch (MalformedIdentifierException e) {
      return new FieldViolation(path, e.getMessage(), reason(e.reason().name()));
    } catch (MalformedCreditCodeException e) {
      return new FieldViolation(path, e.getMessage(), reason(e.reason().name()));
    }
  }

  private static ErrorReason reason(String name) {
    return ErrorReason.valueOf("ERROR_REASON_" + name);
  }

  private static FieldViolation required(String path) {
    return new FieldViolation(path, "is required", ErrorReason.ERROR_REASON_FIELD_REQUIRED);
  }

  private static FieldViolation tooLong(String path, int max, String unit) {
    return new FieldViolation(path, "must have at most " + max + " " + unit,
        ErrorReason.ERROR_REASON_FIELD_TOO_LONG);
  }

  private static String quote(Object key) {
    return key instanceof String s ? "\"" + s + "\"" : String.valueOf(key);
  }

  private static List<FieldDescriptor> plan(Descriptor type) {
    List<FieldDescriptor> cached = PLAN.get(type);
    if (cached != null) {
      return cached;
    }
    List<FieldDescriptor> fields = new ArrayList<>();
    for (FieldDescriptor field : type.getFields()) {
      if (field.getOptions().hasExtension(FieldRulesProto.field)
          || (field.getJavaType() == JavaType.MESSAGE
              && leadsToRules(field.getMessageType(), new HashSet<>()))) {
        fields.add(field);
      }
    }
    List<FieldDescriptor> result = List.copyOf(fields);
    PLAN.put(type, result);
    return result;
  }

  // Whether some field reachable from `type` carries rules; `seen` stops recursive types.
  private static boolean leadsToRules(Descriptor type, Set<Descriptor> seen) {
    if (!seen.add(type)) {
      return false;
    }
    for (FieldDescriptor field : type.getFields()) {
      if (field.getOptions().hasExtension(FieldRulesProto.field)) {
        return true;
      }
      if (field.getJavaType() == JavaType.MESSAGE && leadsToRules(field.getMessageType(), seen)) {
        return true;
      }
    }
    return false;
  }
}
