package cn.cpin.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.conformance.federation.LocalFederation;
import cn.cpin.identifier.v1.FilingReceipt;
import cn.cpin.identifier.v1.FilingServiceGrpc;
import cn.cpin.identifier.v1.FilingStatus;
import cn.cpin.identifier.v1.GetIdentifierRecordRequest;
import cn.cpin.identifier.v1.GetInclusionProofRequest;
import cn.cpin.identifier.v1.GetInclusionProofResponse;
import cn.cpin.identifier.v1.IdentifierKind;
import cn.cpin.identifier.v1.IdentifierRecord;
import cn.cpin.identifier.v1.IdentifierServiceGrpc;
import cn.cpin.identifier.v1.IssueIdentifierRequest;
import cn.cpin.identifier.v1.PrefixRecord;
import cn.cpin.identifier.v1.PrefixServiceGrpc;
import cn.cpin.identifier.v1.ResolveIdentifierRequest;
import cn.cpin.identifier.v1.ResolvePrefixRequest;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.filing.FilingEncoding;
import cn.cpin.protocol.filing.MerkleProofs;
import cn.cpin.protocol.filing.TreeHeadSigner;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.KeyMaterial;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flow 2 across the three running nodes over mutual TLS: identifiers issued at the regional node,
 * by its operator and by its industry node, are filed at the national node with an inclusion proof
 * any client can verify, and resolvable through the national prefix root.
 */
class IdentifierRoundTripTest {
  @TempDir
  static Path dataRoot;

  private static LocalFederation federation;
  private static final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    federation = LocalFederation.start(ReferenceFederationConformanceTest.freeBasePort(), dataRoot,
        System.out, null);
  }

  @AfterAll
  static void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (federation != null) {
      federation.close();
    }
  }

  @Test
  void issuedIdentifiersAreFiledProvablyAndResolvable() throws Exception {
    ManagedChannel asRegionalOperator = channel("86.44", dataRoot.resolve("86.44/operator"),
        "operator");
    ManagedChannel asIndustryNode = channel("86.44", dataRoot.resolve("86.44.C/pki"), "node");

    IdentifierRecord viaIndustry = IdentifierServiceGrpc.newBlockingStub(asIndustryNode)
        .issueIdentifier(IssueIdentifierRequest.newBuilder().setRequestId("round-trip-2")
            .setKind(IdentifierKind.IDENTIFIER_KIND_PARTICIPANT).build()).getRecord();
    IssueIdentifierRequest resource = IssueIdentifierRequest.newBuilder()
        .setRequestId("round-trip-1").setKind(IdentifierKind.IDENTIFIER_KIND_RESOURCE)
        .setOwnerId(viaIndustry.getIdentifier()).putAttributes("site", "Shaoguan").build();
    IdentifierRecord byOperator = IdentifierServiceGrpc.newBlockingStub(asRegionalOperator)
        .issueIdentifier(resource).getRecord();
    IdentifierRecord retried = IdentifierServiceGrpc.newBlockingStub(asRegionalOperator)
        .issueIdentifier(resource).getRecord();

    assertThat(byOperator.getIdentifier()).startsWith("86.44/R-");
    assertThat(viaIndustry.getIdentifier()).startsWith("86.44.C/P-");
    assertThat(retried).isEqualTo(byOperator);

    PublicKey logKey = new CredentialFiles(dataRoot.resolve("86.44")).filingLogKey().orElseThrow();
    ManagedChannel national = federation.operatorChannel(federation.node("86"));
    for (IdentifierRecord issued : List.of(byOperator, viaIndustry)) {
      IdentifierRecord filed = awaitFiled(asRegionalOperator, issued.getIdentifier());
      GetInclusionProofResponse proof = FilingServiceGrpc.newBlockingStub(national)
          .getInclusionProof(GetInclusionProofRequest.newBuilder()
              .setIdentifier(issued.getIdentifier()).build());
      assertThat(TreeHeadSigner.verify(proof.getTreeHead(), logKey)).isTrue();
      assertThat(proof.getEntry().getRecordDigest()).isEqualTo(ByteString.copyFrom(
          FilingEncoding.recordDigest(filed.getIdentifier(), filed.getKindValue(),
              filed.getIssuingNodeCode(), filed.getOwnerId(), filed.getIssuedAt(),
              filed.getAttributesMap())));
      assertThat(MerkleProofs.verifyInclusion(FilingEncoding.leafHash(proof.getEntry()),
          proof.getLeafIndex(), proof.getTreeSize(), proof.getAuditPathList().stream()
              .map(ByteString::toByteArray).toList(),
          proof.getTreeHead().getRootHash().toByteArray())).isTrue();
      assertThat(filed.getFilingReceipt().getLeafIndex()).isEqualTo(proof.getLeafIndex());
      // The record's own receipt proves it too, as IDN-013 has it (with a batch proof, IDN-030,
      // the regional node derives the path it does not keep).
      FilingReceipt receipt = filed.getFilingReceipt();
      assertThat(TreeHeadSigner.verify(receipt.getTreeHead(), logKey)).isTrue();
      assertThat(MerkleProofs.verifyInclusion(receipt.getLeafHash().toByteArray(),
          receipt.getLeafIndex(), receipt.getTreeHead().getTreeSize(), receipt.getAuditPathList()
              .stream().map(ByteString::toByteArray).toList(),
          receipt.getTreeHead().getRootHash().toByteArray())).isTrue();

      // Resolution: the national root names the serving node, which answers for the identifier.
      PrefixRecord prefix = PrefixServiceGrpc.newBlockingStub(national)
          .resolvePrefix(ResolvePrefixRequest.newBuilder()
              .setPrefix(NodeCode.parse(issued.getIssuingNodeCode()).toString()).build())
          .getRecord();
      assertThat(prefix.getServingNodeCode()).isEqualTo("86.44");
      String endpoint = prefix.getEndpoints(0).getAddress();
      assertThat(endpoint).isEqualTo(federation.node("86.44").endpoint());
      assertThat(IdentifierServiceGrpc.newBlockingStub(channelTo(endpoint, "86.44"))
          .resolveIdentifier(ResolveIdentifierRequest.newBuilder()
              .setIdentifier(issued.getIdentifier()).build())
          .getRecord().getIdentifier()).isEqualTo(issued.getIdentifier());
    }
  }

  private static IdentifierRecord awaitFiled(ManagedChannel channel, String identifier)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (true) {
      IdentifierRecord record = IdentifierServiceGrpc.newBlockingStub(channel)
          .getIdentifierRecord(GetIdentifierRecordRequest.newBuilder().setIdentifier(identifier)
              .build()).getRecord();
      if (record.getFilingStatus() == FilingStatus.FILING_STATUS_FILED) {
        return record;
      }
      assertThat(System.nanoTime()).as("%s filed within 20 s, now %s", identifier,
          record.getFilingStatus()).isLessThan(deadline);
      Thread.sleep(100);
    }
  }

  // A channel to the node serving at endpoint, as the national operator (any authenticated
  // caller may resolve).
  private static ManagedChannel channelTo(String endpoint, String code) throws Exception {
    return channel(code, federation.operatorDirectory(), "operator", endpoint);
  }

  private static ManagedChannel channel(String code, Path credentials, String name)
      throws Exception {
    return channel(code, credentials, name, federation.node(code).endpoint());
  }

  private static ManagedChannel channel(String code, Path credentials, String name,
      String endpoint) throws Exception {
    int colon = endpoint.lastIndexOf(':');
    ManagedChannel channel = NodeTls.channel(new InetSocketAddress(endpoint.substring(0, colon),
            Integer.parseInt(endpoint.substring(colon + 1))), CredentialFiles.read(credentials, name),
        KeyMaterial.readCertificates(federation.trustAnchors()),
        CpinIdentity.node(NodeCode.parse(code)));
    channels.add(channel);
    return channel;
  }
}
