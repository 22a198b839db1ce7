package cn.cpin.provider;

import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import cn.cpin.node.NodeOptions;
import cn.cpin.node.trust.CredentialFiles;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.protocol.creditcode.CreditCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.servicecenter.v1.ApproveParticipantRequest;
import cn.cpin.servicecenter.v1.Contact;
import cn.cpin.servicecenter.v1.Organization;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import cn.cpin.servicecenter.v1.RegisterParticipantRequest;
import cn.cpin.trust.v1.IssueParticipantCertificateRequest;
import cn.cpin.trust.v1.ParticipantCertificateServiceGrpc;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The demo of system B: registers simulated compute providers at a running regional or industry
 * node as its operator (flow 1: register, approve, enroll with the one-time token), then lets them
 * publish realistic inventories over mutual TLS and change free capacity (flow 4), printing what
 * the node's inventory holds (flow 5).
 */
@Command(name = "simulate-providers", mixinStandardHelpOptions = true,
    description = "Register simulated compute providers at a node and let them publish.")
public final class SimulateProviders implements Callable<Integer> {
  @Option(names = "--node", defaultValue = "127.0.0.1:7862", paramLabel = "HOST:PORT",
      description = "The node's endpoint (default: ${DEFAULT-VALUE}, the demo's industry node).")
  private String node;

  @Option(names = "--data-dir", required = true, paramLabel = "DIR",
      description = "The node's data directory; its operator/ and pki/ hold the credentials.")
  private Path dataDir;

  @Option(names = "--providers", defaultValue = "20",
      description = "Providers to register (default: ${DEFAULT-VALUE}).")
  private int providers;

  @Option(names = "--resources-per-provider", defaultValue = "3",
      description = "Resources each provider offers (default: ${DEFAULT-VALUE}).")
  private int resourcesEach;

  @Option(names = "--changes-per-second", defaultValue = "5",
      description = "Free-capacity changes per second across all providers (default: "
          + "${DEFAULT-VALUE}).")
  private double changesPerSecond;

  @Option(names = "--seconds", defaultValue = "30",
      description = "How long to publish changes (default: ${DEFAULT-VALUE}).")
  private int seconds;

  public static void main(String[] args) {
    System.exit(new CommandLine(new SimulateProviders()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    CredentialFiles files = new CredentialFiles(dataDir);
    Credentials operatorCredentials = files.operatorCredentials().orElseThrow(() ->
        new IllegalArgumentException("no operator credentials in " + files.operatorDirectory()));
    CpinIdentity nodeIdentity = CpinIdentity.node(
        CpinIdentity.fromCertificate(operatorCredentials.leaf()).nodeCode());
    InetSocketAddress address = NodeOptions.parseAddress("--node", node);
    List<ManagedChannel> open = new ArrayList<>();
    try {
      ManagedChannel operator = NodeTls.channel(address, operatorCredentials,
          files.trustAnchors(), nodeIdentity);
      ManagedChannel anonymous = NodeTls.channel(address, null, files.trustAnchors(),
          nodeIdentity);
      open.add(operator);
      open.add(anonymous);
      List<ManagedChannel> channels = new ArrayList<>();
      List<String> ids = new ArrayList<>();
      SecureRandom random = new SecureRandom();
      for (int i = 0; i < providers; i++) {
        String id = register(operator, random, i);
        ManagedChannel channel = NodeTls.channel(address, enroll(operator, anonymous, id),
            files.trustAnchors(), nodeIdentity);
        open.add(channel);
        channels.add(channel);
        ids.add(id);
      }
      System.out.printf("registered, approved and enrolled %d providers at %s%n", providers,
          nodeIdentity.nodeCode());
      try (ProviderSimulator simulator = new ProviderSimulator(channels, ids, resourcesEach,
          random.nextLong())) {
        List<ProviderSimulator.Provider> failed = simulator.connectAll(50,
            Duration.ofMinutes(2));
        System.out.printf("%d providers published their snapshots (%d failed); the node's "
            + "inventory holds %d resources%n", providers - failed.size(), failed.size(),
            count(operator));
        simulator.startHeartbeats(Duration.ofSeconds(10));
        ResourceMix mix = new ResourceMix(random.nextLong());
        Random pick = new Random(random.nextLong());
        AtomicLong acked = new AtomicLong();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long pause = (long) (1000 / Math.max(0.1, changesPerSecond));
        while (System.nanoTime() < end) {
          ProviderSimulator.Provider p = simulator.any(pick);
          p.change(pick.nextInt(resourcesEach), mix, r -> { })
              .thenAccept(ack -> acked.incrementAndGet());
          Thread.sleep(pause);
        }
        System.out.printf("%d changes acknowledged; the node's inventory holds %d resources%n",
            acked.get(), count(operator));
      }
      return 0;
    } finally {
      open.forEach(ManagedChannel::shutdownNow);
    }
  }

  private static String register(ManagedChannel operator, SecureRandom random, int i) {
    StringBuilder first17 = new StringBuilder("91440300");
    while (first17.length() < 17) {
      first17.append(CreditCode.ALPHABET.charAt(random.nextInt(CreditCode.ALPHABET.length())));
    }
    String creditCode = first17.toString() + CreditCode.checkCharacter(first17.toString());
    var participants = ParticipantServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(20, TimeUnit.SECONDS);
    String id = participants.registerParticipant(RegisterParticipantRequest.newBuilder()
            .setRequestId("simulated-provider-" + creditCode)
            .setOrganization(Organization.newBuilder().setCreditCode(creditCode)
                .setLegalName("模拟算力有限公司 " + i).setProvinceCode("44"))
            .setDisplayName("Simulated provider " + i)
            .addKinds(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER)
            .addKinds(ParticipationKind.PARTICIPATION_KIND_GENERAL_COMPUTE_PROVIDER)
            .addContacts(Contact.newBuilder().setName("Simulator"))
            .setTelecomLicenceNumber("B1-SIMULATED").build())
        .getParticipant().getParticipantId();
    return id;
  }

  private static Credentials enroll(ManagedChannel operator, ManagedChannel anonymous, String id)
      throws Exception {
    String token = ParticipantServiceGrpc.newBlockingStub(operator)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .approveParticipant(ApproveParticipantRequest.newBuilder()
            .setRequestId("simulated-approve-" + id.replace('/', '.')).setParticipantId(id)
            .setReason("simulated provider").build())
        .getCertificateEnrollmentToken();
    KeyPair keys = KeyMaterial.generateKeyPair();
    var chain = ParticipantCertificateServiceGrpc.newBlockingStub(anonymous)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .issueParticipantCertificate(IssueParticipantCertificateRequest.newBuilder()
            .setRequestId("simulated-enroll-" + id.replace('/', '.')).setParticipantId(id)
            .setEnrollmentToken(token)
            .setCsrDer(ByteString.copyFrom(KeyMaterial.createCsr(keys, id))).build())
        .getCertificateChain();
    List<X509Certificate> certificates = new ArrayList<>();
    for (ByteString der : chain.getCertificatesDerList()) {
      certificates.add(KeyMaterial.parseCertificate(der.toByteArray()));
    }
    return new Credentials(keys.getPrivate(), certificates);
  }

  private static long count(ManagedChannel operator) {
    long count = 0;
    String token = "";
    do {
      ListResourcesResponse page = InventoryServiceGrpc.newBlockingStub(operator)
          .withDeadlineAfter(20, TimeUnit.SECONDS)
          .listResources(ListResourcesRequest.newBuilder().setPageSize(1000)
              .setPageToken(token).build());
      count += page.getResourcesCount();
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    return count;
  }
}
