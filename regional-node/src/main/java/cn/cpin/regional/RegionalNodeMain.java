package cn.cpin.regional;

import cn.cpin.node.NodeOptions;
import cn.cpin.node.NodeRuntime;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** A CPIN regional node: all six systems for one province. */
@Command(name = "cpin-regional-node", mixinStandardHelpOptions = true, versionProvider = NodeRuntime.Version.class,
    subcommands = cn.cpin.node.servicecenter.ParticipantsCommand.class,
    description = "A CPIN regional node: all six systems for one province.")
public final class RegionalNodeMain implements Callable<Integer> {
  @Mixin
  private NodeOptions options;

  @Override
  public Integer call() {
    return NodeRuntime.run(options, new RegionalNode());
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new RegionalNodeMain()).execute(args));
  }
}
