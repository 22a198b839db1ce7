package cn.cpin.node.aggregation;

import cn.cpin.testing.MutableClock;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.ListResourcesResponse;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceRejection;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.ComputeKind;
import cn.cpin.protocol.error.ErrorDetails;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.provider.ProviderClient;
import cn.cpin.provider.ResourceMix;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The provider interface at one node (AGG-001 … AGG-008, AGG-013, AGG-014), in process. */
class ProviderPublicationTest {
  static final NodeCode REGIONAL = NodeCode.parse("86.44");
  static final Identifier PROVIDER = Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT, 101);
  static final Identifier OTHER = Identifier.of(REGIONAL, IdentifierKind.PARTICIPANT, 102);

  @TempDir Path dir;
  AggregationNode node;
  final ResourceMix mix = new ResourceMix(42);

  @BeforeEach
  void start() throws Exception {
    node = new AggregationNode(REGIONAL, dir, new MutableClock(AggregationNode.START));
  }

  @AfterEach
  void stop() {
    assertThat(node.unexpected).isEmpty();
    node.close();
  }

  ProviderClient provider(Identifier id) {
    return new ProviderClient(node.channelAs(CpinIdentity.participant(REGIONAL, id)),
        id.toString());
  }

  static PublishInventoryResponse await(CompletableFuture<PublishInventoryResponse> f)
      throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }

  @Test
  void snapshotAssignsStableIdentifiersAndTheNodeSetsProvenance() throws Exception {
    ProviderClient client = provider(PROVIDER);
    await(client.connect());
    List<Resource> resources = new ArrayList<>(mix.resources("pool", 3));
    // AGG-008: provenance sent by a provider is ignored.
    resources.set(0, resources.get(0).toBuilder().setProvenance(Provenance.newBuilder()
        .setOriginNodeCode("86.11").addViaNodeCodes("86.12")).build());
    PublishInventoryResponse ack = await(client.snapshot(resources));
    assertThat(ack.getStatus()).isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(ack.getAcknowledgedVersion()).isEqualTo(1);
    assertThat(ack.getAssignmentsList()).hasSize(3);
    assertThat(ack.getHeartbeatInterval().getSeconds()).isEqualTo(10);
    String id = client.resourceId("pool-0");
    assertThat(Identifier.parse(id).kind()).isEqualTo(IdentifierKind.RESOURCE);
    assertThat(Identifier.parse(id).nodeCode()).isEqualTo(REGIONAL);

    Resource stored = get(id);
    assertThat(stored.getProvenance().getOriginNodeCode()).isEqualTo("86.44");
    assertThat(stored.getProvenance().getProviderId()).isEqualTo(PROVIDER.toString());
    assertThat(stored.getProvenance().getViaNodeCodesList()).isEmpty();
    assertThat(stored.getProvenance().hasReceivedAt()).isTrue();
    assertThat(stored.getProviderId()).isEqualTo(PROVIDER.toString());

    // AGG-005: the same local key keeps its identifier across snapshots and a restart.
    client.disconnect();
    node.restart();
    ProviderClient again = provider(PROVIDER);
    PublishInventoryResponse hello = await(again.connect());
    assertThat(hello.getAcknowledgedVersion()).as("AGG-004 survives a restart").isEqualTo(1);
    PublishInventoryResponse second = await(again.snapshot(mix.resources("pool", 4)));
    assertThat(second.getAcknowledgedVersion()).isEqualTo(2);
    assertThat(again.resourceId("pool-0")).isEqualTo(id);
    assertThat(again.resourceId("pool-3")).isNotIn(id, client.resourceId("pool-1"),
        client.resourceId("pool-2"));
  }

  @Test
  void badResourcesAreRefusedOneByOneAndTheRestApplied() throws Exception {
    ProviderClient client = provider(PROVIDER);
    await(client.connect());
    Resource good = mix.resource("good");
    Resource noKey = mix.resource("").toBuilder().build();
    Resource overfull = mix.resource("overfull").toBuilder()
        .setCapacity(Capacity.newBuilder().setTotalUnits(2).setFreeUnits(3)).build();
    Resource foreign = mix.resource("foreign").toBuilder().setProviderId(OTHER.toString()).build();
    Resource twiceA = mix.resource("twice");
    Resource twiceB = mix.resource("twice");
    Resource stolen = mix.resource("stolen").toBuilder()
        .setResourceId(Identifier.of(REGIONAL, IdentifierKind.RESOURCE, 999).toString()).build();
    PublishInventoryResponse ack = await(client.snapshot(List.of(good, noKey, overfull, foreign,
        twiceA, twiceB, stolen)));
    assertThat(ack.getStatus()).isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(ack.getAcknowledgedVersion()).isEqualTo(1);
    assertThat(ack.getRejectionsList()).extracting(ResourceRejection::getLocalKey)
        .containsExactly("", "overfull", "foreign", "twice", "twice", "stolen");
    assertThat(ack.getRejectionsList()).extracting(ResourceRejection::getReason)
        .containsExactly("FIELD_REQUIRED", "INVALID_FIELDS", "NOT_OWNER", "INVALID_FIELDS",
            "INVALID_FIELDS", "NOT_OWNER");
    assertThat(ack.getRejections(1).getMessage())
        .contains("snapshot.resources[2].capacity.free_units");
    assertThat(ack.getAssignmentsList()).hasSize(1);
    assertThat(list(ListResourcesRequest.getDefaultInstance()).getResourcesList())
        .extracting(Resource::getLocalKey).containsExactly("good");
  }

  @Test
  void chunkedSnapshotIsAppliedWholeAndUnlistedResourcesGoOffline() throws Exception {
    ProviderClient client = provider(PROVIDER);
    await(client.connect());
    await(client.snapshot(mix.resources("a", 3)));
    String a0 = client.resourceId("a-0");

    // A snapshot of 2 500 resources goes in three chunks; nothing is visible before the last.
    List<Resource> big = mix.resources("b", 2500);
    CompletableFuture<PublishInventoryResponse> done = client.snapshot(big);
    PublishInventoryResponse ack = await(done);
    assertThat(ack.getAcknowledgedVersion()).isEqualTo(2);
    assertThat(node.inventory.size()).isEqualTo(2503);
    assertThat(get(a0).getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_OFFLINE);
    assertThat(get(client.resourceId("b-2499")).getStatus())
        .isEqualTo(ResourceStatus.RESOURCE_STATUS_AVAILABLE);
  }

  @Test
  void chunksOutOfOrderAskForAResync() throws Exception {
    ProviderClient client = provider(PROVIDER);
    await(client.connect());
    await(client.snapshot(mix.resources("a", 2)));
    // Chunk 0 of version 2, then a delta before its last chunk: the snapshot is discarded.
    var raw = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, PROVIDER)),
        PROVIDER.toString());
    raw.heartbeat(1);
    assertThat(raw.snapshotChunk(2, 0, false, mix.resources("c", 2)).getStatus())
        .isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(list(ListResourcesRequest.getDefaultInstance()).getResourcesCount())
        .as("AGG-014: nothing of an incomplete snapshot is visible").isEqualTo(2);
    PublishInventoryResponse resync = raw.delta(1, 2, mix.resources("d", 1));
    assertThat(resync.getStatus()).isEqualTo(AckStatus.ACK_STATUS_RESYNC_REQUIRED);
    assertThat(resync.getAcknowledgedVersion()).isEqualTo(1);
    assertThat(raw.snapshotChunk(2, 1, true, mix.resources("e", 1)).getStatus())
        .as("a chunk without its chunk 0").isEqualTo(AckStatus.ACK_STATUS_RESYNC_REQUIRED);
    assertThat(raw.snapshotChunk(2, 0, false, mix.resources("f", 1)).getStatus())
        .isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(raw.snapshotChunk(3, 1, true, mix.resources("g", 1)).getStatus())
        .as("a chunk of another version").isEqualTo(AckStatus.ACK_STATUS_RESYNC_REQUIRED);
    assertThat(list(ListResourcesRequest.getDefaultInstance()).getResourcesList())
        .extracting(Resource::getLocalKey).containsExactly("a-0", "a-1");
  }

  @Test
  void deltasApplyOnlyOnTheAcknowledgedBaseAndReplaysAreDuplicates() throws Exception {
    var raw = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, PROVIDER)),
        PROVIDER.toString());
    Resource r = mix.resource("r");
    assertThat(raw.snapshotChunk(5, 0, true, List.of(r)).getAcknowledgedVersion()).isEqualTo(5);
    Resource changed = mix.changeFreeUnits(r);
    PublishInventoryResponse wrongBase = raw.delta(4, 6, List.of(changed));
    assertThat(wrongBase.getStatus()).isEqualTo(AckStatus.ACK_STATUS_RESYNC_REQUIRED);
    assertThat(only().getCapacity()).isEqualTo(r.getCapacity());
    PublishInventoryResponse applied = raw.delta(5, 6, List.of(changed));
    assertThat(applied.getStatus()).isEqualTo(AckStatus.ACK_STATUS_ACCEPTED);
    assertThat(applied.getAcknowledgedVersion()).isEqualTo(6);
    assertThat(only().getCapacity()).isEqualTo(changed.getCapacity());
    // AGG-004: the same version again, even with other content, changes nothing.
    PublishInventoryResponse replay = raw.delta(5, 6, List.of(r));
    assertThat(replay.getStatus()).isEqualTo(AckStatus.ACK_STATUS_DUPLICATE);
    assertThat(raw.snapshotChunk(3, 0, true, List.of()).getStatus())
        .isEqualTo(AckStatus.ACK_STATUS_DUPLICATE);
    assertThat(only().getCapacity()).isEqualTo(changed.getCapacity());
    // Removal by local key makes it OFFLINE, kept for orders.
    assertThat(raw.removeDelta(6, 7, List.of("r")).getAcknowledgedVersion()).isEqualTo(7);
    assertThat(only().getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_OFFLINE);
  }

  @Test
  void onlyTheProviderItselfPublishesAndStreamRulesHold() throws Exception {
    var asOther = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, OTHER)),
        PROVIDER.toString());
    assertThatThrownBy(() -> asOther.heartbeat(0))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.PERMISSION_DENIED))
        .satisfies(e -> assertThat(ErrorDetails.errorInfo(e).orElseThrow().getReason())
            .isEqualTo("NOT_OWNER"));
    var asNode = new RawPublisher(node.channelAs(CpinIdentity.node(NodeCode.parse("86.44.C"))),
        PROVIDER.toString());
    assertThatThrownBy(() -> asNode.heartbeat(0))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.PERMISSION_DENIED));

    var gap = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, PROVIDER)),
        PROVIDER.toString());
    gap.skipSequence();
    assertThatThrownBy(() -> gap.heartbeat(0))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.INVALID_ARGUMENT))
        .satisfies(e -> assertThat(ErrorDetails.fieldViolations(e).get(0).getField())
            .isEqualTo("sequence_number"));

    var changing = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, PROVIDER)),
        PROVIDER.toString());
    changing.heartbeat(0);
    changing.providerId = OTHER.toString();
    assertThatThrownBy(() -> changing.heartbeat(0))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.INVALID_ARGUMENT));

    var malformed = new RawPublisher(node.channelAs(CpinIdentity.participant(REGIONAL, PROVIDER)),
        PROVIDER.toString());
    assertThatThrownBy(() -> malformed.snapshotChunk(1, 0, true, List.of(mix.resource("m")
        .toBuilder().setResourceId("86.44/R-1").build())))
        .satisfies(e -> assertThat(ErrorDetails.fieldViolations(e).get(0).getField())
            .isEqualTo("snapshot.resources[0].resource_id"));
  }

  @Test
  void silentProviderGoesOfflineAfterThreeIntervalsAndReturns() throws Exception {
    ProviderClient client = provider(PROVIDER);
    await(client.connect());
    await(client.snapshot(mix.resources("h", 2)));
    String id = client.resourceId("h-0");
    node.clock.advance(AggregationNode.HEARTBEAT.multipliedBy(3));
    assertThat(get(id).getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_AVAILABLE);
    node.clock.advance(Duration.ofMillis(1));
    assertThat(get(id).getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_OFFLINE);
    assertThat(list(ListResourcesRequest.newBuilder()
        .setStatus(ResourceStatus.RESOURCE_STATUS_AVAILABLE).build()).getResourcesCount())
        .isZero();
    await(client.heartbeat());
    assertThat(get(id).getStatus()).isEqualTo(ResourceStatus.RESOURCE_STATUS_AVAILABLE);
  }

  @Test
  void listingFiltersOrdersAndPages() throws Exception {
    ProviderClient a = provider(PROVIDER);
    ProviderClient b = provider(OTHER);
    await(a.connect());
    await(b.connect());
    List<Resource> mine = mix.resources("p", 40);
    await(a.snapshot(mine));
    await(b.snapshot(mix.resources("q", 25)));
    List<Resource> all = new ArrayList<>();
    String token = "";
    do {
      ListResourcesResponse page = list(ListResourcesRequest.newBuilder().setPageSize(7)
          .setPageToken(token).build());
      assertThat(page.getResourcesCount()).isLessThanOrEqualTo(7);
      all.addAll(page.getResourcesList());
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    assertThat(all).hasSize(65);
    assertThat(all).extracting(Resource::getResourceId).isSorted().doesNotHaveDuplicates();

    long ai = mine.stream().filter(r -> r.getComputeKind() == ComputeKind.COMPUTE_KIND_AI
        && r.getSite().getProvinceCode().equals("44")).count();
    assertThat(list(ListResourcesRequest.newBuilder().setPageSize(1000)
        .setProviderId(PROVIDER.toString()).setComputeKind(ComputeKind.COMPUTE_KIND_AI)
        .addProvinceCodes("44").build()).getResourcesCount()).isEqualTo((int) ai);

    assertThatThrownBy(() -> list(ListResourcesRequest.newBuilder().addProvinceCodes("44")
        .addProvinceCodes("99").setPageSize(-1).build()))
        .satisfies(e -> assertThat(ErrorDetails.fieldViolations(e))
            .extracting(v -> v.getField()).containsExactly("page_size", "province_codes[1]"));
    String first = list(ListResourcesRequest.newBuilder().setPageSize(5).build())
        .getNextPageToken();
    assertThatThrownBy(() -> list(ListResourcesRequest.newBuilder().setPageSize(5)
        .setComputeKind(ComputeKind.COMPUTE_KIND_GENERAL).setPageToken(first).build()))
        .as("GEN-013: a token of another filter")
        .satisfies(e -> assertThat(ErrorDetails.fieldViolations(e).get(0).getField())
            .isEqualTo("page_token"));
    assertThatThrownBy(() -> get(Identifier.of(REGIONAL, IdentifierKind.RESOURCE, 77_777)
        .toString()))
        .satisfies(e -> assertThat(Status.fromThrowable(e).getCode())
            .isEqualTo(Status.Code.NOT_FOUND));
  }

  Resource only() {
    List<Resource> all = list(ListResourcesRequest.getDefaultInstance()).getResourcesList();
    assertThat(all).hasSize(1);
    return all.get(0);
  }

  Resource get(String id) {
    return InventoryServiceGrpc.newBlockingStub(node.channelAs(CpinIdentity.operator(REGIONAL)))
        .getResource(GetResourceRequest.newBuilder().setResourceId(id).build()).getResource();
  }

  ListResourcesResponse list(ListResourcesRequest request) {
    return InventoryServiceGrpc.newBlockingStub(node.channelAs(CpinIdentity.operator(REGIONAL)))
        .listResources(request);
  }

  static Throwable cause(ExecutionException e) {
    return e.getCause() instanceof StatusRuntimeException s ? s : e;
  }
}
