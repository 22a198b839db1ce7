package cn.cpin.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EventLogTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final EventLog log = new EventLog("86.44", new PrintStream(bytes, true,
      StandardCharsets.UTF_8));

  @Test
  void writesOneJsonObjectPerEventWithTypedValues() {
    log.info("node.started", "port", 7861, "plaintext", true, "role", "NODE_ROLE_REGIONAL");

    String line = bytes.toString(StandardCharsets.UTF_8);
    assertThat(line).endsWith("}" + System.lineSeparator());
    assertThat(line.lines()).hasSize(1);
    assertThat(line).matches("\\{\"ts\":\"[0-9T:.\\-]+Z\",\"level\":\"INFO\",\"node\":\"86.44\","
        + "\"event\":\"node.started\",\"port\":7861,\"plaintext\":true,"
        + "\"role\":\"NODE_ROLE_REGIONAL\"\\}\\R");
  }

  @Test
  void escapesQuotesBackslashesAndControlCharactersSoALineStaysOneLine() {
    log.warn("x", "message", "a \"quoted\" \\ path\nnext\u0001");

    String line = bytes.toString(StandardCharsets.UTF_8);
    assertThat(line.lines()).hasSize(1);
    assertThat(line).contains("\"message\":\"a \\\"quoted\\\" \\\\ path\\nnext\\u0001\"");
  }

  @Test
  void rejectsAKeyWithoutValue() {
    assertThatThrownBy(() -> log.info("x", "lonely"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
