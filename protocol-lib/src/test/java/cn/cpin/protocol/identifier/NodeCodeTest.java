package cn.cpin.protocol.identifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.protocol.identifier.MalformedIdentifierException.Reason;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class NodeCodeTest {

  @Test
  void national() {
    NodeCode code = NodeCode.parse("86");
    assertThat(code).isSameAs(NodeCode.national());
    assertThat(code.isNational()).isTrue();
    assertThat(code.isRegional()).isFalse();
    assertThat(code.isIndustry()).isFalse();
    assertThat(code.province()).isEmpty();
    assertThat(code.section()).isEmpty();
    assertThat(code.parent()).isEmpty();
    assertThat(code.regionalParent()).isEmpty();
    assertThat(code).hasToString("86");
  }

  @Test
  void regional() {
    NodeCode code = NodeCode.parse("86.44");
    assertThat(code).isEqualTo(NodeCode.regional("44"));
    assertThat(code.isRegional()).isTrue();
    assertThat(code.isNational()).isFalse();
    assertThat(code.isIndustry()).isFalse();
    assertThat(code.province()).contains("44");
    assertThat(code.section()).isEmpty();
    assertThat(code.parent()).contains(NodeCode.national());
    assertThat(code.regionalParent()).contains(code);
    assertThat(code).hasToString("86.44");
  }

  @Test
  void industry() {
    NodeCode code = NodeCode.parse("86.44.C");
    assertThat(code).isEqualTo(NodeCode.industry("44", 'C'));
    assertThat(code.isIndustry()).isTrue();
    assertThat(code.isNational()).isFalse();
    assertThat(code.isRegional()).isFalse();
    assertThat(code.province()).contains("44");
    assertThat(code.section()).contains('C');
    assertThat(code.parent()).contains(NodeCode.regional("44"));
    assertThat(code.regionalParent()).contains(NodeCode.regional("44"));
    assertThat(code).hasToString("86.44.C");
  }

  @Test
  void allAllocatableCodesRoundTrip() {
    Set<String> texts = new HashSet<>();
    texts.add("86");
    for (String province : NodeCode.provinceCodes()) {
      texts.add("86." + province);
      for (char section = 'A'; section <= 'T'; section++) {
        texts.add("86." + province + "." + section);
      }
    }
    assertThat(texts).hasSize(1 + 31 + 31 * 20);
    for (String text : texts) {
      assertThat(NodeCode.parse(text)).hasToString(text);
      assertThat(NodeCode.isValid(text)).isTrue();
    }
  }

  @Test
  void provincesAreTheGbt2260List() {
    assertThat(NodeCode.provinceCodes()).hasSize(31).startsWith("11").endsWith("65")
        .contains("44", "50", "54").doesNotContain("10", "16", "24", "47", "71", "81", "82");
    assertThat(NodeCode.isKnownSection('A')).isTrue();
    assertThat(NodeCode.isKnownSection('T')).isTrue();
    assertThat(NodeCode.isKnownSection('U')).isFalse();
    assertThat(NodeCode.isKnownSection('c')).isFalse();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "", "8", "6", "68", "87", "86.", "86.4", "86.444", "86.44.", "86.44.CC", "86.44.c", "86.44.1",
      "86.44/C", "86,44", "86 44", " 86", "86 ", "86.4A", "86..44", "086", "86.44.C.", "86.99",
      "86.00", "86.10", "86.71", "86.81", "86.44.U", "86.44.Z", "86.99.A", "８６"})
  void rejectsAnythingElse(String text) {
    assertThatThrownBy(() -> NodeCode.parse(text))
        .isInstanceOfSatisfying(MalformedIdentifierException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NODE_CODE_MALFORMED));
    assertThat(NodeCode.isValid(text)).isFalse();
  }

  @Test
  void messagesSayWhatIsWrong() {
    assertThatThrownBy(() -> NodeCode.parse("86.99")).hasMessageContaining("province 99");
    assertThatThrownBy(() -> NodeCode.parse("86.44.Z")).hasMessageContaining("section Z");
    assertThatThrownBy(() -> NodeCode.parse("")).hasMessageContaining("empty");
    assertThatThrownBy(() -> NodeCode.parse("87")).hasMessageContaining("\"86\"");
  }

  @Test
  void oversizeIsRejectedByLength() {
    String huge = "86.44.C".repeat(100_000);
    assertThatThrownBy(() -> NodeCode.parse(huge))
        .isInstanceOf(MalformedIdentifierException.class)
        .hasMessageContaining("longer than 7");
  }

  @Test
  void factoriesRejectUnknownProvinceOrSection() {
    assertThatThrownBy(() -> NodeCode.regional("99"))
        .isInstanceOfSatisfying(MalformedIdentifierException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NODE_CODE_MALFORMED));
    assertThatThrownBy(() -> NodeCode.industry("44", 'U'))
        .isInstanceOfSatisfying(MalformedIdentifierException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.NODE_CODE_MALFORMED));
    assertThatThrownBy(() -> NodeCode.industry("44", 'c'))
        .isInstanceOf(MalformedIdentifierException.class);
  }

  @Test
  void nullIsAProgrammingError() {
    assertThatThrownBy(() -> NodeCode.parse(null)).isInstanceOf(NullPointerException.class);
    assertThat(NodeCode.isValid(null)).isFalse();
  }
}
