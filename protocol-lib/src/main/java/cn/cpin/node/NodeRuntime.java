package cn.cpin.node;

import cn.cpin.common.v1.NodeRole;
import cn.cpin.node.v1.NodeInfo;
import cn.cpin.protocol.identifier.MalformedIdentifierException;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.profile.NodeProfile;
import com.google.protobuf.util.Timestamps;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The process shared by the national stub, regional and industry nodes: command-line checks, data
 * directory lock, gRPC server with health (NOD-001), reflection (NOD-002), NodeInfo (NOD-003), the
 * validation and error-mapping interceptors, the link to the parent node, and a clean stop on
 * SIGTERM (NOD-005).
 *
 * <p>Each node kind contributes only its profile and the services it implements; every other
 * standard service of the profile is served as {@link UnimplementedStandardService}.
 */
public final class NodeRuntime implements AutoCloseable {
  /** Exit status for a command line that cannot start a node. */
  public static final int EXIT_USAGE = 2;

  private static final long GRACE_SECONDS = 10;

  private final NodeProfile profile;
  private final EventLog events;
  private final Server server;
  private final HealthStatusManager health;
  private final ParentLink parentLink;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private boolean stopped;

  private NodeRuntime(NodeProfile profile, EventLog events, Server server,
      HealthStatusManager health, ParentLink parentLink, FileChannel lockChannel, FileLock lock) {
    this.profile = profile;
    this.events = events;
    this.server = server;
    this.health = health;
    this.parentLink = parentLink;
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Runs a node until SIGTERM or SIGINT; the entry point of each node program.
   *
   * @return the process exit status
   */
  public static int run(NodeOptions options, NodeProfile profile, String softwareName,
      Function<NodeContext, List<BindableService>> services) {
    NodeRuntime node;
    try {
      node = start(options, profile, softwareName, services, System.out);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      return EXIT_USAGE;
    } catch (IOException | UncheckedIOException e) {
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
   * @throws IOException if the data directory or the listening address cannot be used
   */
  public static NodeRuntime start(NodeOptions options, NodeProfile profile, String softwareName,
      Function<NodeContext, List<BindableService>> services, PrintStream log) throws IOException {
    NodeCode code = nodeCode(options, profile.role());
    NodeCode parent = parentCode(options, code);
    if (!options.insecurePlaintextDev) {
      throw new IllegalArgumentException("mutual TLS is not available in this version yet; "
          + "to run plaintext on loopback for development, pass --insecure-plaintext-dev");
    }
    InetSocketAddress listen = NodeOptions.parseAddress("--listen", options.listen);
    requireLoopback("--listen", listen);
    InetSocketAddress parentAddress = null;
    if (parent != null) {
      parentAddress = NodeOptions.parseAddress("--parent", options.parent);
      requireLoopback("--parent", parentAddress);
    }

    EventLog events = new EventLog(code.toString(), log);
    Path dataDir = (options.dataDir != null ? options.dataDir : Path.of("data", code.toString()))
        .toAbsolutePath();
    Files.createDirectories(dataDir);
    FileChannel lockChannel = FileChannel.open(dataDir.resolve("node.lock"),
        StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock = tryLock(lockChannel);
    if (lock == null) {
      lockChannel.close();
      throw new IllegalArgumentException("data directory " + dataDir
          + " is in use by another node process");
    }

    NodeContext context = new NodeContext(code, dataDir, events);
    HealthStatusManager health = new HealthStatusManager();
    NettyServerBuilder builder = NettyServerBuilder.forAddress(listen)
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        // Interceptors run in reverse order of addition: error mapping is outermost.
        .intercept(new RequestValidationInterceptor())
        .intercept(new ErrorMappingInterceptor((method, e) -> events.error("rpc.unexpected_error",
            "method", method, "exception", e.toString())));
    Set<String> implemented = new HashSet<>();
    List<ServerServiceDefinition> definitions = new ArrayList<>();
    definitions.add(new NodeInfoServiceImpl(nodeInfo(code, parent, profile, softwareName,
        options.displayName)).bindService());
    for (BindableService service : services.apply(context)) {
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

    Server server;
    try {
      server = builder.build().start();
    } catch (IOException e) {
      lock.release();
      lockChannel.close();
      throw new IOException("cannot listen on " + options.listen + ": " + e.getMessage(), e);
    }
    for (ServiceDescriptor standard : profile.services()) {
      health.setStatus(standard.getName(), ServingStatus.SERVING);
    }
    health.setStatus(HealthStatusManager.SERVICE_NAME_ALL_SERVICES, ServingStatus.SERVING);

    events.warn("transport.plaintext_dev",
        "message", "INSECURE development mode: plaintext gRPC on loopback, no mutual TLS");
    events.info("node.started", "role", profile.role(), "software", softwareName,
        "listen", listen.getHostString() + ":" + server.getPort(), "data_dir", dataDir,
        "parent", parent == null ? "" : parent, "services", profile.services().size(),
        "not_yet_implemented", unimplemented.size());

    ParentLink link = null;
    if (parent != null) {
      link = new ParentLink(parent, NettyChannelBuilder.forAddress(parentAddress)
          .usePlaintext().build(), events);
      link.start();
    }
    return new NodeRuntime(profile, events, server, health, link, lockChannel, lock);
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
   * releases the data directory. Idempotent.
   */
  @Override
  public synchronized void close() {
    if (stopped) {
      return;
    }
    stopped = true;
    events.info("node.stopping", "grace_seconds", GRACE_SECONDS);
    health.enterTerminalState();
    if (parentLink != null) {
      parentLink.close();
    }
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
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      events.warn("node.unlock_failed", "error", e.getMessage());
    }
    events.info("node.stopped");
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

  // Null if another process, or another node in this JVM, holds the lock.
  private static FileLock tryLock(FileChannel channel) throws IOException {
    try {
      return channel.tryLock();
    } catch (java.nio.channels.OverlappingFileLockException e) {
      return null;
    }
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
