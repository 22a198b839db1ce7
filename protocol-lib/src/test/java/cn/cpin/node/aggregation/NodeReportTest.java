package cn.cpin.node.aggregation;

import cn.cpin.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.AggregateDelta;
import cn.cpin.aggregation.v1.AggregateSnapshot;
import cn.cpin.aggregation.v1.NodeAggregationServiceGrpc;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.ReportAggregateRequest;
import cn.cpin.aggregation.v1.ReportAggregateResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceRejection;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.protocol.error.ErrorDetails;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.provider.ProviderClient;
import cn.cpin.provider.ResourceMix;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Industry → regional aggregation (AGG-009 … AGG-011) over an in-process transport. */
class NodeReportTest {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");
  static final NodeCode INDUSTRY = NodeCode.parse("86.44.C");
  static final Identifier PROVIDER = Identifier.of(INDUSTRY, IdentifierKind.PARTICIPANT, 5);

  @TempDir Path dir;
  AggregationNode regional;
  AggregationNode industry;
  AggregateUplink uplink;
  final ResourceMix mix = new ResourceMix(11);

  @BeforeEach
  void start() throws Exception {
    regional = new AggregationNode(REGIONAL, dir.resolve("r"), new MutableClock(AggregationNode.START));
    industry = new AggregationNode(INDUSTRY, dir.resolve("i"), new MutableClock(AggregationNode.START));
  }

  @AfterEach
  void stop() {
    if (regional == null || industry == null) {
      return;
    }
    if (uplink != null) {
      uplink.close();
    }
    assertThat(regional.unexpected).isEmpty();
    assertThat(industry.unexpected).isEmpty();
    industry.close();
    regional.close();
  }

  void startUplink() {
    uplink = new AggregateUplink(industry.inventory,
        regional.channelAs(CpinIdentity.node(INDUSTRY)), industry.events);
    uplink.start();
  }

  ProviderClient provider() {
    return new ProviderClient(industry.channelAs(CpinIdentity.participant(INDUSTRY, PROVIDER)),
        PROVIDER.toString());
  }

  /** A provider at the industry node that has published {@code resources} as its snapshot. */
  ProviderClient publishing(List<Resource> resources) throws Exception {
    ProviderClient client = provider();
    client.connect().get(5, TimeUnit.SECONDS);
    client.snapshot(resources).get(5, TimeUnit.SECONDS);
    return client;
  }

  @Test
  void regionalViewFollowsTheIndustryNodeAcrossDisconnectsAndRestarts() throws Exception {
    startUplink();
    List<Resource> resources = new ArrayList<>(mix.resources("x", 30));
    ProviderClient client = publishing(resources);
    String id = client.resourceId("x-0");
    await(() -> regional.inventory.size() == 30);
    Resource copy = regional.inventory.get(id).orElseThrow();
    assertThat(copy.getProvenance().getOriginNodeCode()).isEqualTo("86.44.C");
    assertThat(copy.getProvenance().getProviderId()).isEqualTo(PROVIDER.toString());
    assertThat(copy.getProvenance().getViaNodeCodesList()).containsExactly("86.44");

    // A change travels as a delta.
    resources.set(0, mix.changeFreeUnits(resources.get(0)));
    client.delta(List.of(resources.get(0)), List.of()).get(5, TimeUnit.SECONDS);
    int free = resources.get(0).getCapacity().getFreeUnits();
    await(() -> freeUnits(id) == free);

    // The regional node restarts; changes made meanwhile arrive by a delta from its version.
    regional.restart();
    resources.set(1, mix.changeFreeUnits(resources.get(1)));
    client.delta(List.of(resources.get(1)), List.of()).get(5, TimeUnit.SECONDS);
    String id1 = client.resourceId("x-1");
    int free1 = resources.get(1).getCapacity().getFreeUnits();
    await(() -> freeUnits(id1) == free1);
    assertThat(industry.logText()).contains("\"resume\":true");

    // The industry node restarts: it no longer knows what was acknowledged, so a snapshot.
    uplink.close();
    client.disconnect();
    industry.restart();
    startUplink();
    client = provider();
    assertThat(client.connect().get(5, TimeUnit.SECONDS).getAcknowledgedVersion()).isEqualTo(3);
    client.snapshot(resources.subList(0, 20)).get(5, TimeUnit.SECONDS);
    await(() -> offline(regional) == 10);
    assertThat(regional.inventory.size()).isEqualTo(30);
    assertThat(freeUnits(id1)).isEqualTo(free1);

    // A provider silent at the industry node reads OFFLINE at the regional node too.
    industry.clock.advance(AggregationNode.HEARTBEAT.multipliedBy(3).plusMillis(1));
    industry.inventory.sweep();
    await(() -> offline(regional) == 30);
    client.heartbeat().get(5, TimeUnit.SECONDS);
    await(() -> offline(regional) == 10);

    // AGG-011: a silent industry node's resources are OFFLINE at the regional node.
    regional.clock.advance(AggregationNode.HEARTBEAT.multipliedBy(3).plusMillis(1));
    assertThat(regional.inventory.get(id).orElseThrow().getStatus())
        .isEqualTo(ResourceStatus.RESOURCE_STATUS_OFFLINE);
  }

  @Test
  void aBurstOfChangesCutByARegionalRestartEndsExactlyAsPublished() throws Exception {
    regional.serveOnPool(); // acks arrive asynchronously, so deltas are really in flight
    regional.restart();
    startUplink();
    List<Resource> resources = new ArrayList<>(mix.resources("b", 40));
    ProviderClient client = publishing(resources);
    await(() -> regional.inventory.size() == 40);
    java.util.Random random = new java.util.Random(11);
    List<java.util.concurrent.CompletableFuture<?>> acks = new ArrayList<>();
    // Pipelined deltas (AGG-009): some are in flight or unacknowledged when the regional node
    // goes down; what they carried must arrive after the reconnect all the same.
    for (int i = 0; i < 120; i++) {
      int index = random.nextInt(resources.size());
      resources.set(index, mix.changeFreeUnits(resources.get(index)));
      acks.add(client.delta(List.of(resources.get(index)), List.of()));
    }
    // At once, while the last deltas are still on their way: nothing changes afterwards that
    // could cover for a change the uplink dropped.
    regional.restart();
    for (java.util.concurrent.CompletableFuture<?> ack : acks) {
      ack.get(10, TimeUnit.SECONDS);
    }
    await(() -> resources.stream().allMatch(r -> freeUnits(client.resourceId(r.getLocalKey()))
        == r.getCapacity().getFreeUnits()));
    assertThat(uplink.acknowledgedVersion()).isGreaterThan(1);
  }

  @Test
  void aDeltaNeverAcknowledgedBeforeTheRegionalNodeWentDownArrivesAfterTheReconnect()
      throws Exception {
    regional.serveOnPool();
    regional.restart();
    startUplink();
    List<Resource> resources = new ArrayList<>(mix.resources("h", 5));
    ProviderClient client = publishing(resources);
    await(() -> regional.inventory.size() == 5);
    long sent = uplink.sentVersion();
    regional.holdCalls();
    Resource changed = mix.changeFreeUnits(resources.get(0));
    client.delta(List.of(changed), List.of()).get(5, TimeUnit.SECONDS);
    await(() -> uplink.sentVersion() > sent);
    regional.restart(); // the delta is never handled; nothing else changes afterwards

    String id = client.resourceId("h-0");
    await(() -> freeUnits(id) == changed.getCapacity().getFreeUnits());
  }

  @Test
  void reportsAreAcceptedOnlyFromTheRegionsIndustryNodesForTheirOwnResources() throws Exception {
    Resource own = reported(Identifier.of(INDUSTRY, IdentifierKind.RESOURCE, 1), "86.44.C");
    Resource foreignId = reported(Identifier.of(NodeCode.parse("86.44.D"),
        IdentifierKind.RESOURCE, 2), "86.44.C");
    Resource foreignOrigin = reported(Identifier.of(INDUSTRY, IdentifierKind.RESOURCE, 3),
        "86.44.D");
    Resource noProvenance = reported(Identifier.of(INDUSTRY, IdentifierKind.RESOURCE, 4),
        "86.44.C").toBuilder().clearProvenance().build();
    Resource noId = reported(Identifier.of(INDUSTRY, IdentifierKind.RESOURCE, 5), "86.44.C")
        .toBuilder().clearResourceId().build();

    RawReporter reporter = new RawReporter(regional.channelAs(CpinIdentity.node(INDUSTRY)),
        "86.44.C");
    ReportAggregateResponse ack = reporter.send(ReportAggregateRequest.newBuilder()
        .setSnapshot(AggregateSnapshot.newBuilder().setVersion(1).setLastChunk(true)
            .addAllResources(List.of(own, foreignId, foreignOrigin, noProvenance, noId))));
    assertThat(ack.getStatus()).isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(ack.getRejectionsList()).extracting(ResourceRejection::getReason)
        .containsExactly("NOT_OWNER", "NOT_OWNER", "FIELD_REQUIRED", "FIELD_REQUIRED");
    assertThat(regional.inventory.size()).isEqualTo(1);
    assertThat(regional.inventory.get(own.getResourceId()).orElseThrow().getProvenance()
        .getViaNodeCodesList()).containsExactly("86.44");
    // Same version rules as providers.
    assertThat(reporter.send(ReportAggregateRequest.newBuilder().setDelta(AggregateDelta
        .newBuilder().setBaseVersion(0).setVersion(2))).getStatus())
        .isEqualTo(AckStatus.ACK_STATUS_RESYNC_REQUIRED);
    assertThat(reporter.send(ReportAggregateRequest.newBuilder().setDelta(AggregateDelta
        .newBuilder().setBaseVersion(0).setVersion(1))).getStatus())
        .isEqualTo(AckStatus.ACK_STATUS_DUPLICATE);
    ReportAggregateResponse removed = reporter.send(ReportAggregateRequest.newBuilder()
        .setDelta(AggregateDelta.newBuilder().setBaseVersion(1).setVersion(2)
            .addRemovedResourceIds(own.getResourceId())
            .addRemovedResourceIds(foreignId.getResourceId())));
    assertThat(removed.getRejectionsList()).extracting(ResourceRejection::getResourceId)
        .containsExactly(foreignId.getResourceId());
    assertThat(regional.inventory.get(own.getResourceId()).orElseThrow().getStatus())
        .isEqualTo(ResourceStatus.RESOURCE_STATUS_OFFLINE);

    for (CpinIdentity stranger : List.of(CpinIdentity.node(NodeCode.parse("86.45.C")),
        CpinIdentity.participant(REGIONAL, Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT,
            9)), CpinIdentity.node(NodeCode.parse("86.11")))) {
      RawReporter wrong = new RawReporter(regional.channelAs(stranger),
          stranger.nodeCode().toString());
      assertThatThrownBy(() -> wrong.send(ReportAggregateRequest.newBuilder()
          .setHeartbeat(cn.cpin.aggregation.v1.AggregateHeartbeat.getDefaultInstance())))
          .as(stranger.uri())
          .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
              .isEqualTo(Status.Code.PERMISSION_DENIED));
    }
    RawReporter impostor = new RawReporter(regional.channelAs(CpinIdentity.node(INDUSTRY)),
        "86.44.D");
    assertThatThrownBy(() -> impostor.send(ReportAggregateRequest.newBuilder()
        .setHeartbeat(cn.cpin.aggregation.v1.AggregateHeartbeat.getDefaultInstance())))
        .satisfies(e -> assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason())
            .isEqualTo("NOT_OWNER"));
  }

  Resource reported(Identifier id, String origin) {
    return mix.resource("k" + id.serial()).toBuilder().setResourceId(id.toString())
        .setProviderId(PROVIDER.toString())
        .setProvenance(Provenance.newBuilder().setOriginNodeCode(origin)
            .setProviderId(PROVIDER.toString())).build();
  }

  int freeUnits(String id) {
    return regional.inventory.get(id).map(r -> r.getCapacity().getFreeUnits()).orElse(-1);
  }

  static long offline(AggregationNode node) {
    return node.inventory.list(new Inventory.Filter(null, java.util.Set.of(), null, null,
        ResourceStatus.RESOURCE_STATUS_OFFLINE, null), "", 100_000).size();
  }

  static void await(BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not met within 20 s");
      }
      Thread.sleep(10);
    }
  }

  /** Hand-made report messages on one stream. */
  static final class RawReporter {
    private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private final StreamObserver<ReportAggregateRequest> requests;
    private final String source;
    private long sequence;

    RawReporter(Channel channel, String source) {
      this.source = source;
      requests = NodeAggregationServiceGrpc.newStub(channel).reportAggregate(
          new StreamObserver<>() {
            @Override
            public void onNext(ReportAggregateResponse value) {
              answers.add(value);
            }

            @Override
            public void onError(Throwable t) {
              answers.add(t);
            }

            @Override
            public void onCompleted() {}
          });
    }

    ReportAggregateResponse send(ReportAggregateRequest.Builder request) throws Exception {
      requests.onNext(request.setSourceNodeCode(source).setSequenceNumber(++sequence).build());
      Object answer = answers.poll(10, TimeUnit.SECONDS);
      if (answer instanceof StatusRuntimeException e) {
        throw e;
      }
      if (!(answer instanceof ReportAggregateResponse r)) {
        throw new AssertionError("unexpected answer " + answer);
      }
      return r;
    }
  }
}
