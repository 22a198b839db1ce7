package cn.cpin.conformance;

import cn.cpin.aggregation.v1.AckStatus;
import cn.cpin.aggregation.v1.AggregateHeartbeat;
import cn.cpin.aggregation.v1.AggregateSnapshot;
import cn.cpin.aggregation.v1.Capacity;
import cn.cpin.aggregation.v1.GetResourceRequest;
import cn.cpin.aggregation.v1.InventoryDelta;
import cn.cpin.aggregation.v1.InventoryHeartbeat;
import cn.cpin.aggregation.v1.InventoryServiceGrpc;
import cn.cpin.aggregation.v1.InventorySnapshot;
import cn.cpin.aggregation.v1.ListResourcesRequest;
import cn.cpin.aggregation.v1.NodeAggregationServiceGrpc;
import cn.cpin.aggregation.v1.Provenance;
import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.aggregation.v1.PublishInventoryRequest;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.ReportAggregateRequest;
import cn.cpin.aggregation.v1.ReportAggregateResponse;
import cn.cpin.aggregation.v1.Resource;
import cn.cpin.aggregation.v1.ResourceAssignment;
import cn.cpin.aggregation.v1.ResourceRejection;
import cn.cpin.aggregation.v1.ResourceStatus;
import cn.cpin.common.v1.Throughput;
import cn.cpin.common.v1.ThroughputUnit;
import cn.cpin.protocol.identifier.Identifier;
import cn.cpin.protocol.identifier.IdentifierKind;
import cn.cpin.protocol.identifier.NodeCode;
import cn.cpin.protocol.pki.CpinIdentity;
import cn.cpin.provider.ResourceMix;
import cn.cpin.servicecenter.v1.ParticipantServiceGrpc;
import cn.cpin.servicecenter.v1.ParticipationKind;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * System B seen from outside (AGG): the provider interface (PublishInventory) as providers the
 * suite registers and approves at the node's service center, the inventory queries, and at a
 * regional node the industry report (ReportAggregate) as industry nodes minted by the suite's CA.
 * Every provider the suite registers stays in the node's records: test deployments only.
 */
public abstract class AbstractAggregationSuite extends ConformanceSuite {
  private static final SecureRandom RANDOM = new SecureRandom();

  // ---------------------------------------------------------------- provider interface

  @Check(requirements = "AGG-001", title = "PublishInventory only from the provider itself: "
      + "a non-provider participant and another provider_id are PERMISSION_DENIED; a sequence "
      + "not starting at 1 or a changed provider_id is INVALID_ARGUMENT")
  void onlyTheProviderItself() {
    setUp();
    String provider = newProvider();
    String user = newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_USER);
    expectError("PublishInventory as a user", Status.Code.PERMISSION_DENIED, "ROLE_NOT_ALLOWED",
        () -> publishAs(user).send(heartbeat(user, 1)));
    String other = newProvider();
    expectError("PublishInventory for another provider_id", Status.Code.PERMISSION_DENIED,
        "NOT_OWNER", () -> publishAs(provider).send(heartbeat(other, 1)));
    expectError("PublishInventory starting at sequence 2", Status.Code.INVALID_ARGUMENT, null,
        () -> publishAs(provider).send(heartbeat(provider, 2)));
    var feed = publishAs(provider);
    feed.send(heartbeat(provider, 1));
    expectError("provider_id changed within the stream", Status.Code.INVALID_ARGUMENT, null,
        () -> feed.send(heartbeat(other, 2)));
  }

  @Check(requirements = {"AGG-002", "AGG-014"}, title = "A chunked snapshot is invisible until "
      + "its last chunk, then exactly the provider's offer; unlisted resources become OFFLINE")
  void snapshotAppliedWhole() {
    setUp();
    String provider = newProvider();
    ResourceMix mix = new ResourceMix(RANDOM.nextLong());
    var feed = publishAs(provider);
    PublishInventoryResponse first = feed.send(snapshot(provider, 1, 1, 0, true,
        mix.resources("old", 2)));
    accepted("snapshot version 1", first, 1);
    PublishInventoryResponse chunk0 = feed.send(snapshot(provider, 2, 2, 0, false,
        mix.resources("new", 2)));
    Assertions.equal("ack of chunk 0", AckStatus.ACK_STATUS_ACCEPTED, chunk0.getStatus());
    Assertions.check(listed(provider).keySet().stream().noneMatch(k -> k.startsWith("new")),
        "resources of an incomplete snapshot are visible");
    accepted("last chunk", feed.send(snapshot(provider, 3, 2, 1, true, mix.resources("more", 1))),
        2);
    Map<String, Resource> now = listed(provider);
    for (String key : List.of("new-0", "new-1", "more-0")) {
      Assertions.equal("status of " + key, ResourceStatus.RESOURCE_STATUS_AVAILABLE,
          now.get(key) == null ? null : now.get(key).getStatus());
    }
    for (String key : List.of("old-0", "old-1")) {
      Assertions.equal("status of " + key + " after a snapshot without it",
          ResourceStatus.RESOURCE_STATUS_OFFLINE, now.get(key) == null ? null
              : now.get(key).getStatus());
    }
    PublishInventoryResponse stray = feed.send(snapshot(provider, 4, 3, 1, true, List.of()));
    Assertions.equal("a chunk 1 without chunk 0", AckStatus.ACK_STATUS_RESYNC_REQUIRED,
        stray.getStatus());
  }

  @Check(requirements = {"AGG-003", "AGG-004"}, title = "A delta applies only on the "
      + "acknowledged base; a replayed version is DUPLICATE; the acknowledged version is "
      + "learnt by a heartbeat on a new stream")
  void deltaVersions() {
    setUp();
    String provider = newProvider();
    ResourceMix mix = new ResourceMix(RANDOM.nextLong());
    Resource r = mix.resource("d");
    var feed = publishAs(provider);
    accepted("snapshot version 5", feed.send(snapshot(provider, 1, 5, 0, true, List.of(r))), 5);
    Resource changed = mix.changeFreeUnits(r);
    PublishInventoryResponse wrongBase = feed.send(delta(provider, 2, 4, 6, List.of(changed)));
    Assertions.equal("delta on base 4", AckStatus.ACK_STATUS_RESYNC_REQUIRED,
        wrongBase.getStatus());
    Assertions.equal("free units after a refused delta", r.getCapacity().getFreeUnits(),
        listed(provider).get("d").getCapacity().getFreeUnits());
    accepted("delta 5 → 6", feed.send(delta(provider, 3, 5, 6, List.of(changed))), 6);
    PublishInventoryResponse replay = feed.send(delta(provider, 4, 5, 6, List.of(r)));
    Assertions.equal("replayed version 6", AckStatus.ACK_STATUS_DUPLICATE, replay.getStatus());
    Assertions.equal("free units after the replay", changed.getCapacity().getFreeUnits(),
        listed(provider).get("d").getCapacity().getFreeUnits());
    PublishInventoryResponse hello = publishAs(provider)
        .send(heartbeat(provider, 1));
    Assertions.equal("acknowledged_version on a new stream", 6L, hello.getAcknowledgedVersion());
  }

  @Check(requirements = {"AGG-005", "AGG-008", "AGG-007"}, title = "Resources get kind-R "
      + "identifiers under the node's code, stable per local_key; the node sets provenance; acks "
      + "state the heartbeat interval")
  void identifiersAndProvenance() {
    setUp();
    String provider = newProvider();
    ResourceMix mix = new ResourceMix(RANDOM.nextLong());
    Resource sent = mix.resource("p").toBuilder().setProvenance(Provenance.newBuilder()
        .setOriginNodeCode("86.11").addViaNodeCodes("86.12")).build();
    var feed = publishAs(provider);
    PublishInventoryResponse ack = feed.send(snapshot(provider, 1, 1, 0, true, List.of(sent)));
    accepted("snapshot", ack, 1);
    Assertions.check(ack.getHeartbeatInterval().getSeconds() > 0
        || ack.getHeartbeatInterval().getNanos() > 0, "ack without heartbeat_interval");
    Assertions.equal("assignments", 1, ack.getAssignmentsCount());
    Identifier id = Identifier.parse(ack.getAssignments(0).getResourceId());
    Assertions.equal("kind of the assigned identifier", IdentifierKind.RESOURCE, id.kind());
    Assertions.equal("issuing node of the assigned identifier", target().nodeCode(),
        id.nodeCode());
    Resource stored = InventoryServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .getResource(GetResourceRequest.newBuilder().setResourceId(id.toString()).build())
        .getResource();
    Assertions.equal("provenance.origin_node_code", target().nodeCode().toString(),
        stored.getProvenance().getOriginNodeCode());
    Assertions.equal("provenance.provider_id", provider, stored.getProvenance().getProviderId());
    Assertions.equal("provenance.via_node_codes", List.of(),
        stored.getProvenance().getViaNodeCodesList());
    PublishInventoryResponse again = feed.send(snapshot(provider, 2, 2, 0, true,
        List.of(mix.changeFreeUnits(sent))));
    Assertions.equal("identifier of the same local_key in a later snapshot", id.toString(),
        again.getAssignmentsList().stream().map(ResourceAssignment::getResourceId)
            .findFirst().orElse(null));
  }

  @Check(requirements = "AGG-006", title = "Bad resources are refused one by one with the field "
      + "named; the rest of the message is applied")
  void badResourcesRefusedOneByOne() {
    setUp();
    String provider = newProvider();
    ResourceMix mix = new ResourceMix(RANDOM.nextLong());
    Resource good = mix.resource("good");
    List<Resource> bad = List.of(
        mix.resource("").toBuilder().build(),
        mix.resource("overfull").toBuilder()
            .setCapacity(Capacity.newBuilder().setTotalUnits(2).setFreeUnits(3)).build(),
        mix.resource("no-unit").toBuilder().setFp16Peak(Throughput.newBuilder().setValue(5))
            .build(),
        mix.resource("int8-flops").toBuilder().setInt8Peak(Throughput.newBuilder().setValue(5)
            .setUnit(ThroughputUnit.THROUGHPUT_UNIT_TFLOPS)).build(),
        mix.resource("province").toBuilder().setSite(good.getSite().toBuilder()
            .setProvinceCode("99")).build(),
        mix.resource("stolen").toBuilder().setResourceId(Identifier.of(target().nodeCode(),
            IdentifierKind.RESOURCE, 1 + RANDOM.nextInt(1_000_000)).toString()).build());
    List<Resource> all = new java.util.ArrayList<>(bad);
    all.add(good);
    PublishInventoryResponse ack = publishAs(provider)
        .send(snapshot(provider, 1, 1, 0, true, all));
    accepted("snapshot with six bad resources", ack, 1);
    Assertions.equal("refused local keys", List.of("", "overfull", "no-unit", "int8-flops",
        "province", "stolen"), ack.getRejectionsList().stream()
            .map(ResourceRejection::getLocalKey).collect(Collectors.toList()));
    Assertions.equal("reason for the resource_id not issued to the provider", "NOT_OWNER",
        ack.getRejections(5).getReason());
    for (ResourceRejection r : ack.getRejectionsList()) {
      Assertions.check(!r.getReason().isEmpty() && !r.getMessage().isEmpty(),
          "rejection without reason or message: " + r);
    }
    Assertions.equal("resources applied", List.of("good"),
        List.copyOf(listed(provider).keySet()));
  }

  // ---------------------------------------------------------------- inventory queries

  @Check(requirements = "AGG-013", title = "GetResource of an unknown identifier is NOT_FOUND; "
      + "ListResources orders by resource_id, filters by provider and rejects a province code "
      + "that is not GB/T 2260")
  void inventoryQueries() {
    setUp();
    expectError("GetResource of an identifier never issued", Status.Code.NOT_FOUND, "NOT_FOUND",
        () -> InventoryServiceGrpc.newBlockingStub(asOperator())
            .withDeadlineAfter(deadlineMillis(), MILLIS)
            .getResource(GetResourceRequest.newBuilder().setResourceId(Identifier.of(
                target().nodeCode(), IdentifierKind.RESOURCE, Identifier.MAX_SERIAL).toString())
                .build()));
    StatusRuntimeException e = expectError("ListResources with province 99",
        Status.Code.INVALID_ARGUMENT, null, () -> InventoryServiceGrpc.newBlockingStub(asOperator())
            .withDeadlineAfter(deadlineMillis(), MILLIS)
            .listResources(ListResourcesRequest.newBuilder().addProvinceCodes("44")
                .addProvinceCodes("99").build()));
    Assertions.check(violations(e).stream().anyMatch(v -> v.getField()
        .equals("province_codes[1]")), "no FieldViolation names province_codes[1]: "
        + describe(e));
    String provider = newProvider();
    accepted("snapshot", publishAs(provider).send(snapshot(provider, 1, 1, 0, true,
        new ResourceMix(RANDOM.nextLong()).resources("q", 5))), 1);
    List<String> ids = InventoryServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .listResources(ListResourcesRequest.newBuilder().setProviderId(provider).build())
        .getResourcesList().stream().map(Resource::getResourceId).collect(Collectors.toList());
    Assertions.equal("resources of the provider", 5, ids.size());
    Assertions.equal("order by resource_id", ids.stream().sorted().collect(Collectors.toList()),
        ids);
  }

  // ---------------------------------------------------------------- industry → regional

  @Check(requirements = "AGG-010", title = "ReportAggregate is accepted only from an industry "
      + "node of the region under its own code, refuses resources of another origin and records "
      + "the regional node in via_node_codes")
  void industryReports() {
    requireService(NodeAggregationServiceGrpc.SERVICE_NAME);
    setUp();
    NodeCode self = target().nodeCode();
    NodeCode industry = NodeCode.industry(self.toString().substring(3),
        (char) ('A' + RANDOM.nextInt(20)));
    expectError("ReportAggregate from a node of another region", Status.Code.PERMISSION_DENIED,
        null, () -> new Feed<>(report(target().channelAs(CpinIdentity.node(
            Callers.otherNode(self))))).send(nodeHeartbeat(Callers.otherNode(self), 1)));
    expectError("ReportAggregate under another node's code", Status.Code.PERMISSION_DENIED,
        "NOT_OWNER", () -> new Feed<>(report(target().channelAs(CpinIdentity.node(industry))))
            .send(nodeHeartbeat(Callers.otherNode(self), 1)));
    Feed<ReportAggregateRequest, ReportAggregateResponse> feed =
        new Feed<>(report(target().channelAs(CpinIdentity.node(industry))));
    long base = feed.send(nodeHeartbeat(industry, 1)).getAcknowledgedVersion();
    ResourceMix mix = new ResourceMix(RANDOM.nextLong());
    String provider = Identifier.of(industry, IdentifierKind.PARTICIPANT, 1).toString();
    Resource own = reported(mix.resource("own"), Identifier.of(industry, IdentifierKind.RESOURCE,
        1 + RANDOM.nextInt(1_000_000)), industry.toString(), provider);
    Resource foreign = reported(mix.resource("foreign"), Identifier.of(industry,
        IdentifierKind.RESOURCE, 1_000_001 + RANDOM.nextInt(1_000_000)),
        Callers.otherNode(self).toString(), provider);
    ReportAggregateResponse ack = feed.send(ReportAggregateRequest.newBuilder()
        .setSourceNodeCode(industry.toString()).setSequenceNumber(2)
        .setSnapshot(AggregateSnapshot.newBuilder().setVersion(base + 1).setLastChunk(true)
            .addResources(own).addResources(foreign)).build());
    Assertions.equal("ack status", AckStatus.ACK_STATUS_ACCEPTED, ack.getStatus());
    Assertions.equal("refused", List.of(foreign.getResourceId()), ack.getRejectionsList().stream()
        .map(ResourceRejection::getResourceId).collect(Collectors.toList()));
    Assertions.equal("reason", "NOT_OWNER", ack.getRejections(0).getReason());
    Resource stored = InventoryServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .getResource(GetResourceRequest.newBuilder().setResourceId(own.getResourceId()).build())
        .getResource();
    Assertions.equal("via_node_codes", List.of(self.toString()),
        stored.getProvenance().getViaNodeCodesList());
    Assertions.equal("origin_node_code", industry.toString(),
        stored.getProvenance().getOriginNodeCode());
  }

  // ---------------------------------------------------------------- helpers

  private void setUp() {
    requireService(ProviderInventoryServiceGrpc.SERVICE_NAME);
    requireService(ParticipantServiceGrpc.SERVICE_NAME);
    if (!target().isMutualTls()) {
      throw new CheckSkipped("the target runs in plaintext development mode; the check needs "
          + "operator and provider identities");
    }
  }

  private String newProvider() {
    return newApprovedParticipant(ParticipationKind.PARTICIPATION_KIND_AI_COMPUTE_PROVIDER);
  }

  /** A publication stream to the node under test as {@code provider}. */
  private Feed<PublishInventoryRequest, PublishInventoryResponse> publishAs(String provider) {
    return new Feed<>(publish(asParticipant(provider)));
  }

  private Map<String, Resource> listed(String provider) {
    return InventoryServiceGrpc.newBlockingStub(asOperator())
        .withDeadlineAfter(deadlineMillis(), MILLIS)
        .listResources(ListResourcesRequest.newBuilder().setProviderId(provider)
            .setPageSize(1000).build())
        .getResourcesList().stream().collect(Collectors.toMap(Resource::getLocalKey, r -> r,
            (a, b) -> a, java.util.TreeMap::new));
  }

  private static void accepted(String what, PublishInventoryResponse ack, long version) {
    Assertions.equal(what + ": status", AckStatus.ACK_STATUS_ACCEPTED, ack.getStatus());
    Assertions.equal(what + ": acknowledged_version", version, ack.getAcknowledgedVersion());
  }

  private static Resource reported(Resource r, Identifier id, String origin, String provider) {
    return r.toBuilder().setResourceId(id.toString()).setProviderId(provider)
        .setProvenance(Provenance.newBuilder().setOriginNodeCode(origin).setProviderId(provider))
        .build();
  }

  private static PublishInventoryRequest heartbeat(String provider, long sequence) {
    return PublishInventoryRequest.newBuilder().setProviderId(provider)
        .setSequenceNumber(sequence).setHeartbeat(InventoryHeartbeat.getDefaultInstance())
        .build();
  }

  private static PublishInventoryRequest snapshot(String provider, long sequence, long version,
      int chunk, boolean last, List<Resource> resources) {
    return PublishInventoryRequest.newBuilder().setProviderId(provider)
        .setSequenceNumber(sequence).setSnapshot(InventorySnapshot.newBuilder()
            .setVersion(version).setChunkIndex(chunk).setLastChunk(last)
            .addAllResources(resources)).build();
  }

  private static PublishInventoryRequest delta(String provider, long sequence, long base,
      long version, List<Resource> upserts) {
    return PublishInventoryRequest.newBuilder().setProviderId(provider)
        .setSequenceNumber(sequence).setDelta(InventoryDelta.newBuilder().setBaseVersion(base)
            .setVersion(version).addAllUpserts(upserts)).build();
  }

  private static ReportAggregateRequest nodeHeartbeat(NodeCode source, long sequence) {
    return ReportAggregateRequest.newBuilder().setSourceNodeCode(source.toString())
        .setSequenceNumber(sequence).setHeartbeat(AggregateHeartbeat.getDefaultInstance())
        .build();
  }

  private Function<StreamObserver<PublishInventoryResponse>, StreamObserver<PublishInventoryRequest>>
      publish(Channel channel) {
    return acks -> ProviderInventoryServiceGrpc.newStub(channel)
        .withDeadlineAfter(deadlineMillis() * 4, MILLIS).publishInventory(acks);
  }

  private Function<StreamObserver<ReportAggregateResponse>, StreamObserver<ReportAggregateRequest>>
      report(Channel channel) {
    return acks -> NodeAggregationServiceGrpc.newStub(channel)
        .withDeadlineAfter(deadlineMillis() * 4, MILLIS).reportAggregate(acks);
  }

  /** One bidirectional stream: each request waits for its acknowledgement or the stream's end. */
  private final class Feed<Q, A> {
    private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private final StreamObserver<Q> requests;

    Feed(Function<StreamObserver<A>, StreamObserver<Q>> open) {
      requests = open.apply(new StreamObserver<A>() {
        @Override
        public void onNext(A value) {
          answers.add(value);
        }

        @Override
        public void onError(Throwable t) {
          answers.add(t);
        }

        @Override
        public void onCompleted() {
          answers.add(Status.UNAVAILABLE.withDescription("stream completed").asRuntimeException());
        }
      });
    }

    @SuppressWarnings("unchecked")
    A send(Q request) {
      requests.onNext(request);
      Object answer;
      try {
        answer = answers.poll(deadlineMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted");
      }
      if (answer == null) {
        throw new AssertionError("no acknowledgement within " + deadlineMillis() + " ms");
      }
      if (answer instanceof Throwable t) {
        throw t instanceof StatusRuntimeException s ? s : Status.fromThrowable(t)
            .asRuntimeException();
      }
      return (A) answer;
    }
  }
}
