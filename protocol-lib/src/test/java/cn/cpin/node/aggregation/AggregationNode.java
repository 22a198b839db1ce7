package cn.cpin.node.aggregation;

import cn.cpin.testing.MutableClock;

import cn.cpin.node.ErrorMappingInterceptor;
import cn.cpin.node.EventLog;
import cn.cpin.node.RequestValidationInterceptor;
import cn.cpin.node.trust.AccessControlInterceptor;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.store.EmbeddedKeyValueStore;
import cn.cpin.protocol.store.KeyValueStore;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A node's aggregation services on an in-process transport, for unit tests: the callers are set
 * by a test interceptor from a header instead of a certificate; validation and error mapping are
 * the real interceptors. Can be restarted on its data directory.
 */
final class AggregationNode implements AutoCloseable {
  static final Metadata.Key<String> CALLER = Metadata.Key.of("x-test-caller",
      Metadata.ASCII_STRING_MARSHALLER);
  static final Duration HEARTBEAT = Duration.ofSeconds(10);

  final NodeCode code;
  final Path dir;
  static final java.time.Instant START = java.time.Instant.parse("2026-11-26T08:00:00Z");

  final MutableClock clock;
  final List<String> unexpected = new ArrayList<>();
  final ByteArrayOutputStream log = new ByteArrayOutputStream();
  final EventLog events;
  private final String name = InProcessServerBuilder.generateName();
  private final AtomicLong serials;
  private final Map<String, String> issued;
  KeyValueStore store;
  Inventory inventory;
  private Server server;
  /** Whether calls run on the transport's thread (the default) or on gRPC's own pool. */
  private boolean directExecutor = true;
  /** The running server's hold on the messages it receives (see {@link #holdCalls}). */
  private Hold hold;
  private final List<ManagedChannel> channels = new ArrayList<>();

  AggregationNode(NodeCode code, Path dir, MutableClock clock) throws Exception {
    this(code, dir, clock, new AtomicLong(), new ConcurrentHashMap<>());
  }

  private AggregationNode(NodeCode code, Path dir, MutableClock clock, AtomicLong serials,
      Map<String, String> issued) throws Exception {
    this.code = code;
    this.dir = dir;
    this.clock = clock;
    this.serials = serials;
    this.issued = issued;
    this.events = new EventLog(code.toString(), new PrintStream(log, true, StandardCharsets.UTF_8));
    start();
  }

  private void start() throws Exception {
    java.nio.file.Files.createDirectories(dir);
    store = EmbeddedKeyValueStore.open(dir.resolve("state.mv"));
    inventory = new Inventory(code, store, clock, HEARTBEAT);
    // Idempotent per (provider, local key), as the identifier library is per request id.
    ResourceIdentifiers identifiers = (provider, key) -> issued.computeIfAbsent(
        provider + "\n" + key,
        k -> Identifier.of(code, IdentifierKind.RESOURCE, serials.incrementAndGet()).toString());
    InProcessServerBuilder builder = InProcessServerBuilder.forName(name);
    if (directExecutor) {
      builder.directExecutor();
    }
    server = builder
        .addService(new ProviderInventoryServiceImpl(inventory, identifiers, provider -> { },
            clock))
        .addService(new NodeAggregationServiceImpl(inventory))
        .addService(new InventoryServiceImpl(new InventoryQueries(inventory, store)))
        .intercept(new RequestValidationInterceptor())
        .intercept(new TestCallers())
        .intercept(hold = new Hold())
        .intercept(new ErrorMappingInterceptor((method, e) -> unexpected.add(method + " " + e)))
        .build().start();
  }

  /**
   * From the next start on, handles calls on a pool as a network server does, so that a client
   * can have several messages in flight.
   */
  void serveOnPool() {
    directExecutor = false;
  }

  /**
   * From now until the next restart, messages that reach the node are not handled, as by a node
   * that hangs; the restart drops them. Needs {@link #serveOnPool}.
   */
  void holdCalls() {
    hold.holding = true;
  }

  /** Stops and starts again on the same data directory, as a node restart does. */
  void restart() throws Exception {
    stopServer();
    start();
  }

  private void stopServer() {
    hold.stopped = true;
    server.shutdownNow();
    store.close();
  }

  /** A channel on which calls come from {@code caller}. */
  ManagedChannel channelAs(CpinIdentity caller) {
    Metadata headers = new Metadata();
    headers.put(CALLER, caller.uri());
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor()
        .intercept(MetadataUtils.newAttachHeadersInterceptor(headers)).build();
    channels.add(channel);
    return channel;
  }

  String logText() {
    return log.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    channels.forEach(ManagedChannel::shutdownNow);
    stopServer();
  }

  /** Sets {@link AccessControlInterceptor#CALLER} from the test header. */
  /** Holds messages while asked to; drops them once its server has stopped. */
  private static final class Hold implements ServerInterceptor {
    volatile boolean holding;
    volatile boolean stopped;

    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
        ServerCallHandler<Q, A> next) {
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(
          next.startCall(call, headers)) {
        @Override
        public void onMessage(Q message) {
          while (holding && !stopped) {
            try {
              Thread.sleep(5);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              return;
            }
          }
          if (!stopped) {
            super.onMessage(message);
          }
        }
      };
    }
  }

  private static final class TestCallers implements ServerInterceptor {
    @Override
    public <Q, A> ServerCall.Listener<Q> interceptCall(ServerCall<Q, A> call, Metadata headers,
        ServerCallHandler<Q, A> next) {
      CpinIdentity caller = CpinIdentity.parseUri(headers.get(CALLER));
      return Contexts.interceptCall(
          Context.current().withValue(AccessControlInterceptor.CALLER, caller), call, headers,
          next);
    }
  }
}
