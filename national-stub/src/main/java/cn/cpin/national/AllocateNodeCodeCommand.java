package cn.cpin.national;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.identifier.v1.AllocateNodeCodeRequest;
import cn.cpin.identifier.v1.AllocateNodeCodeResponse;
import cn.cpin.identifier.v1.NodeCodeServiceGrpc;
import cn.cpin.node.NodeOptions;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import io.grpc.ManagedChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The national operator's tool for the first step of bringing a node in (SEC-002): allocate its
 * node code and hand its one-time enrollment token to the new node's operator.
 */
@Command(name = "allocate-node-code", mixinStandardHelpOptions = true,
    description = "As the national operator, allocate a regional or industry node code and "
        + "write its one-time enrollment token to a file.")
public final class AllocateNodeCodeCommand implements Callable<Integer> {
  @Option(names = "--national", defaultValue = "127.0.0.1:7860", paramLabel = "HOST:PORT",
      description = "The national node (default: ${DEFAULT-VALUE}).")
  private String national;

  @Option(names = "--operator-dir", defaultValue = "data/86/operator", paramLabel = "DIR",
      description = "The national operator's credentials: operator-key.pem, operator-chain.pem, "
          + "trust-anchors.pem (default: ${DEFAULT-VALUE}).")
  private Path operatorDir;

  @Option(names = "--role", required = true, description = "regional or industry")
  private String role;

  @Option(names = "--province", required = true, description = "GB/T 2260 code, e.g. 44")
  private String province;

  @Option(names = "--section", defaultValue = "",
      description = "GB/T 4754 section letter A-T, for an industry node")
  private String section;

  @Option(names = "--operator-name", required = true, description = "The new node's operator")
  private String operatorName;

  @Option(names = "--operator-credit-code", required = true,
      description = "The operator's Unified Social Credit Code")
  private String operatorCreditCode;

  @Option(names = "--token-file", required = true, paramLabel = "FILE",
      description = "Where to write the enrollment token (created readable by the owner only).")
  private Path tokenFile;

  @Override
  public Integer call() throws Exception {
    NodeRole nodeRole = switch (role) {
      case "regional" -> NodeRole.NODE_ROLE_REGIONAL;
      case "industry" -> NodeRole.NODE_ROLE_INDUSTRY;
      default -> throw new IllegalArgumentException("--role must be regional or industry");
    };
    AllocateNodeCodeResponse response = allocate(operatorDir, national, AllocateNodeCodeRequest
        .newBuilder()
        .setRequestId("allocate-" + role + "-" + province + section)
        .setRole(nodeRole)
        .setProvinceCode(province)
        .setIndustrySection(section)
        .setOperatorName(operatorName)
        .setOperatorCreditCode(operatorCreditCode)
        .build());
    writeToken(tokenFile, response.getEnrollmentToken());
    System.out.println("allocated " + response.getAllocation().getNodeCode()
        + "; enrollment token written to " + tokenFile);
    return 0;
  }

  /** Calls AllocateNodeCode as the national operator whose credentials are in {@code dir}. */
  public static AllocateNodeCodeResponse allocate(Path dir, String national,
      AllocateNodeCodeRequest request) throws Exception {
    ManagedChannel channel = NodeTls.channel(NodeOptions.parseAddress("--national", national),
        CredentialFiles.read(dir, "operator"),
        KeyMaterial.readCertificates(dir.resolve("trust-anchors.pem")),
        CpinIdentity.node(NodeCode.national()));
    try {
      return NodeCodeServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .allocateNodeCode(request);
    } finally {
      channel.shutdownNow();
    }
  }

  /** Writes a token file readable by its owner only. */
  public static void writeToken(Path file, String token) throws java.io.IOException {
    Files.deleteIfExists(file);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(
        PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
  }
}
