package cn.cpin.node.selection;

import cn.cpin.selection.v1.Candidate;
import cn.cpin.selection.v1.SelectResourcesRequest;
import cn.cpin.selection.v1.SelectResourcesResponse;
import cn.cpin.selection.v1.SelectionServiceGrpc;
import com.google.common.util.concurrent.ListenableFuture;
import io.grpc.Channel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Federated selection (SEL-010): the same demand to every node this node consults, all at once,
 * each under the one deadline; a node that fails or stays silent is reported missing, never an
 * error of the call.
 */
public final class RemoteSelection implements Selector.RemoteNodes {
  private final Supplier<Map<String, Channel>> nodes;

  /** @param nodes the nodes to consult by node code, read at every request */
  public RemoteSelection(Supplier<Map<String, Channel>> nodes) {
    this.nodes = nodes;
  }

  @Override
  public Selector.RemoteAnswers ask(SelectResourcesRequest request, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Map<String, ListenableFuture<SelectResourcesResponse>> calls = new LinkedHashMap<>();
    nodes.get().forEach((code, channel) -> calls.put(code, SelectionServiceGrpc
        .newFutureStub(channel).withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
        .selectResources(request)));
    List<Candidate> candidates = new ArrayList<>();
    List<String> missing = new ArrayList<>();
    long evaluated = 0;
    for (Map.Entry<String, ListenableFuture<SelectResourcesResponse>> call : calls.entrySet()) {
      try {
        SelectResourcesResponse answer = call.getValue().get(
            Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        candidates.addAll(answer.getCandidatesList());
        evaluated += answer.getEvaluatedResourceCount();
      } catch (ExecutionException | TimeoutException e) {
        call.getValue().cancel(true);
        missing.add(call.getKey());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        missing.add(call.getKey());
      }
    }
    return new Selector.RemoteAnswers(candidates, missing, evaluated);
  }
}
