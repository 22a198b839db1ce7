package cn.cpin.protocol.validation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.groups.Tuple.tuple;

import cn.cpin.common.v1.ErrorReason;
import cn.cpin.identifier.v1.FileIdentifiersRequest;
import cn.cpin.identifier.v1.FilingEntry;
import cn.cpin.monitoring.v1.QueryMonitoringDataRequest;
import cn.cpin.node.v1.GetNodeInfoResponse;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.error.FieldViolation;
import cn.cpin.protocol.error.InvalidArgumentException;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The validator applies the standard's field rules to real CPIN request messages. */
class FieldRulesValidatorTest {
  private static final String RESOURCE = Identifier.of(NodeCode.parse("86.44"),
      IdentifierKind.RESOURCE, 1).toString();
  private static final String PARTICIPANT = Identifier.of(NodeCode.parse("86.44.C"),
      IdentifierKind.PARTICIPANT, 42).toString();
  private static final String CREDIT_CODE = "91440300708461136T";

  @Test
  void validRequestHasNoViolations() {
    FileIdentifiersRequest request = FileIdentifiersRequest.newBuilder()
        .setRequestId("req-1")
        .addEntries(FilingEntry.newBuilder().setIdentifier(RESOURCE).setOwnerId(PARTICIPANT))
        .build();

    assertThat(FieldRulesValidator.validate(request)).isEmpty();
  }

  @Test
  void everyViolationIsReportedWithItsPathAndReason() {
    FileIdentifiersRequest request = FileIdentifiersRequest.newBuilder()
        .setRequestId("has spaces")
        .addEntries(FilingEntry.newBuilder().setIdentifier(RESOURCE).setOwnerId(PARTICIPANT))
        .addEntries(FilingEntry.newBuilder()
            .setIdentifier(RESOURCE.toLowerCase(java.util.Locale.ROOT))
            .setOwnerId(PARTICIPANT.substring(0, PARTICIPANT.length() - 1) + "0"))
        .addEntries(FilingEntry.newBuilder())
        .build();

    assertThat(FieldRulesValidator.validate(request))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(
            tuple("request_id", ErrorReason.ERROR_REASON_REQUEST_ID_MALFORMED),
            tuple("entries[1].identifier", ErrorReason.ERROR_REASON_IDENTIFIER_MALFORMED),
            tuple("entries[1].owner_id", ErrorReason.ERROR_REASON_IDENTIFIER_CHECK_MISMATCH),
            tuple("entries[2].identifier", ErrorReason.ERROR_REASON_FIELD_REQUIRED));
  }

  @Test
  void requiredFieldsAndRepeatedBoundsAreEnforced() {
    FileIdentifiersRequest empty = FileIdentifiersRequest.getDefaultInstance();
    assertThat(FieldRulesValidator.validate(empty))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(
            tuple("request_id", ErrorReason.ERROR_REASON_FIELD_REQUIRED),
            tuple("entries", ErrorReason.ERROR_REASON_FIELD_REQUIRED));

    FileIdentifiersRequest.Builder tooMany = FileIdentifiersRequest.newBuilder()
        .setRequestId("r");
    for (int i = 0; i < 1001; i++) {
      tooMany.addEntries(FilingEntry.newBuilder().setIdentifier(RESOURCE));
    }
    assertThat(FieldRulesValidator.validate(tooMany.build()))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(tuple("entries", ErrorReason.ERROR_REASON_FIELD_TOO_LONG));
  }

  @Test
  void creditCodeInsideAOneofIsChecked() {
    RegisterParticipantRequest request = RegisterParticipantRequest.newBuilder()
        .setRequestId("r")
        .setOrganization(Organization.newBuilder().setCreditCode("91440300708461136O"))
        .build();

    assertThat(FieldRulesValidator.validate(request))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(tuple("organization.credit_code",
            ErrorReason.ERROR_REASON_CREDIT_CODE_FORBIDDEN_CHARACTER));
    assertThat(CreditCode.isValid(CREDIT_CODE)).isTrue();
  }

  @Test
  void repeatedStringsAreCheckedElementByElement() {
    QueryMonitoringDataRequest request = QueryMonitoringDataRequest.newBuilder()
        .addSourceNodeCodes("86.44")
        .addSourceNodeCodes("86.99")
        .setTimeWindow(cn.cpin.common.v1.TimeWindow.getDefaultInstance())
        .build();

    assertThat(FieldRulesValidator.validate(request))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(tuple("source_node_codes[1]", ErrorReason.ERROR_REASON_NODE_CODE_MALFORMED));
  }

  @Test
  void nestedMessagesArePrefixedWithTheirFieldName() {
    GetNodeInfoResponse message = GetNodeInfoResponse.newBuilder()
        .setNodeInfo(NodeInfo.newBuilder().setNodeCode("86.44").setOperatorCreditCode("123"))
        .build();

    assertThat(FieldRulesValidator.validate(message))
        .extracting(FieldViolation::field, FieldViolation::reason)
        .containsExactly(tuple("node_info.operator_credit_code",
            ErrorReason.ERROR_REASON_CREDIT_CODE_WRONG_LENGTH));
  }

  @Test
  void checkThrowsOneExceptionCarryingAllViolations() {
    assertThatThrownBy(() -> FieldRulesValidator.check(FileIdentifiersRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(InvalidArgumentException.class, e -> assertThat(e.violations())
            .extracting(FieldViolation::field).isEqualTo(List.of("request_id", "entries")));
  }

  @Test
  void descriptionsOfHugeValuesStayShort() {
    String huge = "86.44/R-" + "1".repeat(100_000);
    FileIdentifiersRequest request = FileIdentifiersRequest.newBuilder().setRequestId("r")
        .addEntries(FilingEntry.newBuilder().setIdentifier(huge)).build();

    List<FieldViolation> violations = FieldRulesValidator.validate(request);

    assertThat(violations).singleElement().satisfies(v -> {
      assertThat(v.reason()).isEqualTo(ErrorReason.ERROR_REASON_IDENTIFIER_TOO_LONG);
      assertThat(v.description()).hasSizeLessThan(200);
    });
  }
}
