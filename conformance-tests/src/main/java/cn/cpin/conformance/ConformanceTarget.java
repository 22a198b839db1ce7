package cn.cpin.conformance;

import cn.cpin.node.trust.NodeTls;
import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.protocol.pki.Credentials;
import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;

/**
 * The node under test: where it is, the profile it claims, and channels to it as whichever
 * identity a check needs. Over mutual TLS the suite trusts the target's CPIN root and presents
 * certificates of its own {@link SuitePki}; in plaintext development mode there is one channel and
 * the security checks are skipped. Closing the target closes every channel it opened.
 */
public final class ConformanceTarget implements AutoCloseable {
  private final String endpoint;
  private final InetSocketAddress address;
  private final NodeProfile profile;
  private final Duration deadline;
  private final List<X509Certificate> trustAnchors;
  private final SuitePki pki;
  private final Map<Object, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final InetSocketAddress national;
  private volatile NodeCode nodeCode;

  private ConformanceTarget(String endpoint, NodeProfile profile, Duration deadline,
      List<X509Certificate> trustAnchors, SuitePki pki, InetSocketAddress national) {
    this.endpoint = endpoint;
    this.address = parse(endpoint);
    this.profile = profile;
    this.deadline = deadline;
    this.trustAnchors = trustAnchors;
    this.pki = pki;
    this.national = national;
  }

  /** A node in plaintext development mode. */
  public static ConformanceTarget plaintext(String endpoint, NodeProfile profile,
      Duration deadline) {
    return new ConformanceTarget(endpoint, profile, deadline, null, null, null);
  }

  /**
   * A node over mutual TLS.
   *
   * @param trustAnchors the CPIN root(s) the target's certificate chains to
   * @param pki the suite's test CA, which the target trusts for the test
   * @param national the national node of the target's federation, for the revocation check; may
   *     be null (that check is then skipped)
   */
  public static ConformanceTarget mutualTls(String endpoint, NodeProfile profile,
      Duration deadline, List<X509Certificate> trustAnchors, SuitePki pki,
      InetSocketAddress national) {
    return new ConformanceTarget(endpoint, profile, deadline, List.copyOf(trustAnchors), pki,
        national);
  }

  public String endpoint() {
    return endpoint;
  }

  public NodeProfile profile() {
    return profile;
  }

  public Duration deadline() {
    return deadline;
  }

  public boolean isMutualTls() {
    return pki != null;
  }

  /** The suite's test CA; only over mutual TLS. */
  public SuitePki pki() {
    requireMutualTls();
    return pki;
  }

  public List<X509Certificate> trustAnchors() {
    requireMutualTls();
    return trustAnchors;
  }

  /** The national node to revoke at, if the run was given one. */
  public java.util.Optional<InetSocketAddress> national() {
    return java.util.Optional.ofNullable(national);
  }

  /** The target's node code as it reports it; learned with the first call. */
  public NodeCode nodeCode() {
    if (nodeCode == null) {
      ManagedChannel first = isMutualTls()
          ? channelAs(CpinIdentity.node(NodeCode.parse("86.11")))
          : channel();
      nodeCode = NodeCode.parse(NodeInfoServiceGrpc.newBlockingStub(first)
          .withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS)
          .getNodeInfo(GetNodeInfoRequest.getDefaultInstance()).getNodeInfo().getNodeCode());
    }
    return nodeCode;
  }

  /**
   * A channel as the identity that may call the most: the target's operator over mutual TLS,
   * the only channel in plaintext mode.
   */
  public ManagedChannel channel() {
    if (!isMutualTls()) {
      return channels.computeIfAbsent("plaintext", k -> NettyChannelBuilder.forAddress(address)
          .usePlaintext().build());
    }
    return channelAs(CpinIdentity.operator(nodeCode()));
  }

  /** A channel presenting valid suite credentials for {@code identity}. */
  public ManagedChannel channelAs(CpinIdentity identity) {
    requireMutualTls();
    return channels.computeIfAbsent(identity, id -> open(pki.credentials((CpinIdentity) id)));
  }

  /** A new channel presenting {@code credentials} (null: no client certificate). */
  public ManagedChannel channelWith(Credentials credentials) {
    requireMutualTls();
    ManagedChannel channel = open(credentials);
    channels.put(new Object(), channel);
    return channel;
  }

  private ManagedChannel open(Credentials credentials) {
    try {
      // The target's identity is checked by the suite's checks; here any CPIN node will do.
      return NodeTls.channel(address, credentials, trustAnchors, null);
    } catch (SSLException e) {
      throw new IllegalStateException("cannot set up TLS: " + e.getMessage(), e);
    }
  }

  private void requireMutualTls() {
    if (!isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode");
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
    channels.clear();
  }

  static InetSocketAddress parse(String endpoint) {
    int colon = endpoint.lastIndexOf(':');
    if (colon <= 0) {
      throw new IllegalArgumentException("--target must be HOST:PORT, got '" + endpoint + "'");
    }
    return new InetSocketAddress(endpoint.substring(0, colon),
        Integer.parseInt(endpoint.substring(colon + 1)));
  }
}
