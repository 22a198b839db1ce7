package cn.cpin.conformance;

import cn.cpin.protocol.profile.NodeProfile;
import io.grpc.ManagedChannel;
import java.time.Duration;

/**
 * The node under test: where it is, which profile it claims, and a channel to it.
 *
 * @param endpoint {@code host:port} as given on the command line
 * @param profile the profile the node is checked against
 * @param channel an open channel to the node; owned by whoever created the target
 * @param deadline deadline for each call the suite makes
 */
public record ConformanceTarget(
    String endpoint, NodeProfile profile, ManagedChannel channel, Duration deadline) {}
