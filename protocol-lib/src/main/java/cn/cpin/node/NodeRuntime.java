package cn.cpin.node;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.node.trust.CertificateRenewer;
import cn.cpin.node.trust.NodeTls;
import cn.cpin.node.trust.NodeTrust;
import cn.cpin.node.trust.RevocationList;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.protocol.identifier.MalformedIdentifierException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.CpinPeerVerifier;
import cn.cpin.protocol.pki.KeyMaterial;
import cn.cpin.protocol.profile.NodeProfile;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.EtcdKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import com.google.protobuf.util.Timestamps;
import io.grpc.BindableService;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The process shared by the national stub, regional and industry nodes: command-line checks, data
 * directory lock and store, mutual TLS with renewal and revocation (SEC), the gRPC server with
 * health (NOD-001), reflection (NOD-002) and NodeInfo (NOD-003), the access-control, validation and
 * error-mapping interceptors, the link to the parent node, and a clean stop on SIGTERM (NOD-005).
 *
 * <p>Each {@link NodeKind} contributes its profile, its trust bootstrap and the services it
 * implements; every other standard service of the profile is served as
 * {@link UnimplementedStandardService}.
 */
public final class NodeRuntime implements AutoCloseable {
  /** Exit status for a command line that cannot start a node. */
  public static final int EXIT_USAGE = 2;

  private static final long GRACE_SECONDS = 10;

  private final NodeProfile profile;
  private final EventLog events;
  private final Server server;
  private final HealthStatusManager health;
  private final List<AutoCloseable> resources;
  private boolean stopped;

  private NodeRuntime(NodeProfile profile, EventLog events, Server server,
      HealthStatusManager health, List<AutoCloseable> resources) {
    this.profile = profile;
    this.events = events;
    this.server = server;
    this.health = health;
    this.resources = resources;
  }

  /**
   * Runs a node until SIGTERM or SIGINT; the entry point of each node program.
   *
   * @return the process exit status
   */
  public static int run(NodeOptions options, NodeKind kind) {
    NodeRuntime node;
    try {
      node = start(options, kind, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return EXIT_USAGE;
    } catch (Exception e) {
      System.err.println("error: " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "node-shutdown"));
    node.awaitTermination();
    return 0;
  }

  /**
   * Starts a node and returns once it serves; for programs and tests that manage its life.
   *
   * @throws IllegalArgumentException if the options are inconsistent, with a message for the user
   * @throws Exception if the data directory, the address or the enrollment fails
   */
  public static NodeRuntime start(NodeOptions options, NodeKind kind, PrintStream log)
      throws Exception {
    NodeProfile profile = kind.profile();
    NodeCode code = nodeCode(options, profile.role());
    NodeCode parent = parentCode(options, code);
    boolean plaintext = options.insecurePlaintextDev;
    InetSocketAddress listen = NodeOptions.parseAddress("--listen", options.listen);
    InetSocketAddress parentAddress = parent == null ? null
        : NodeOptions.parseAddress("--parent", options.parent);
    if (plaintext) {
      requireLoopback("--listen", listen);
      if (parentAddress != null) {
        requireLoopback("--parent", parentAddress);
      }
    }

    EventLog events = new EventLog(code.toString(), log);
    Path dataDir = (options.dataDir != null ? options.dataDir : Path.of("data", code.toString()))
        .toAbsolutePath();
    Files.createDirectories(dataDir);
    List<AutoCloseable> resources = new ArrayList<>();
    try {
      resources.add(lockDataDirectory(dataDir));
      KeyValueStore store = options.etcdEndpoints == null || options.etcdEndpoints.isEmpty()
          ? EmbeddedKeyValueStore.open(dataDir.resolve("state.mv"))
          : EtcdKeyValueStore.connect(options.etcdEndpoints, "/cpin/" + code + "/");
      resources.add(store);
      RevocationList revocations = new RevocationList(store);
      Clock clock = Clock.systemUTC();
      NodeContext context = new NodeContext(code, dataDir, events, store, revocations, clock,
          options);

      NodeTrust trust = null;
      NodeTls tls = null;
      NettyServerBuilder builder = NettyServerBuilder.forAddress(listen);
      builder.intercept(new RequestValidationInterceptor());
      if (plaintext) {
        events.warn("transport.plaintext_dev", "message", "INSECURE development mode: plaintext "
            + "gRPC on loopback, no mutual TLS, no access control");
      } else {
        trust = kind.trust(context);
        resources.add(trust);
        List<X509Certificate> anchors = new ArrayList<>(trust.trustAnchors());
        if (options.testTrustAnchor != null) {
          anchors.addAll(KeyMaterial.readCertificates(options.testTrustAnchor));
          events.warn("trust.test_anchor", "file", options.testTrustAnchor,
              "message", "TESTING ONLY: an extra CA is trusted");
        }
        CpinPeerVerifier verifier = new CpinPeerVerifier(anchors, clock);
        verifier.setRevoked(revocations::isRevoked);
        tls = new NodeTls(trust.credentials(), verifier);
        builder.sslContext(tls.serverContext((peer, reason) -> events.warn(
            SecurityLogEvents.CONNECTION_REFUSED, "peer", peer, "reason", reason)));
        builder.intercept(new AccessControlInterceptor(code, verifier, revocations::isRevoked,
            clock, participant -> kind.participantRoles().rolesOf(participant)));
      }
      // Interceptors run in reverse order of addition: error mapping outermost, then access
      // control, then validation (GEN-024).
      builder.intercept(new ErrorMappingInterceptor((method, e) -> events.error(
          "rpc.unexpected_error", "method", method, "exception", e.toString()),
          (method, status, peer) -> events.warn(status.getCode() == Status.Code.PERMISSION_DENIED
              ? SecurityLogEvents.CALL_DENIED : SecurityLogEvents.CALL_UNAUTHENTICATED,
              "rpc", method, "peer", peer, "reason", String.valueOf(status.getDescription()))));

      HealthStatusManager health = new HealthStatusManager();
      builder.addService(health.getHealthService())
          .addService(ProtoReflectionServiceV1.newInstance());
      List<String> unimplemented = addServices(builder, profile, kind.services(context, trust),
          nodeInfo(code, parent, profile, kind.softwareName(), options.displayName));
      Server server;
      try {
        server = builder.build().start();
      } catch (IOException e) {
        throw new IOException("cannot listen on " + options.listen + ": " + e.getMessage(), e);
      }
      resources.add(() -> server.shutdownNow());
      for (ServiceDescriptor standard : profile.services()) {
        health.setStatus(standard.getName(), ServingStatus.SERVING);
      }
      health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);
      events.info("node.started", "role", profile.role(), "software", kind.softwareName(),
          "listen", listen.getHostString() + ":" + server.getPort(), "data_dir", dataDir,
          "transport", plaintext ? "plaintext-dev" : "mtls",
          "store", options.etcdEndpoints == null ? "embedded" : "etcd", "parent", parent == null ? ""
              : parent, "services", profile.services().size(),
          "not_yet_implemented", unimplemented.size());

      if (trust != null) {
        trust.started(tls);
        CertificateRenewer renewer = new CertificateRenewer(tls, trust.renewal(), events, clock);
        renewer.start();
        resources.add(renewer);
        String host = listen.getAddress().isAnyLocalAddress() ? "127.0.0.1"
            : listen.getHostString();
        resources.addAll(kind.started(context, trust, host + ":" + server.getPort()));
      }
      if (parent != null) {
        ManagedChannel channel = plaintext
            ? NettyChannelBuilder.forAddress(parentAddress).usePlaintext().build()
            : tls.channel(parentAddress, CpinIdentity.node(parent));
        ParentLink link = new ParentLink(parent, channel, events);
        link.start();
        resources.add(link);
      }
      return new NodeRuntime(profile, events, server, health, resources);
    } catch (Exception | Error e) {
      closeAll(resources, events);
      throw e;
    }
  }

  private static List<String> addServices(NettyServerBuilder builder, NodeProfile profile,
      List<BindableService> services, NodeInfo info) {
    Set<String> implemented = new HashSet<>();
    List<ServerServiceDefinition> definitions = new ArrayList<>();
    definitions.add(new NodeInfoServiceImpl(info).bindService());
    for (BindableService service : services) {
      definitions.add(service.bindService());
    }
    for (ServerServiceDefinition definition : definitions) {
      implemented.add(definition.getServiceDescriptor().getName());
      builder.addService(definition);
    }
    List<String> unimplemented = new ArrayList<>();
    for (ServiceDescriptor standard : profile.services()) {
      if (!implemented.contains(standard.getName())) {
        builder.addService(UnimplementedStandardService.of(standard));
        unimplemented.add(standard.getName());
      }
    }
    return unimplemented;
  }

  /** The port the node serves on. */
  public int port() {
    return server.getPort();
  }

  public NodeProfile profile() {
    return profile;
  }

  /** Blocks until the server has terminated. */
  public void awaitTermination() {
    try {
      server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Stops cleanly: reports NOT_SERVING, lets calls in flight finish for a grace period, then
   * closes the store and releases the data directory. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    stopped = true;
    events.info("node.stopping", "grace_seconds", GRACE_SECONDS);
    health.enterTerminalState();
    server.shutdown();
    try {
      if (!server.awaitTermination(GRACE_SECONDS, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(2, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    closeAll(resources, events);
    events.info("node.stopped");
  }

  // Newest first, so the store outlives what writes to it and the lock outlives the store.
  private static void closeAll(List<AutoCloseable> resources, EventLog events) {
    for (int i = resources.size() - 1; i >= 0; i--) {
      try {
        resources.get(i).close();
      } catch (Exception e) {
        events.warn("node.close_failed", "resource", resources.get(i).getClass().getSimpleName(),
            "error", String.valueOf(e.getMessage()));
      }
    }
    resources.clear();
  }

  private static AutoCloseable lockDataDirectory(Path dataDir) throws IOException {
    FileChannel channel = FileChannel.open(dataDir.resolve("node.lock"),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      lock = null; // held by another node in this JVM
    }
    if (lock == null) {
      channel.close();
      throw new IllegalArgumentException("data directory " + dataDir
          + " is in use by another node process");
    }
    FileLock held = lock;
    return () -> {
      held.release();
      channel.close();
    };
  }

  private static NodeCode nodeCode(NodeOptions options, NodeRole role) {
    String text = options.nodeCode;
    if (text == null) {
      if (role != NodeRole.NODE_ROLE_NATIONAL) {
        throw new IllegalArgumentException("--node-code is required for a "
            + roleName(role) + " node");
      }
      return NodeCode.national();
    }
    NodeCode code;
    try {
      code = NodeCode.parse(text);
    } catch (MalformedIdentifierException e) {
      throw new IllegalArgumentException("--node-code: " + e.getMessage());
    }
    boolean fits = switch (role) {
      case NODE_ROLE_NATIONAL -> code.isNational();
      case NODE_ROLE_REGIONAL -> code.isRegional();
      case NODE_ROLE_INDUSTRY -> code.isIndustry();
      default -> false;
    };
    if (!fits) {
      throw new IllegalArgumentException("--node-code " + code + " is not the code of a "
          + roleName(role) + " node (national 86, regional 86.PP, industry 86.PP.S)");
    }
    return code;
  }

  private static NodeCode parentCode(NodeOptions options, NodeCode code) {
    if (code.isNational()) {
      if (options.parent != null) {
        throw new IllegalArgumentException("the national node has no parent; remove --parent");
      }
      return null;
    }
    if (options.parent == null) {
      throw new IllegalArgumentException("--parent is required: a " + (code.isRegional()
          ? "regional node reports to the national node" : "an industry node reports to its "
          + "regional node " + code.parent().orElseThrow()));
    }
    return code.parent().orElseThrow();
  }

  private static void requireLoopback(String option, InetSocketAddress address) {
    if (address.isUnresolved() || !address.getAddress().isLoopbackAddress()) {
      throw new IllegalArgumentException(option + " " + address.getHostString()
          + " is not a loopback address; plaintext development mode is limited to loopback");
    }
  }

  private static NodeInfo nodeInfo(NodeCode code, NodeCode parent, NodeProfile profile,
      String softwareName, String displayName) {
    NodeInfo.Builder info = NodeInfo.newBuilder()
        .setNodeCode(code.toString())
        .setRole(profile.role())
        .setParentNodeCode(parent == null ? "" : parent.toString())
        .setDisplayName(displayName == null ? roleName(profile.role()) + " node " + code
            : displayName)
        .setSoftwareName(softwareName)
        .setSoftwareVersion(Version.current())
        .setStartedAt(Timestamps.fromMillis(System.currentTimeMillis()));
    profile.services().stream().map(ServiceDescriptor::getName).forEach(info::addServiceNames);
    profile.protocolPackages().forEach(info::addProtocolPackages);
    return info.build();
  }

  /** The software version, from the jar manifest; "dev" when run from classes. */
  public static final class Version implements picocli.CommandLine.IVersionProvider {
    static String current() {
      String version = NodeRuntime.class.getPackage().getImplementationVersion();
      return version == null ? "dev" : version;
    }

    @Override
    public String[] getVersion() {
      return new String[] {current()};
    }
  }

  private static String roleName(NodeRole role) {
    return role.name().substring("NODE_ROLE_".length()).toLowerCase(java.util.Locale.ROOT);
  }
}
