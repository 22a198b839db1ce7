package cn.cpin.industry;

import cn.cpin.node.ChildNode;
import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import cn.cpin.protocol.profile.NodeProfile;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** A CPIN industry node: service center, aggregation, selection and security for one industry, connected into its regional node. */
@Command(name = "cpin-industry-node", mixinStandardHelpOptions = true, versionProvider = NodeRuntime.Version.class,
    subcommands = cn.cpin.node.servicecenter.ParticipantsCommand.class,
    description = "A CPIN industry node: service center, aggregation, selection and security for one industry, connected into its regional node.")
public final class IndustryNodeMain implements Callable<Integer> {
  @Mixin
  private NodeOptions options;

  @Override
  public Integer call() {
    return NodeRuntime.run(options, new ChildNode(NodeProfile.INDUSTRY, "cpin-industry-node"));
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new IndustryNodeMain()).execute(args));
  }
}
