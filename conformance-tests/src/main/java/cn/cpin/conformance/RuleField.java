package cn.cpin.conformance;

import cn.cpin.common.v1.FieldFormat;
import cn.cpin.common.v1.FieldRules;
import cn.cpin.common.v1.FieldRulesProto;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor.JavaType;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Message;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A string field of a request type that carries a format rule, reached from the request through
 * {@code path}; the suite learns them from the standard's descriptors, as a node's validator does.
 */
record RuleField(List<FieldDescriptor> path, FieldRules rules) {
  private static final int MAX_DEPTH = 6;

  FieldFormat format() {
    return rules.getFormat();
  }

  /** The field path a node must name in its BadRequest, e.g. {@code resources[0].owner_id}. */
  String violationPath() {
    return path.stream()
        .map(f -> f.isRepeated() ? f.getName() + "[0]" : f.getName())
        .collect(Collectors.joining("."));
  }

  /** Whether the field sits directly in the request, outside any oneof. */
  boolean isTopLevelPlain() {
    return path.size() == 1 && path.get(0).getRealContainingOneof() == null
        && !path.get(0).isRepeated();
  }

  /** Every string field with a format rule reachable from {@code request}, depth-first. */
  static List<RuleField> find(Descriptor request) {
    List<RuleField> out = new ArrayList<>();
    collect(request, new ArrayList<>(), new HashSet<>(), out);
    return out;
  }

  private static void collect(Descriptor type, List<FieldDescriptor> prefix, Set<Descriptor> onPath,
      List<RuleField> out) {
    if (prefix.size() >= MAX_DEPTH || !onPath.add(type)) {
      return;
    }
    for (FieldDescriptor field : type.getFields()) {
      List<FieldDescriptor> path = new ArrayList<>(prefix);
      path.add(field);
      if (field.getJavaType() == JavaType.STRING
          && field.getOptions().hasExtension(FieldRulesProto.field)) {
        FieldRules rules = field.getOptions().getExtension(FieldRulesProto.field);
        if (rules.getFormat() != FieldFormat.FIELD_FORMAT_UNSPECIFIED) {
          out.add(new RuleField(List.copyOf(path), rules));
        }
      } else if (field.getJavaType() == JavaType.MESSAGE && !field.isMapField()) {
        collect(field.getMessageType(), path, onPath, out);
      }
    }
    onPath.remove(type);
  }

  /** Sets this field to {@code value} in {@code request}, creating the messages on the way. */
  void set(DynamicMessage.Builder request, String value) {
    set(request, 0, value);
  }

  private void set(Message.Builder builder, int i, String value) {
    FieldDescriptor field = path.get(i);
    if (i == path.size() - 1) {
      if (field.isRepeated()) {
        builder.addRepeatedField(field, value);
      } else {
        builder.setField(field, value);
      }
      return;
    }
    Message.Builder child = builder.newBuilderForField(field);
    if (field.isRepeated()) {
      if (builder.getRepeatedFieldCount(field) > 0) {
        child.mergeFrom((Message) builder.getRepeatedField(field, 0));
        set(child, i + 1, value);
        builder.setRepeatedField(field, 0, child.build());
      } else {
        set(child, i + 1, value);
        builder.addRepeatedField(field, child.build());
      }
    } else {
      if (builder.hasField(field)) {
        child.mergeFrom((Message) builder.getField(field));
      }
      set(child, i + 1, value);
      builder.setField(field, child.build());
    }
  }
}
