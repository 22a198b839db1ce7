package cn.cpin.node.aggregation;

import cn.cpin.aggregation.v1.InventoryDelta;
import cn.cpin.aggregation.v1.InventoryHeartbeat;
import cn.cpin.aggregation.v1.InventorySnapshot;
import cn.cpin.aggregation.v1.ProviderInventoryServiceGrpc;
import cn.cpin.aggregation.v1.PublishInventoryRequest;
import cn.cpin.aggregation.v1.PublishInventoryResponse;
import cn.cpin.aggregation.v1.Resource;
import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Sends hand-made messages with chosen versions on one stream, waiting for each answer. */
final class RawPublisher {
  private final BlockingQueue<Object> answers = new LinkedBlockingQueue<>();
  private final StreamObserver<PublishInventoryRequest> requests;
  String providerId;
  private long sequence;

  RawPublisher(Channel channel, String providerId) {
    this.providerId = providerId;
    requests = ProviderInventoryServiceGrpc.newStub(channel).publishInventory(
        new StreamObserver<>() {
          @Override
          public void onNext(PublishInventoryResponse value) {
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

  void skipSequence() {
    sequence++;
  }

  PublishInventoryResponse heartbeat(long version) throws Exception {
    return send(PublishInventoryRequest.newBuilder()
        .setHeartbeat(InventoryHeartbeat.newBuilder().setVersion(version)));
  }

  PublishInventoryResponse snapshotChunk(long version, int chunk, boolean last,
      List<Resource> resources) throws Exception {
    return send(PublishInventoryRequest.newBuilder().setSnapshot(InventorySnapshot.newBuilder()
        .setVersion(version).setChunkIndex(chunk).setLastChunk(last).addAllResources(resources)));
  }

  PublishInventoryResponse delta(long base, long version, List<Resource> upserts)
      throws Exception {
    return send(PublishInventoryRequest.newBuilder().setDelta(InventoryDelta.newBuilder()
        .setBaseVersion(base).setVersion(version).addAllUpserts(upserts)));
  }

  PublishInventoryResponse removeDelta(long base, long version, List<String> localKeys)
      throws Exception {
    return send(PublishInventoryRequest.newBuilder().setDelta(InventoryDelta.newBuilder()
        .setBaseVersion(base).setVersion(version).addAllRemovedLocalKeys(localKeys)));
  }

  private PublishInventoryResponse send(PublishInventoryRequest.Builder request)
      throws Exception {
    requests.onNext(request.setProviderId(providerId).setSequenceNumber(++sequence).build());
    Object answer = answers.poll(10, TimeUnit.SECONDS);
    if (answer instanceof StatusRuntimeException e) {
      throw e;
    }
    if (answer instanceof Throwable t) {
      throw new AssertionError(t);
    }
    if (answer == null) {
      throw new AssertionError("no answer within 10 s");
    }
    return (PublishInventoryResponse) answer;
  }
}
