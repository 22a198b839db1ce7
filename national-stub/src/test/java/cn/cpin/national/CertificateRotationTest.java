package cn.cpin.national;

import static org.assertj.core.api.Assertions.assertThat;

import cn.cpin.node.v1.GetNodeInfoRequest;
import cn.cpin.node.v1.NodeInfoServiceGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import java.math.BigInteger;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * SEC-009: with short-lived node certificates, a regional node renews its certificate while it
 * serves and presents the renewed one on new connections, without a restart and without a failed
 * call.
 */
class CertificateRotationTest {
  private static final long RUN_MILLIS = 20_000;
  private static final long CALL_EVERY_MILLIS = 50;
  private static final long NEW_CHANNEL_EVERY_MILLIS = 2_000;

  @RegisterExtension
  final TrustNodes nodes = new TrustNodes();


  /**
   * With {@code --certificate-validity PT6S} a node certificate is renewed 4 s after it was
   * issued, so a 20 s run sees several certificates while calls keep succeeding.
   */
  @Test
  void regionalNodeRotatesItsCertificateWithoutFailingACall() throws Exception {
    nodes.startNational("--certificate-validity", "PT6S");
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));

    Set<BigInteger> serials = new LinkedHashSet<>();
    List<String> failures = new ArrayList<>();
    int calls = 0;
    long start = System.nanoTime();
    long end = start + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
    while (System.nanoTime() < end) {
      long channelEnd = Math.min(end, System.nanoTime()
          + TimeUnit.MILLISECONDS.toNanos(NEW_CHANNEL_EVERY_MILLIS));
      // A new channel, so a new handshake, which must see the node's current certificate.
      ManagedChannel channel = nodes.operatorChannel(regional);
      ServerCertificateRecorder recorder = new ServerCertificateRecorder();
      Channel recorded = ClientInterceptors.intercept(channel, recorder);
      try {
        while (System.nanoTime() < channelEnd) {
          calls++;
          try {
            NodeInfoServiceGrpc.newBlockingStub(recorded).withDeadlineAfter(5, TimeUnit.SECONDS)
                .getNodeInfo(GetNodeInfoRequest.getDefaultInstance());
          } catch (StatusRuntimeException e) {
            failures.add(elapsed(start) + " ms: " + e.getStatus());
          }
          Thread.sleep(CALL_EVERY_MILLIS);
        }
      } finally {
        channel.shutdownNow();
      }
      serials.addAll(recorder.serials());
    }
    long renewals = regional.count("certificate.renewed");

    System.out.println("rotation: " + calls + " calls in " + elapsed(start) + " ms, "
        + failures.size() + " failed, " + serials.size() + " server certificates seen on new "
        + "connections, " + renewals + " renewals logged by 86.44");
    assertThat(failures).as("failed calls out of %d", calls).isEmpty();
    assertThat(serials).as("server certificate serials seen on new connections")
        .hasSizeGreaterThanOrEqualTo(3);
    assertThat(renewals).isGreaterThanOrEqualTo(2)
        .as("about one renewal per 4 s, not a renewal storm").isLessThanOrEqualTo(10);
    assertThat(regional.events()).doesNotContain("certificate.renewal_failed");
  }

  /**
   * {@code --certificate-validity} says nodes renew at two thirds of it: with PT6S, 4 s after
   * issuance, although the CA backdates not-before by 60 s for clock skew (this once made nodes
   * renew in a tight loop).
   */
  @Test
  void shortValidityIsRenewedAtTwoThirdsOfIt() throws Exception {
    TrustNodes.Node national = nodes.startNational("--certificate-validity", "PT6S");
    TrustNodes.Node regional = nodes.startRegional("86.44", nodes.allocate("86.44"));

    Thread.sleep(9_000);

    // Renewals at about 4 s and 8 s after enrollment; allow one more for timing.
    assertThat(regional.count("certificate.renewed")).isBetween(1L, 3L);
    assertThat(national.count("certificate.renewed")).isBetween(1L, 3L);
  }

  private static long elapsed(long start) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /** Records the serial of the server's leaf certificate on each call's TLS session. */
  static final class ServerCertificateRecorder implements ClientInterceptor {
    private final Set<BigInteger> serials = new LinkedHashSet<>();

    synchronized Set<BigInteger> serials() {
      return new LinkedHashSet<>(serials);
    }

    private synchronized void record(SSLSession session) {
      if (session == null) {
        return;
      }
      try {
        serials.add(((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber());
      } catch (SSLPeerUnverifiedException e) {
        throw new IllegalStateException("server not verified", e);
      }
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
        MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next) {
      ClientCall<ReqT, RespT> call = next.newCall(method, options);
      return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
        @Override
        public void start(Listener<RespT> listener, Metadata headers) {
          super.start(new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
              listener) {
            @Override
            public void onHeaders(Metadata responseHeaders) {
              record(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
              super.onHeaders(responseHeaders);
            }
          }, headers);
        }
      };
    }
  }
}
